"""Server time of the equity dashboard's school and district pages on the bench district, p50 and p95.

    .venv/bin/python bench/dashboard.py                         # plplatform_bench (bench/common.py), 200 requests
    .venv/bin/python bench/dashboard.py --requests 300 --history 80

The database is the bench database of the other scripts (the 50,000-student district of generate_district.py;
never generated, dropped or reset here). The pages read stored snapshots only, so the script needs a history of
them: when the district has fewer than --history snapshot dates, it writes a SYNTHETIC history inside one
transaction that is ROLLED BACK at the end (the bench database is left exactly as it was, and other scripts'
rows are never touched):

- the --history school days (weekdays) ending on --until (default 2026-11-19, the day before the night the
  snapshots bench uses), skipping any date that already has rows of the district;
- for every school: each grade and all grades together × every subgroup value of every dimension (the bench
  roster has no demographics, so each school-grade's students are split among the values with fixed,
  realistic proportions), each section of the school (its active students), and the school's, each section's
  and the district's implementation rows; the district-as-a-whole rows as the sums of the school rows;
- suppression flags from the real functions (monitoring/analytics/cells.py) on those counts; the figures
  (mastery, growth, pacing, access, alerts) synthetic, moving through the term;
- written with COPY, then ANALYZE inside the transaction (so the planner knows the rows it reads).

Then, in this process, Django's test client (DEBUG off, plain static storage) signs in as the school's
principal and the district admin and GETs the school page and the district page: --warmup untimed, then
--requests each, timed from request to response (view, queries, template; no network, no browser). It prints
the machine's load, p50/p95/max, the queries of one request and the CPU per request (Django and PostgreSQL),
and last one JSON object, against the targets: school p95 <= 300 ms, district p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    backend_cpu_seconds,
    bench_database_url,
    machine_load,
    process_cpu_seconds,
    require_bench_name,
    setup_django,
)

TARGETS_P95_MS = {"school": 300.0, "district": 1000.0}
UNTIL = datetime.date(2026, 11, 19)

# Shares of each dimension's values (the dimension's values in DIMENSION_VALUES order), roughly a US district.
PROPORTIONS = {
    "sex": (0.49, 0.49, 0.01, 0.01),
    "race_ethnicity": (0.28, 0.01, 0.05, 0.15, 0.004, 0.45, 0.05, 0.006),
    "english_learner": (0.12, 0.88),
    "iep": (0.14, 0.86),
    "section_504": (0.03, 0.97),
    "economically_disadvantaged": (0.45, 0.55),
}


# --- the synthetic history -----------------------------------------------------------------------------


def school_days(until: datetime.date, count: int) -> list[datetime.date]:
    days: list[datetime.date] = []
    day = until
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= datetime.timedelta(days=1)
    return sorted(days)


def split(total: int, shares: Sequence[float]) -> list[int]:
    """`total` students over the values in these shares, whole numbers adding up to it (largest remainders)."""
    raw = np.array(shares) / sum(shares) * total
    counts = np.floor(raw).astype(int)
    for index in np.argsort(-(raw - counts))[: total - counts.sum()]:
        counts[index] += 1
    return counts.tolist()


def roster_cells(school_id: int, grades: dict[int, int], sections: list[tuple[int, int, int]]) -> list[dict]:
    """One school's cells with their student counts (and a below-grade count, fixed over the term), flagged by
    the real suppression; figures are filled per date later."""
    from monitoring.analytics.cells import DIMENSION_VALUES, suppress_school_cells
    from monitoring.dashboard_selectors import suppression_min_n

    cells = []
    per_grade: dict[tuple[str, str], int] = {}
    for grade, students in grades.items():
        for dimension, values in DIMENSION_VALUES.items():
            counts = [students] if dimension == "all" else split(students, PROPORTIONS[dimension])
            for value, n in zip(values, counts, strict=True):
                cells.append(_cell(school_id, grade, None, dimension, value, n))
                per_grade[(dimension, value)] = per_grade.get((dimension, value), 0) + n
    for (dimension, value), n in per_grade.items():
        cells.append(_cell(school_id, None, None, dimension, value, n))
    for section_id, grade, students in sections:
        cells.append(_cell(school_id, grade, section_id, "all", "all", students))
    suppress_school_cells(cells, min_n=suppression_min_n())
    return cells


def _cell(school: int, grade: int | None, section: int | None, dimension: str, value: str, n: int) -> dict:
    # Students working below grade level: about a third, more in some groups (English learners, IEP).
    weight = {"yes": 1.4}.get(value, 1.0) if dimension in ("english_learner", "iep") else 1.0
    return {
        "school": school,
        "grade": grade,
        "section": section,
        "dimension": dimension,
        "value": value,
        "n_students": n,
        "below_grade_count": min(n, round(n * 0.33 * weight)),
    }


def district_roster_cells(school_cells: list[dict]) -> list[dict]:
    from monitoring.analytics.cells import suppress_district_cells
    from monitoring.dashboard_selectors import suppression_min_n

    totals: dict[tuple, dict] = {}
    for cell in school_cells:
        if cell["section"] is not None:
            continue
        key = (cell["grade"], cell["dimension"], cell["value"])
        total = totals.setdefault(key, {**cell, "school": None, "n_students": 0, "below_grade_count": 0})
        total["n_students"] += cell["n_students"]
        total["below_grade_count"] += cell["below_grade_count"]
    district = list(totals.values())
    table = [cell for cell in school_cells if cell["section"] is None]
    suppress_district_cells(district, table, min_n=suppression_min_n())
    return district


def figures(cell: dict, progress: float, rng: np.random.Generator) -> dict[str, Any]:
    """A cell's figures on a date `progress` (0 to 1) through the history: mastery, growth and access rise."""
    n, below = cell["n_students"], cell["below_grade_count"]
    targets = 12 * n
    mastered = min(targets, round(targets * (0.15 + 0.4 * progress) * rng.uniform(0.9, 1.1)))
    pacing = split(n, (0.25 + 0.1 * progress, 0.4, 0.15, 0.2 - 0.1 * progress)) if n else [0, 0, 0, 0]
    growth = round(6 * progress * rng.uniform(0.8, 1.2) * 2) / 2
    return {
        "grade_level_targets": targets,
        "grade_level_targets_mastered": mastered,
        "growth_distribution": json.dumps({str(int(growth)): n} if n else {}),
        "growth_median": growth if n else None,
        "pacing_distribution": json.dumps(
            dict(zip(("ahead", "on_track", "at_risk", "off_track"), pacing, strict=True))
        ),
        "below_grade_count": below,
        "access_count": min(below, round(below * (0.45 + 0.35 * progress) * rng.uniform(0.9, 1.1))),
        "open_alerts": round(n * 0.3 * rng.uniform(0.7, 1.3)),
    }


