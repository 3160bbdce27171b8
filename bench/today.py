"""Server time of the teacher's Today page (their home) on the demo district, p50 and p95, and its SQL queries.

    .venv/bin/python bench/today.py                      # plplatform_today_bench on $DATABASE_URL's server
    .venv/bin/python bench/today.py --requests 500 --teacher demo-teacher
    .venv/bin/python bench/today.py --replace --students 1200   # seed afresh, a bigger demo district
    .venv/bin/python bench/today.py --district [--section ID]   # a section of the 50,000-student district

The database: --database-url, else a database named `plplatform_today_bench` on the server of $DATABASE_URL
(else on the embedded server). Without a district there (or with --replace, which drops it first: only a
database whose name contains `bench`) it is created, migrated and seeded exactly as `make run` seeds the
project's database: `seed_demo --students N`, then `run_nightly --nights 2`. Alerts open on the second
consecutive school-day night; when those two nights open none (e.g. today is a holiday, whose night is
evaluated as of the school day before), the next school day's night is run too, so the teacher has alerts.

With --district it measures the teacher of a 35-student section of the generated district instead
(bench/generate_district.py, in the bench database of common.py: `plplatform_bench` unless --database-url says
otherwise; never seeded, migrated or dropped here). grid.district_section() readies the section (10 more students
of its school and grade enrolled, their mastery states computed from their evidence), and the paths night of
`DISTRICT_NIGHTS` (two consecutive school days) gives its students paths, pacing and alerts when some of them have
no path yet. All of it idempotent: a rerun finds it done and changes nothing.

Then, in this process, Django's test Client signs in as the teacher and GETs /teacher/ (the Today page):
--warmup requests first (not timed), then --requests timed one by one from request to response (the view,
its queries on the local PostgreSQL and the template; no network, no browser). DEBUG is off, as in
production; static files are served by plain storage (no collectstatic needed). It prints one line per
phase and, last, one JSON object: p50, p95, max in ms, the queries of one request, what the page held
(alerts, suggested groups, students) and whether p95 meets the 100 ms target.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    ROOT,
    backend_cpu_seconds,
    bench_database_url,
    database_name,
    district_exists,
    django_environment,
    machine_load,
    process_cpu_seconds,
    recreate_database,
    require_bench_name,
    setup_django,
)

DATABASE = "plplatform_today_bench"
TARGET_P95_MS = 100.0
# The nights run for a district section's students: two consecutive school days at the end of the generated history
# (alerts open on the second), as nightly.py's first nights.
DISTRICT_NIGHTS = (datetime.date(2026, 11, 19), datetime.date(2026, 11, 20))


def today_database_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL")
    if not base:
        from plplatform.embedded_db import embedded_database_url

        sys.path.insert(0, str(ROOT))
        base = embedded_database_url(ROOT)
    return urlunsplit(urlsplit(base)._replace(path=f"/{DATABASE}"))


def _create_database(url: str) -> None:
    import psycopg
    from psycopg import conninfo, sql

    name = database_name(url)
    admin = conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _manage(url: str, *args: str) -> str:
    """Run a management command on the bench database (no broker: tasks run in-process)."""
    env = django_environment(url, DEBUG="true")
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def seed(url: str, students: int) -> None:
    started = time.monotonic()
    _create_database(url)
    _manage(url, "migrate", "-v", "0")
    _manage(url, "seed_demo", "--students", str(students))
    last = _manage(url, "run_nightly", "--nights", "2").strip().splitlines()[-1]
    print(f"seeded the demo district ({students:,} students) and ran 2 nights in {time.monotonic() - started:.1f} s")
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pathways_pacingalert").fetchone()
        opened = row[0] if row else 0
        evaluated = conn.execute("SELECT max(evaluated_on) FROM pathways_alertcondition").fetchone()
    if not opened and evaluated and evaluated[0]:
        night = evaluated[0] + datetime.timedelta(days=1)
        while night.weekday() >= 5:
            night += datetime.timedelta(days=1)
        last = _manage(url, "run_nightly", "--date", night.isoformat()).strip().splitlines()[-1]
        print(f"no alert open after those nights: ran the night of {night} too")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # fresh statistics, as on a server that has been running
    print(f"last night: {last[:160]}")


def district_teacher(section_id: int | None) -> str:
    """The username of the teacher of a 35-student section of the district, its students' paths, pacing and
    alerts as DISTRICT_NIGHTS leave them (run only when one of them has no path yet)."""
    from grid import district_section, section_teacher

    from pathways.models import LearningPath
    from pathways.services.night import paths_night
    from profiles.models import Enrollment

    section = district_section(section_id)
    student_ids = list(
        Enrollment.objects.filter(section=section, role=Enrollment.Role.STUDENT, active=True).values_list(
            "user_id", flat=True
        )
    )
    with_paths = LearningPath.objects.filter(student_id__in=student_ids).values("student_id").distinct().count()
    if with_paths < len(student_ids):
        for night in DISTRICT_NIGHTS:
            written = paths_night(student_ids=student_ids, on=night)
            print(f"paths night of {night} for the {len(student_ids)} students of section {section.pk}: {written} rows")
    teacher = section_teacher(section)
    if teacher is None:
        raise SystemExit(f"Section {section.pk} has no teacher.")
    return teacher.username


def _per_request(before: float | None, after: float | None, requests: int) -> float | None:
    """CPU milliseconds per request between two readings (None when the process could not be read)."""
    if before is None or after is None:
        return None
    return round((after - before) * 1000 / requests, 1)


def measure(teacher: str, requests: int, warmup: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    from pathways.models import PacingAlert
    from profiles import access
    from profiles.models import Enrollment, User

    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, ALLOWED_HOSTS=["testserver"]):
        user = User.objects.get(username=teacher)
        client = Client()
        client.force_login(user)
        url = reverse("teacher-home")
        for _ in range(warmup):
            assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        queries = len(captured)  # now: the next request's start empties the connection's query log
        times = []
        app_cpu, db_cpu = process_cpu_seconds(os.getpid()), backend_cpu_seconds()
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        app_after, db_after = process_cpu_seconds(os.getpid()), backend_cpu_seconds()
    times.sort()
    from pathways.today_views import _today_context

    context = _today_context(user)
    students = access.workspace_students(user).count()
    sections = Enrollment.objects.filter(user=user, role=Enrollment.Role.TEACHER, active=True).count()
    alerts = PacingAlert.objects.filter(student__in=access.workspace_students(user).values("pk")).exclude(
        status=PacingAlert.Status.RESOLVED
    )
    return {
        "teacher": teacher,
        "sections": sections,
        "students": students,
        "open_alerts": alerts.count(),
        "alerts_shown": len(context["today"]),
        "groups_suggested": sum(total for _, _, total in context["groups"]),
        "groups_shown": sum(len(shown) for _, shown, _ in context["groups"]),
        "requests": requests,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "max_ms": round(times[-1], 1),
        "queries": queries,
        # CPU per request (this process: view and template; the database backend: the queries): it changes less
        # than wall time when other work shares the machine.
        "app_cpu_ms": _per_request(app_cpu, app_after, requests),
        "db_cpu_ms": _per_request(db_cpu, db_after, requests),
        "page_kb": round(len(response.content) / 1024, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help=f"default: {DATABASE} on the server of $DATABASE_URL")
    parser.add_argument("--replace", action="store_true", help="drop and seed the database afresh")
    parser.add_argument("--students", type=int, default=600, help="seed_demo --students (default 600, as make run)")
    parser.add_argument("--teacher", default="demo-teacher")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--district", action="store_true", help="the teacher of a 35-student section of the district")
    parser.add_argument("--section", type=int, help="with --district: the section's id (default: the first grade 5)")
    args = parser.parse_args(argv)

    teacher = args.teacher
    if args.district:
        url = bench_database_url(args.database_url)
        name = require_bench_name(url, "use")
        if not district_exists(url):
            raise SystemExit(f"{name} holds no district; run bench/generate_district.py first.")
        setup_django(url)  # no migrate: the district is shared, its schema is the generator's
        teacher = district_teacher(args.section)
    else:
        url = today_database_url(args.database_url)
        name = require_bench_name(url, "use")
        if args.replace:
            recreate_database(url)
        if not district_exists(url):
            seed(url, args.students)
        else:
            _manage(url, "migrate", "-v", "0")
        setup_django(url)
    print(f"Database {name}: GET /teacher/ as {teacher}, {args.requests} timed requests ({machine_load()})")
    figures = measure(teacher, args.requests, args.warmup)
    print(
        f"Today: p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms (CPU per request: "
        f"{figures['app_cpu_ms']} ms Django, {figures['db_cpu_ms']} ms PostgreSQL); {figures['queries']} queries; "
        f"{figures['open_alerts']} open alerts ({figures['alerts_shown']} shown), "
        f"{figures['groups_suggested']} suggested groups ({figures['groups_shown']} shown) for "
        f"{figures['students']} students in {figures['sections']} sections"
    )
    figures["load_after"] = machine_load()
    figures["target_p95_ms"] = TARGET_P95_MS
    figures["meets_target"] = figures["p95_ms"] <= TARGET_P95_MS
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
