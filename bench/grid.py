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

With --district it measures a section of the generated district instead (bench/generate_district.py, in the
bench database of common.py: `plplatform_bench` unless --database-url says otherwise), which it neither
migrates nor rebuilds. district_section() readies one section for that, idempotently (a rerun changes nothing):
the district's sections have 25 students, so it enrols 10 more of the same school and grade (from other
sections; they stay in theirs too), and it computes the mastery states of the section's students from their
evidence when they have none (the generator stores evidence only). The grid there shows the section's grade:
35 students × the framework's competencies of that grade (about 33 of the 200). No ratings are posted there
unless --posts says so (they would add evidence to the shared district).

    .venv/bin/python bench/grid.py [--database-url URL] [--requests 200] [--posts 30] [--rebuild]
    .venv/bin/python bench/grid.py --district [--section ID] [--database-url URL] [--requests 200]

--gc-freeze calls gc.freeze() after the warm-up, to show what a server freezing its start-up objects would
see (the p95 of a 7,000-cell grid is mostly the cyclic collector's full collections walking them).
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
DISTRICT_GRADE = 5  # the grade of the district's section measured when --section does not say


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


def district_section(section_id: int | None, students: int = STUDENTS):
    """A section of the generated district with `students` active students whose mastery states are stored:
    section_id, else the district's first grade-5 section. Idempotent: students already enrolled count, states
    already stored are kept."""
    from django.db import transaction

    from mastery.models import Evidence, MasteryState
    from mastery.services import mastery_recompute
    from profiles.models import Enrollment, LearnerProfile, Section

    sections = Section.objects.select_related("school")
    if section_id is not None:
        section = sections.get(pk=section_id)
    else:
        section = sections.filter(grade_level=DISTRICT_GRADE).order_by("pk").first()
        if section is None:
            raise SystemExit("The bench database has no district; run bench/generate_district.py first.")
    enrolled = Enrollment.objects.filter(section=section, role=Enrollment.Role.STUDENT, active=True)
    missing = students - enrolled.count()
    if missing > 0:
        # Students of the same school and grade from other sections, lowest ids first (the same ones every time).
        others = (
            LearnerProfile.objects.filter(school_id=section.school_id, grade_level=section.grade_level)
            .exclude(pk__in=enrolled.values("user_id"))
            .order_by("pk")
            .values_list("pk", flat=True)[:missing]
        )
        with transaction.atomic():
            for student_id in others:
                Enrollment.objects.update_or_create(
                    section=section, user_id=student_id, role=Enrollment.Role.STUDENT, defaults={"active": True}
                )
        print(f"enrolled {len(others)} more students of grade {section.grade_level} in section {section.pk}")
    student_ids = list(enrolled.values_list("user_id", flat=True))
    stateless = set(student_ids) - set(
        MasteryState.objects.filter(student_id__in=student_ids).values_list("student_id", flat=True).distinct()
    )
    if stateless:
        pairs = Evidence.objects.filter(student_id__in=stateless).values_list("student_id", "competency_id").distinct()
        written = mastery_recompute(pairs=list(pairs))
        print(f"mastery states of {len(stateless)} students of section {section.pk} computed: {written} rows")
    return section


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def section_teacher(section):
    from profiles.models import Enrollment, User

    return User.objects.filter(
        enrollments__section=section, enrollments__role=Enrollment.Role.TEACHER, enrollments__active=True
    ).first()


def measure(section, requests: int, posts: int, *, freeze_gc: bool = False) -> dict:
    import gc

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from mastery import grid_page
    from profiles import access

    teacher = section_teacher(section)
    client = Client()
    client.force_login(teacher)
    url = reverse("mastery-grid", args=[section.pk])
    student_ids = list(section.enrollments.filter(role="student", active=True).values_list("user_id", flat=True))

    for _ in range(10):  # warm-up: templates compiled, connections open, caches filled
        assert client.get(url).status_code == 200
    if freeze_gc:
        # What a server that calls gc.freeze() once started would see: the cyclic collector's full collections
        # no longer walk the objects of the loaded project (about 130,000 here, 40-70 ms a collection).
        gc.freeze()
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

    grid = grid_page.load_grid(
        section=section, visible_students=access.visible_students(teacher), filters=grid_page.GridFilters()
    )
    competencies = [column.competency.pk for column in grid.columns]
    post_url = reverse("section-ratings", args=[section.pk])
    rng = random.Random(11)
    post_ms: list[float] = []
    post_queries: set[int] = set()
    for n in range(posts + 3 if posts else 0):
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
        "section": section.pk,
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
        "rating_p50_ms": round(statistics.median(post_ms), 1) if post_ms else None,
        "rating_p95_ms": round(percentile(post_ms, 0.95), 1) if post_ms else None,
        "rating_queries": sorted(post_queries),
        "load": f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
    }


def prepare(args: argparse.Namespace):
    """Django set up on the chosen database, and the section to measure."""
    if args.district:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from common import bench_database_url, district_exists, require_bench_name
        from common import setup_django as setup_bench_django

        url = bench_database_url(args.database_url)
        name = require_bench_name(url, "use")
        if not district_exists(url):
            raise SystemExit(f"{name} holds no district; run bench/generate_district.py first.")
        setup_bench_django(url)  # no migrate: the district is shared, its schema is the generator's
        return district_section(args.section)
    url = database_url(args.database_url)
    ensure_database(url, rebuild=args.rebuild)
    setup_django(url)
    build()
    from profiles.models import Section

    return Section.objects.get(code="GRID-BENCH")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--posts", type=int, help="ratings round trips (default 30; 0 with --district)")
    parser.add_argument("--rebuild", action="store_true", help="drop and build the scratch database again")
    parser.add_argument("--district", action="store_true", help="a 35-student section of the generated district")
    parser.add_argument("--section", type=int, help="with --district: the section's id (default: the first grade 5)")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after the warm-up, as a server could")
    args = parser.parse_args()
    posts = args.posts if args.posts is not None else (0 if args.district else 30)
    started = time.perf_counter()
    section = prepare(args)
    print(f"section {section.pk} ready in {time.perf_counter() - started:.1f} s", flush=True)
    from django.conf import settings
    from django.db import connection
    from django.test.utils import override_settings

    # With DEBUG off the pages ask for the hashed static file names of `collectstatic`; plain names will do here.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    load_before = f"{os.getloadavg()[0]:.1f}"
    with override_settings(STORAGES=storages):
        result = measure(section, args.requests, posts, freeze_gc=args.gc_freeze)
    result["database"] = connection.settings_dict["NAME"]
    result["load"] = f"{load_before} before, {result['load']} after"
    result["gc_frozen"] = args.gc_freeze
    ratings = (
        f"ratings round trip ({result['students']} ratings): p50 {result['rating_p50_ms']} ms, "
        f"p95 {result['rating_p95_ms']} ms, {result['rating_queries']} queries"
        if posts
        else "no ratings posted"
    )
    print(
        f"{result['database']}, section {result['section']}: grid ({result['students']} students × "
        f"{result['competencies_shown']} competencies): p50 {result['grid_p50_ms']} ms, p95 {result['grid_p95_ms']} ms "
        f"(Python CPU p50 {result['grid_cpu_p50_ms']} ms, p95 {result['grid_cpu_p95_ms']} ms), "
        f"{result['grid_queries']} queries; {ratings}; load {result['load']}"
    )
    result["meets_target"] = result["grid_p95_ms"] <= TARGET_MS
    print(json.dumps(result))


if __name__ == "__main__":
    main()
