"""`python manage.py export_case FRAMEWORK_ID [-o FILE]`

Writes the framework as CASE 1.1 JSON (CFPackage) to FILE, or to standard output. UTF-8, characters as
written (an astral character stays one character, not a surrogate pair of escapes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mastery.interop.case import case_export
from mastery.models import Framework


class Command(BaseCommand):
    help = "Export a framework as CASE 1.1 JSON (CFPackage), including prerequisite edges added here."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("framework_id", type=int, help="id of the framework")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        framework = Framework.objects.filter(pk=options["framework_id"]).first()
        if framework is None:
            raise CommandError(f"No framework with id {options['framework_id']}.")
        text = json.dumps(case_export(framework=framework), ensure_ascii=False, indent=2) + "\n"
        if options["output"]:
            try:
                Path(options["output"]).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Cannot write {options['output']}: {exc.strerror}.") from None
            self.stdout.write(f"Wrote framework {framework.pk} to {options['output']}.")
        else:
            self.stdout.write(text, ending="")
