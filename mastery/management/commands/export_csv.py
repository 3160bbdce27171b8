"""`python manage.py export_csv {mastery,evidence} (--section ID | --school ID | --district ID) [-o FILE]`"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mastery.exports import district_student_ids, export_csv_lines, school_student_ids, section_student_ids
from profiles.models import District, School, Section

SCOPES = {
    "section": (Section, section_student_ids),
    "school": (School, school_student_ids),
    "district": (District, district_student_ids),
}


class Command(BaseCommand):
    help = "Write the mastery states or the evidence of a section's, a school's or a district's students as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["mastery", "evidence"])
        scope = parser.add_mutually_exclusive_group(required=True)
        for name in SCOPES:
            scope.add_argument(f"--{name}", type=int, metavar="ID", help=f"the {name}'s id")
        parser.add_argument("-o", "--output", help="a file to write (default: standard output)")

    def handle(self, *args: Any, what: str, output: str | None, **options: Any) -> None:
        name, pk = next((name, options[name]) for name in SCOPES if options[name] is not None)
        model, student_ids = SCOPES[name]
        try:
            scope = model._default_manager.get(pk=pk)
        except model.DoesNotExist:  # type: ignore[attr-defined]
            raise CommandError(f"No {name} has id {pk}.") from None
        lines = export_csv_lines(what, student_ids(scope))  # type: ignore[operator]
        if output:
            with open(output, "w", encoding="utf-8", newline="") as file:
                file.writelines(lines)
        else:
            sys.stdout.writelines(lines)