def write_history(district_id: int, days: list[datetime.date]) -> dict[str, int]:
    """Write the synthetic rows of `days` (inside the caller's transaction) with COPY; returns the row counts."""
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from monitoring.models import EQUITY_FIGURES, IMPLEMENTATION_FIGURES
    from profiles.models import Enrollment, LearnerProfile, School, Section

    rng = np.random.default_rng(7)
    schools = list(School.objects.filter(district_id=district_id).order_by("pk").values_list("pk", flat=True))
    grades: dict[int, dict[int, int]] = {}
    profiles = LearnerProfile.objects.filter(school__in=schools)
    for school, grade, count in profiles.values_list("school_id", "grade_level").annotate(n=Count("pk")).order_by():
        grades.setdefault(school, {})[grade] = count
    enrolled = _per_section(Enrollment.objects.filter(role=Enrollment.Role.STUDENT, active=True))
    teachers = _per_section(Enrollment.objects.filter(role=Enrollment.Role.TEACHER, active=True))
    sections = list(Section.objects.filter(school__in=schools).values_list("pk", "school_id", "grade_level"))
    cells: list[dict] = []
    for school in schools:
        own = [(pk, grade, enrolled.get(pk, 0)) for pk, owner, grade in sections if owner == school]
        cells += roster_cells(school, grades.get(school, {}), own)
    cells += district_roster_cells(cells)
    now = timezone.now()
    raw = connection.connection
    equity = implementation = 0
    equity_columns = (
        *("date", "district_id", "school_id", "grade", "section_id", "dimension", "value"),
        *EQUITY_FIGURES,
        "computed_at",
    )
    implementation_columns = ("date", "district_id", "school_id", "section_id", *IMPLEMENTATION_FIGURES, "computed_at")
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY monitoring_equitysnapshot ({', '.join(equity_columns)}) FROM STDIN") as copy:
            for index, day in enumerate(days):
                progress = index / max(1, len(days) - 1)
                for cell in cells:
                    row = {
                        **figures(cell, progress, rng),
                        "date": day,
                        "district_id": district_id,
                        "school_id": cell["school"],
                        "section_id": cell["section"],
                        "computed_at": now,
                        **{key: cell[key] for key in ("grade", "dimension", "value", "n_students")},
                        **{key: cell[key] for key in ("suppressed", "access_suppressed")},
                    }
                    copy.write_row([row[column] for column in equity_columns])
                    equity += 1
        with cursor.copy(
            f"COPY monitoring_implementationsnapshot ({', '.join(implementation_columns)}) FROM STDIN"
        ) as copy:
            # (school, section, teachers, students): each school, each section, and the district as a whole.
            units = [
                (school, None, sum(1 for _, owner, _ in sections if owner == school), sum(grades[school].values()))
                for school in schools
            ]
            units += [(owner, pk, teachers.get(pk, 1), enrolled.get(pk, 0)) for pk, owner, _ in sections]
            units.append((None, None, len(sections), sum(sum(by_grade.values()) for by_grade in grades.values())))
            for day in days:
                for school, section, staff, students in units:
                    active = round(students * rng.uniform(0.6, 0.95))
                    acknowledged = int(rng.integers(0, 20))
                    median = float(rng.integers(1, 6)) if acknowledged else None
                    row = {
                        "date": day,
                        "district_id": district_id,
                        "school_id": school,
                        "section_id": section,
                        "teachers": staff,
                        "teacher_evidence_week": staff * int(rng.integers(5, 40)),
                        "students": students,
                        "students_with_evidence_week": active,
                        "alerts_acknowledged": acknowledged,
                        "acknowledge_days_distribution": json.dumps({str(int(median)): acknowledged} if median else {}),
                        "acknowledge_days_median": median,
                        "computed_at": now,
                    }
                    copy.write_row([row[column] for column in implementation_columns])
                    implementation += 1
        cursor.execute("ANALYZE monitoring_equitysnapshot")
        cursor.execute("ANALYZE monitoring_implementationsnapshot")
    return {"equity_rows": equity, "implementation_rows": implementation}


