"""python manage.py import_oneroster PATH --district CODE --source NAME [--dry-run] [--confirm-deactivations]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from profiles.imports.oneroster import import_oneroster
from profiles.models import District


class Command(BaseCommand):
    help = "Import a OneRoster 1.1 or 1.2 CSV set (a zip or a folder) into a district."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="a OneRoster CSV zip or folder")
        parser.add_argument("--district", required=True, help="code of the district to import into")
        parser.add_argument("--source", required=True, help="name of the sending system (links rows across imports)")
        parser.add_argument("--dry-run", action="store_true", help="print the preview; apply nothing")
        parser.add_argument(
            "--confirm-deactivations",
            action="store_true",
            help="apply even when a bulk file deactivates more than 20%% of active rows",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        try:
            district = District.objects.get(code=options["district"])
        except District.DoesNotExist:
            raise CommandError(f"no district with code {options['district']}") from None
        report = import_oneroster(
            path,
            district=district,
            system=options["source"],
            dry_run=options["dry_run"],
            confirm_deactivations=options["confirm_deactivations"],
        )
        self.stdout.write(report.as_text())
        if not report.ok:
            raise CommandError(f"{len(report.errors)} errors; nothing applied")
