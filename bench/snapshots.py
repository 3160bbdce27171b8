"""The nightly equity snapshots stage on the bench district, timed, with its peak memory.

    .venv/bin/python bench/snapshots.py                      # the night of 2026-11-20 on plplatform_bench
    .venv/bin/python bench/snapshots.py --date 2026-11-23 --repeat 2

The database is the bench database of the other scripts (bench/common.py); it must hold a district
(generate_district.py). Its monitoring app is migrated (this stage's tables). The snapshots stage reads
paths, pacing and alerts, which the generated district does not have until a night has run: when the night
of --date has no succeeded paths run for every school, this script first runs the night's mastery and paths
stages in this process (timed and printed apart, not part of the figure). Then, --repeat times, it removes
the night's snapshot runs and runs the night again in this process (Celery eager, as without a broker):
only the snapshots stage has work, school by school (one chunk each), then the district-as-a-whole step
after the last school.

Figures: wall time of the stage (from the run's start to the district rows being written), per school
(median and slowest) and the district step; rows written; peak RSS of this process during the stage (the
kernel's VmHWM, reset before each run, so the Django and pandas baseline is included) against the 512 MB
target, and the time against the nightly 10-minute budget. Each line carries the machine's load.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_database_url, district_exists, machine_load, setup_django

MB = 1024 * 1024
TARGETS = {"stage_seconds": 600, "peak_rss_mb": 512}
DEFAULT_DATE = datetime.date(2026, 11, 20)


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def reset_peak_rss() -> None:
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM back to the current RSS (Linux >= 4.0)


def eager() -> None:
    """In-process Celery: run_nightly's dispatch does the work in this process (as without REDIS_URL)."""
    from plplatform.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


def paths_ready(run_date: datetime.date) -> bool:
    from monitoring.models import JobRun
    from profiles.models import School

    done = JobRun.objects.filter(job="paths", run_date=run_date, status=JobRun.Status.SUCCEEDED).count()
    return done == School.objects.count()


def prepare(run_date: datetime.date) -> None:
    """The night's mastery and paths stages (all of it but the snapshots), so that paths, pacing and alerts exist."""
    from monitoring import pipeline

    stages = pipeline.STAGES
    pipeline.STAGES = tuple(stage for stage in stages if stage.name != pipeline.SNAPSHOTS)
    try:
        started = time.perf_counter()
        report = pipeline.night_run(run_date=run_date)
    finally:
        pipeline.STAGES = stages
    print(
        f"prepared the night of {run_date}: mastery and paths in {time.perf_counter() - started:.1f} s "
        f"({report['status']}; {json.dumps(report['stages'])}); {machine_load()}",
        flush=True,
    )


def forget_snapshot_runs(run_date: datetime.date) -> None:
    """The night's snapshot runs removed, so the night runs that stage again (its rows are replaced)."""
    from monitoring.models import JobRun

    JobRun.objects.filter(job="snapshots", run_date=run_date).delete()


def school_seconds(run_date: datetime.date) -> list[float]:
    from monitoring.models import JobRun

    runs = JobRun.objects.filter(job="snapshots", run_date=run_date, status=JobRun.Status.SUCCEEDED)
    return [(run.finished_at - run.started_at).total_seconds() for run in runs if run.started_at and run.finished_at]


def run_stage(run_date: datetime.date) -> dict[str, Any]:
    from monitoring import pipeline
    from monitoring.models import EquitySnapshot, ImplementationSnapshot

    forget_snapshot_runs(run_date)
    reset_peak_rss()
    started = time.perf_counter()
    report = pipeline.night_run(run_date=run_date)
    seconds = time.perf_counter() - started
    per_school = school_seconds(run_date)
    district = EquitySnapshot.objects.filter(date=run_date, school__isnull=True)
    return {
        "date": run_date.isoformat(),
        "status": report["status"],
        "stage_seconds": round(seconds, 1),
        "schools": report["stages"]["snapshots"]["schools"],
        "rows_written": report["stages"]["snapshots"]["rows_written"],
        "school_seconds_median": round(statistics.median(per_school), 2) if per_school else None,
        "school_seconds_max": round(max(per_school), 2) if per_school else None,
        "equity_rows": EquitySnapshot.objects.filter(date=run_date).count(),
        "district_rows": district.count(),
        "suppressed_rows": EquitySnapshot.objects.filter(date=run_date, suppressed=True).count(),
        "implementation_rows": ImplementationSnapshot.objects.filter(date=run_date).count(),
        "peak_rss_mb": peak_rss_mb(),
        "machine": machine_load(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="the bench database (default: as the other bench scripts)")
    parser.add_argument("--date", default=DEFAULT_DATE.isoformat(), help="the night (YYYY-MM-DD)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the stage (default 1)")
    args = parser.parse_args(argv)
    url = bench_database_url(args.database_url)
    if not district_exists(url):
        raise SystemExit("No district in the bench database: run bench/generate_district.py first.")
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", "monitoring", verbosity=0)  # this stage's tables (and what they depend on) only
    eager()
    run_date = datetime.date.fromisoformat(args.date)
    if not paths_ready(run_date):
        prepare(run_date)
    results = []
    for _ in range(args.repeat):
        result = run_stage(run_date)
        results.append(result)
        print(
            f"snapshots stage, night {result['date']}: {result['schools']} schools in {result['stage_seconds']} s "
            f"(per school median {result['school_seconds_median']} s, slowest {result['school_seconds_max']} s; "
            f"district step included), {result['rows_written']:,} school rows + {result['district_rows']} district "
            f"rows ({result['suppressed_rows']} suppressed); peak RSS {result['peak_rss_mb']} MB; {result['machine']}",
            flush=True,
        )
    worst = {name: max(result[name] for result in results) for name in TARGETS}
    print(json.dumps({"runs": results, "targets_met": {k: worst[k] <= v for k, v in TARGETS.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
