"""python manage.py run_nightly [--date YYYY-MM-DD] [--school ID] [--full] [--nights N]

The same pipeline as the Celery beat schedule (monitoring/pipeline.py). Without REDIS_URL it runs
in-process; with it, the workers do the work and this command waits for them. A date runs once:
running it again resumes what was left undone and otherwise writes nothing. The last output line
is one JSON object with what this run wrote per stage.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Collection
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from monitoring import pipeline
from profiles.models import Holiday, School


def school_nights(last: datetime.date, count: int, holidays: Collection[datetime.date] = ()) -> list[datetime.date]:
    """The `count` most recent school days up to `last` (weekdays that are not holidays), oldest first.
    Alerts open on the second of two consecutive school-day nights, so a holiday must be stepped over,
    not counted (a night on a holiday is evaluated as of the school day before it)."""
    nights: list[datetime.date] = []
    day = last
    while len(nights) < count:
        if day.weekday() < 5 and day not in holidays:
            nights.append(day)
        day -= datetime.timedelta(days=1)
    return nights[::-1]


def recent_holidays(last: datetime.date) -> set[datetime.date]:
    """Holidays of any school's terms in the year up to `last` (the demo's schools share theirs)."""
    return set(
        Holiday.objects.filter(date__lte=last, date__gt=last - datetime.timedelta(days=365)).values_list(
            "date", flat=True
        )
    )


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--date must be a date like 2026-11-20, got {value!r}") from exc


class Command(BaseCommand):
    help = "Run (or resume) the nightly pipeline for one date; prints one JSON line with the rows written."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="The night to run, YYYY-MM-DD (default: today in TIME_ZONE).")
        parser.add_argument("--school", type=int, help="Only this school id (default: every school).")
        parser.add_argument(
            "--full", action="store_true", help="Recompute every pair, not only those with new evidence."
        )
        parser.add_argument(
            "--nights",
            type=int,
            default=1,
            help="Run the last N school-day nights up to --date, oldest first (alerts open on the second "
            "consecutive night; `make run` uses 2 so the demo has them). Default 1.",
        )
        parser.add_argument(
            "--wait",
            type=int,
            default=3600,
            help="With a broker: seconds to wait for the workers to finish (default 3600).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        run_date = _date(options["date"]) if options["date"] else timezone.localdate()
        school_ids = None
        if options["school"] is not None:
            if not School.objects.filter(pk=options["school"]).exists():
                raise CommandError(f"No school has id {options['school']}.")
            school_ids = [options["school"]]
        if options["nights"] < 1:
            raise CommandError(f"--nights must be 1 or more, got {options['nights']}.")
        # One JSON line per night; the last line is the night of --date (or the weekday before it).
        nights = (
            school_nights(run_date, options["nights"], recent_holidays(run_date))
            if options["nights"] > 1
            else [run_date]
        )
        for night in nights:
            report = pipeline.night_run(
                run_date=night, school_ids=school_ids, full=options["full"], wait_seconds=options["wait"]
            )
            self.stdout.write(json.dumps(report))
            if report["status"] != "succeeded":
                raise CommandError(f"The night of {report['date']} is {report['status']}; see the JobRun rows.")
