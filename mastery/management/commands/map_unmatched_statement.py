"""`python manage.py map_unmatched_statement ID [--student USER_ID] [--competency COMPETENCY_ID]`

Maps what an unmatched xAPI statement or Caliper event names (its person to a student, its activity to a
competency: SourceIdentity rows of the tool's source), then replays every open unmatched statement of that
tool. Prints how many were resolved and how many still wait.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mastery.interop.unmatched import unmatched_map
from mastery.models import Competency, UnmatchedStatement
from profiles.models import User


class Command(BaseCommand):
    help = "Map an unmatched statement's person and/or activity, and replay the tool's unmatched statements."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("unmatched_id", type=int)
        parser.add_argument("--student", type=int, help="User id of the student the statement's person is")
        parser.add_argument("--competency", type=int, help="Id of the competency the statement's activity is")

    def handle(self, *args: Any, **options: Any) -> None:
        unmatched = UnmatchedStatement.objects.select_related("tool").filter(pk=options["unmatched_id"]).first()
        if unmatched is None:
            raise CommandError(f"No unmatched statement {options['unmatched_id']}.")
        student = competency = None
        if options["student"] is not None:
            student = User.objects.filter(pk=options["student"], learner_profile__isnull=False).first()
            if student is None:
                raise CommandError(f"No student with id {options['student']}.")
        if options["competency"] is not None:
            competency = Competency.objects.filter(pk=options["competency"]).first()
            if competency is None:
                raise CommandError(f"No competency with id {options['competency']}.")
        if student is None and competency is None:
            raise CommandError("Give --student, --competency or both.")
        try:
            report = unmatched_map(unmatched=unmatched, student=student, competency=competency)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"resolved: {report.resolved}; still unmatched: {report.still_unmatched}")
