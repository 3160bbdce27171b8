"""Export everything stored about one student (a family's request to inspect the record)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.student_record import student_record_build, student_record_csv_lines, student_record_json
from profiles.models import LearnerProfile


class Command(BaseCommand):
    help = "Write one student's complete record as JSON (default) or CSV (table, row id, column, value)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("student_id", type=int, help="The student's user id.")
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("-o", "--output", help="A file to write (default: standard output).")

    def handle(self, *args: Any, student_id: int, format: str, output: str | None, **options: Any) -> None:
        if not LearnerProfile.objects.filter(pk=student_id).exists():
            raise CommandError(f"No student has id {student_id}.")
        record = student_record_build(student_id=student_id)
        text = student_record_json(record) + "\n" if format == "json" else "".join(student_record_csv_lines(record))
        if output:
            with open(output, "w", encoding="utf-8", newline="") as file:
                file.write(text)
            counts = ", ".join(f"{table} {count}" for table, count in record.row_counts().items())
            self.stderr.write(f"Wrote the record of student {student_id} to {output}: {counts}.")
        else:
            sys.stdout.write(text)
