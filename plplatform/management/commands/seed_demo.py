"""`manage.py seed_demo`: fill an empty database with the demo district (see plplatform/demo.py)."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from plplatform import demo
from profiles.models import District, User


class Command(BaseCommand):
    help = (
        "Seed a demo district (schools, grades 3-8, sections, students with profiles and goals, a grades 3-8 "
        "mathematics framework and a term of evidence) and print the demo sign-ins. Development only."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--schools", type=int, default=demo.DEFAULT_SCHOOLS, help=f"1 to {demo.MAX_SCHOOLS} schools."
        )
        parser.add_argument(
            "--students", type=int, default=demo.DEFAULT_STUDENTS, help="Students in total, across all schools."
        )
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="The same seed gives the same data.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Seed only if there is no district yet; otherwise do nothing."
        )
        parser.add_argument("--force", action="store_true", help="Run even though DEBUG is off.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates demo accounts with a published password; it refuses to run with DEBUG off. "
                "Pass --force if this really is a throwaway database."
            )
        schools, students = options["schools"], options["students"]
        _check_sizes(schools=schools, students=students)

        if options["if_empty"] and District.objects.exists():
            self.stdout.write("A district already exists; nothing seeded.")
            self._report()
            return
        _check_fresh_database()

        started = time.monotonic()
        plan = demo.build_demo_plan(
            schools=schools, students=students, seed=options["seed"], time_zone=settings.TIME_ZONE or "UTC"
        )
        demo.seed_demo_plan(plan)
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"Seeded {demo.DEMO_DISTRICT_NAME} in {elapsed:.1f} s."))
        self._report()

    def _report(self) -> None:
        present = demo.demo_sign_ins_present()
        if present:
            self.stdout.write(f"Demo sign-ins (password: {demo.DEMO_PASSWORD}):")
            for username, role in present:
                self.stdout.write(f"  {username:<16} {role}")
        else:
            self.stdout.write("No demo sign-ins in this database.")
        counts = demo.database_counts()
        self.stdout.write("Database now holds: " + ", ".join(f"{name} {value}" for name, value in counts.items()))


def _check_sizes(*, schools: int, students: int) -> None:
    if not 1 <= schools <= demo.MAX_SCHOOLS:
        raise CommandError(f"--schools must be between 1 and {demo.MAX_SCHOOLS}, got {schools}.")
    fewest = demo.MIN_STUDENTS_PER_SCHOOL * schools
    if not fewest <= students <= demo.MAX_STUDENTS:
        raise CommandError(
            f"--students must be between {fewest} ({demo.MIN_STUDENTS_PER_SCHOOL} per school, so every grade "
            f"has students) and {demo.MAX_STUDENTS}, got {students}."
        )


def _check_fresh_database() -> None:
    """Refuse before writing anything, rather than fail half-way on a unique constraint."""
    if District.objects.filter(code=demo.DEMO_DISTRICT_CODE).exists():
        raise CommandError(
            "The demo district already exists. Seed a fresh database (manage.py flush --noinput), "
            "or pass --if-empty to leave existing data alone."
        )
    taken = sorted(User.objects.filter(username__in=demo.DEMO_USERNAMES).values_list("username", flat=True))
    if taken:
        raise CommandError(
            f"Demo usernames already taken: {', '.join(taken)}. Seed a fresh database (manage.py flush --noinput)."
        )