def _per_section(enrollments: Any) -> dict[int, int]:
    from django.db.models import Count

    return dict(enrollments.values_list("section_id").annotate(n=Count("pk")).order_by())


# --- the measurement ---------------------------------------------------------------------------------------


def _per_request(before: float | None, after: float | None, requests: int) -> float | None:
    if before is None or after is None:
        return None
    return round((after - before) * 1000 / requests, 1)


def time_page(client: Any, url: str, requests: int, warmup: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    queries = len(captured)
    times = []
    app_cpu, db_cpu = process_cpu_seconds(os.getpid()), backend_cpu_seconds()
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    app_after, db_after = process_cpu_seconds(os.getpid()), backend_cpu_seconds()
    times.sort()
    return {
        "url": url,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "max_ms": round(times[-1], 1),
        "queries": queries,
        "app_cpu_ms": _per_request(app_cpu, app_after, requests),
        "db_cpu_ms": _per_request(db_cpu, db_after, requests),
        "page_kb": round(len(response.content) / 1024, 1),
    }


def measure(requests: int, warmup: int) -> dict[str, Any]:
    from django.test import Client
    from django.urls import reverse

    from monitoring.models import EquitySnapshot
    from profiles.models import District, Role, RoleMembership

    district = District.objects.order_by("pk").first()
    assert district is not None
    principal = (
        RoleMembership.objects.filter(role=Role.PRINCIPAL, active=True, school__district=district)
        .select_related("user", "school")
        .order_by("school_id")
        .first()
    )
    admin = RoleMembership.objects.filter(role=Role.DISTRICT_ADMIN, active=True, district=district).first()
    if principal is None or admin is None or principal.school is None:
        raise SystemExit("The bench district has no principal or district admin; run bench/generate_district.py.")
    results: dict[str, Any] = {}
    for level, user, url in (
        ("school", principal.user, reverse("equity-school", args=[principal.school.pk])),
        ("district", admin.user, reverse("equity-district", args=[district.pk])),
    ):
        client = Client()
        client.force_login(user)
        results[level] = time_page(client, url, requests, warmup)
        results[level]["target_p95_ms"] = TARGETS_P95_MS[level]
        results[level]["meets_target"] = results[level]["p95_ms"] <= TARGETS_P95_MS[level]
    results["snapshot_rows"] = EquitySnapshot.objects.filter(district=district).count()
    results["snapshot_dates"] = EquitySnapshot.objects.filter(district=district).values("date").distinct().count()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: the bench database (bench/common.py)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--history", type=int, default=60, help="snapshot dates wanted (default 60)")
    parser.add_argument("--until", type=datetime.date.fromisoformat, default=UNTIL)
    args = parser.parse_args(argv)

    url = bench_database_url(args.database_url)
    name = require_bench_name(url, "use")
    setup_django(url)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from django.test.utils import override_settings

    from monitoring.models import EquitySnapshot
    from profiles.models import District

    call_command("migrate", verbosity=0)  # the snapshot tables as this checkout has them
    district = District.objects.order_by("pk").first()
    if district is None:
        raise SystemExit(f"Database {name} has no district: run bench/generate_district.py first.")
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with transaction.atomic(), override_settings(STORAGES=storages, ALLOWED_HOSTS=["testserver"]):
        stored = set(EquitySnapshot.objects.filter(district=district).values_list("date", flat=True).distinct())
        written: dict[str, int] = {"equity_rows": 0, "implementation_rows": 0}
        history = "stored snapshots"
        if len(stored) < args.history:
            days = [day for day in school_days(args.until, args.history) if day not in stored]
            started = time.monotonic()
            written = write_history(district.pk, days)
            history = f"synthetic history of {len(days)} dates (rolled back at the end)"
            print(
                f"wrote {written['equity_rows']:,} equity and {written['implementation_rows']:,} implementation "
                f"rows for {len(days)} dates in {time.monotonic() - started:.1f} s (rolled back at the end)"
            )
        print(f"Database {name}: {history}; {args.requests} timed requests per page ({machine_load()})")
        figures = measure(args.requests, args.warmup)
        transaction.set_rollback(True)
    figures.update(history=history, load=machine_load(), **written)
    for level in ("school", "district"):
        page = figures[level]
        print(
            f"{level} page: p50 {page['p50_ms']} ms, p95 {page['p95_ms']} ms, max {page['max_ms']} ms "
            f"(CPU per request: {page['app_cpu_ms']} ms Django, {page['db_cpu_ms']} ms PostgreSQL); "
            f"{page['queries']} queries; {page['page_kb']} KB; target p95 <= {page['target_p95_ms']:.0f} ms: "
            f"{'met' if page['meets_target'] else 'NOT met'}"
        )
    print(json.dumps(figures, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
