"""python manage.py check_paths [--rerun YYYY-MM-DD]

Checks every learning path against the rules of issue 4 (pathways.selectors.paths_check): every student
has a path; no step precedes one of its prerequisites; a student with gap-filling steps reaches the first
grade-level step after the fewest gap-filling steps the prerequisite graph allows; every alert's stored
numbers reproduce it. With --rerun, the paths stage of that (already run) night is run again for every
student and the alert table must come out unchanged. Exits non-zero on any problem.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pathways.models import PacingAlert
from pathways.selectors import paths_check
from pathways.services import paths_night
from profiles.models import LearnerProfile


class Command(BaseCommand):
    help = "Check every learning path and alert against the rules; prints one JSON line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rerun", help="Run the paths stage of this night again; alerts must not change.")

    def handle(self, *args: Any, **options: Any) -> None:
        problems: list[str] = []
        if options["rerun"]:
            try:
                night = datetime.date.fromisoformat(options["rerun"])
            except ValueError as exc:
                raise CommandError(f"--rerun must be a date like 2026-11-20, got {options['rerun']!r}") from exc
            before = list(PacingAlert.objects.order_by("pk").values())
            paths_night(student_ids=list(LearnerProfile.objects.values_list("pk", flat=True)), on=night)
            if list(PacingAlert.objects.order_by("pk").values()) != before:
                problems.append(f"Running the night of {night} again changed the alert table.")
        check = paths_check()
        problems += check.problems
        self.stdout.write(
            json.dumps(
                {
                    "students": check.students,
                    "paths": check.paths,
                    "steps": check.steps,
                    "students_with_gap_filling": check.below_grade_students,
                    "alerts": check.alerts,
                    "problems": problems[:50],
                    "problem_count": len(problems),
                }
            )
        )
        if problems:
            raise CommandError(f"{len(problems)} problems; the first: {problems[0]}")
