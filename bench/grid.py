"""The section mastery grid and the fast-evidence round trip, timed on the server.

Builds its own section in a scratch database (default `plplatform_grid_bench` on the server of $DATABASE_URL;
only a database whose name contains `bench` is created, migrated or rebuilt): 35 students × 200 grade-5
competencies in 10 strands, a stored mastery state for every pair (a mix of statuses, some overridden), 12
evidence rows per student and a learning path per student. Then, through Django's test client (the whole
request: middleware, session, access checks, queries, template), it times

- GET of the grid page (all strands: 35 × 200 cells), `--requests` times after a warm-up;
- the ratings round trip: an htmx POST of 35 ratings on one competency (evidence, mastery recompute of the
  35 pairs, path states, the re-rendered grid fragment), `--posts` times;

and prints p50/p95 and the SQL statements per request (the same for every request: the count is fixed).

    .venv/bin/python bench/grid.py [--database-url URL] [--requests 200] [--posts 30] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "plplatform_grid_bench"
STUDENTS, COMPETENCIES, STRANDS = 35, 200, 10
TARGET_MS = 100.0


def database_url(explicit: str | None) -> str:
    if explicit:
        url = explicit
    else:
        base = os.environ.get("DATABASE_URL")
        if not base:
            raise SystemExit("Set DATABASE_URL (the server to use) or pass --database-url.")
        url = urlunsplit(urlsplit(base)._replace(path=f"/{DATABASE}"))
    return url


def ensure_database(url: str, *, rebuild: bool) -> None:
    import psycopg
    from psycopg import conninfo, sql

    name = str(conninfo.conninfo_to_dict(url).get("dbname") or "")
    if "bench" not in name:
        raise SystemExit(f"Refusing to use {name!r}: only databases whose name contains 'bench'.")
    admin = conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if rebuild:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="plplatform.settings.dev")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(seed: int = 7) -> None:
    """The section, unless it is there already."""
    import datetime

    from django.db import transaction

    from mastery.models import Competency, Evidence, Framework, MasteryPolicy, MasteryState
    from pathways.services import path_generate
    from profiles.models import District, Enrollment, LearnerProfile, Role, RoleMembership, School, Section, Term, User

    if Section.objects.filter(code="GRID-BENCH").exists():
        return
    rng = random.Random(seed)
    utc = datetime.UTC
    with transaction.atomic():
        district = District.objects.create(name="Grid bench district", code="grid-bench")
        school = School.objects.create(district=district, name="Grid bench school", code="grid-bench")
        term = Term.objects.create(
            school=school, name="2026-27", start_date=datetime.date(2026, 8, 24), end_date=datetime.date(2027, 6, 11)
        )
        teacher = User.objects.create_user(username="grid-teacher", first_name="Grid", last_name="Teacher")
        RoleMembership.objects.create(user=teacher, role=Role.TEACHER, school=school)
        section = Section.objects.create(
            school=school, term=term, code="GRID-BENCH", name="Math 5 bench", subject="Mathematics", grade_level=5
        )
        Enrollment.objects.create(section=section, user=teacher, role=Enrollment.Role.TEACHER)
        framework = Framework.objects.create(name="Bench mathematics", subject="Mathematics", grade_low=5, grade_high=5)
        MasteryPolicy.objects.create(framework=framework, version=1, method="bkt", parameters={})
        strands = [
            Competency.objects.create(
                framework=framework,
                code=f"5.S{s}",
                statement=f"Strand {s}",
                grade_level=5,
                sort_order=s * 100,
                assessable=False,
            )
            for s in range(STRANDS)
        ]
        competencies = Competency.objects.bulk_create(
            Competency(
                framework=framework,
                code=f"5.S{i % STRANDS}.{i // STRANDS + 1}",
                statement=f"Competency {i} of the bench framework, written out as a statement",
                grade_level=5,
                sort_order=(i % STRANDS) * 100 + i // STRANDS + 1,
                parent=strands[i % STRANDS],
            )
            for i in range(COMPETENCIES)
        )
        students = []
        for n in range(STUDENTS):
            student = User.objects.create_user(
                username=f"grid-student-{n:02}", first_name=f"Student{n:02}", last_name=f"Bench{n:02}"
            )
            RoleMembership.objects.create(user=student, role=Role.STUDENT, school=school)
            LearnerProfile.objects.create(user=student, school=school, grade_level=5)
            Enrollment.objects.create(section=section, user=student, role=Enrollment.Role.STUDENT)
            students.append(student)
        statuses = ["not_started", "in_progress", "mastered", "needs_review"]
        MasteryState.objects.bulk_create(
            MasteryState(
                student=student,
                competency=competency,
                status=(status := rng.choice(statuses)),
                estimate=rng.random(),
                evidence_count=3,
                override_status="mastered" if rng.random() < 0.02 else None,
                override_note="Bench override",
                override_by=teacher,
                override_at=datetime.datetime(2026, 10, 1, tzinfo=utc),
                first_mastered_at=datetime.datetime(2026, 10, 1, tzinfo=utc) if status == "mastered" else None,
            )
            for student in students
            for competency in competencies
        )
        Evidence.objects.bulk_create(
            Evidence(
                student=student,
                competency=rng.choice(competencies),
                kind="score",
                score=rng.random(),
                observed_at=datetime.datetime(2026, 10, 1, tzinfo=utc) + datetime.timedelta(hours=k),
                source="bench",
            )
            for student in students
            for k in range(12)
        )
    for student in students:
        path_generate(student_id=student.pk, on=datetime.date(2026, 11, 2))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(requests: int, posts: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from mastery.models import Competency
    from profiles.models import Section, User

    section = Section.objects.get(code="GRID-BENCH")
    teacher = User.objects.get(username="grid-teacher")
    client = Client()
    client.force_login(teacher)
    url = reverse("mastery-grid", args=[section.pk])
    student_ids = list(section.enrollments.filter(role="student").values_list("user_id", flat=True))

    for _ in range(10):  # warm-up: templates compiled, connections open, caches filled
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    page = response.content.decode()
    cells = page.count('class="mastery-cell ')
    grid_queries = len(captured)
    grid_ms, grid_cpu_ms = [], []
    for _ in range(requests):
        start, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        grid_ms.append((time.perf_counter() - start) * 1000)
        grid_cpu_ms.append((time.process_time() - cpu) * 1000)  # this process only: less sensitive to other load
        assert response.status_code == 200

    competencies = list(Competency.objects.filter(code__regex=r"^5\.S\d\.\d+$").values_list("pk", flat=True))
    post_url = reverse("section-ratings", args=[section.pk])
    rng = random.Random(11)
    post_ms: list[float] = []
    post_queries: set[int] = set()
    for n in range(posts + 3):
        data = {"competency": str(rng.choice(competencies)), "batch": f"bench-{time.time_ns()}-{n}", "note": ""}
        data.update({f"rating-{pk}": str(rng.randint(1, 4)) for pk in student_ids})
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.post(post_url, data, headers={"HX-Request": "true"})
            elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, response.content[:500]
        if n >= 3:  # the first few warm up
            post_ms.append(elapsed)
            post_queries.add(len(captured))
    return {
        "students": len(student_ids),
        "competencies_shown": cells // max(len(student_ids), 1),
        "cells": cells,
        "grid_requests": requests,
        "grid_p50_ms": round(statistics.median(grid_ms), 1),
        "grid_p95_ms": round(percentile(grid_ms, 0.95), 1),
        "grid_cpu_p50_ms": round(statistics.median(grid_cpu_ms), 1),
        "grid_cpu_p95_ms": round(percentile(grid_cpu_ms, 0.95), 1),
        "grid_queries": grid_queries,
        "grid_bytes": len(page),
        "rating_posts": posts,
        "rating_p50_ms": round(statistics.median(post_ms), 1),
        "rating_p95_ms": round(percentile(post_ms, 0.95), 1),
        "rating_queries": sorted(post_queries),
        "load": f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--posts", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true", help="drop and build the scratch database again")
    args = parser.parse_args()
    url = database_url(args.database_url)
    ensure_database(url, rebuild=args.rebuild)
    setup_django(url)
    started = time.perf_counter()
    build()
    print(f"section ready in {time.perf_counter() - started:.1f} s", flush=True)
    from django.conf import settings
    from django.test.utils import override_settings

    # With DEBUG off the pages ask for the hashed static file names of `collectstatic`; plain names will do here.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        result = measure(args.requests, args.posts)
    print(
        f"grid ({result['students']} students × {result['competencies_shown']} competencies): "
        f"p50 {result['grid_p50_ms']} ms, p95 {result['grid_p95_ms']} ms "
        f"(Python CPU p95 {result['grid_cpu_p95_ms']} ms), "
        f"{result['grid_queries']} queries; "
        f"ratings round trip ({result['students']} ratings): p50 {result['rating_p50_ms']} ms, "
        f"p95 {result['rating_p95_ms']} ms, {result['rating_queries']} queries; load {result['load']}"
    )
    result["meets_target"] = result["grid_p95_ms"] <= TARGET_MS
    print(json.dumps(result))


if __name__ == "__main__":
    main()
