"""python manage.py export_oneroster --district CODE [--version 1.1|1.2] [--source SYSTEM] -o FILE.zip"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from profiles.exports.oneroster import DEFAULT_SOURCE, VERSIONS, export_oneroster
from profiles.models import District


class Command(BaseCommand):
    help = "Write a district's roster as a OneRoster 1.1 or 1.2 bulk CSV zip."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # --version names the OneRoster version here, in place of Django's own --version (its version number).
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--district", required=True, help="code of the district to export")
        parser.add_argument("--version", choices=VERSIONS, default="1.2", help="OneRoster version (default 1.2)")
        parser.add_argument(
            "--source",
            default=DEFAULT_SOURCE,
            help="the system whose sourcedIds the files carry (the --source of its imports); rows it never "
            f"sent get ids derived from ours (default: {DEFAULT_SOURCE}, our ids only)",
        )
        parser.add_argument("-o", "--output", required=True, type=Path, help="the zip file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            district = District.objects.get(code=options["district"])
        except District.DoesNotExist:
            raise CommandError(f"no district with code {options['district']}") from None
        output = Path(options["output"])
        # Written beside the target and renamed when complete: a failed export leaves no half-written zip.
        partial = output.with_name(output.name + ".partial")
        try:
            with partial.open("wb") as out:
                result = export_oneroster(out, district=district, version=options["version"], source=options["source"])
            partial.replace(output)
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
        finally:
            partial.unlink(missing_ok=True)  # gone already when the export was complete
        self.stdout.write(f"{result.as_text()}\nWrote {output}.")
