"""Importing an evidence CSV file: `manage.py import_evidence` on a file of --rows rows (default 1,000,000).

    .venv/bin/python bench/import_csv.py                        # 1,000,000 rows into the bench district
    .venv/bin/python bench/import_csv.py --rows 100000 --keep
    .venv/bin/python bench/import_csv.py --again                # then the same file again: all already present

Needs a district (generate_district.py). Writes the file first (not timed): students by username and
competencies by code, as a school's export would name them, one observation per row on a school day
after the district's history, a score (one in five a raw score out of 10, one in ten a 1–4 rating),
source `bench-csv-<run>` and a fresh external id per row. Then runs the real command in a child process
(`manage.py import_evidence FILE`: the whole file read once and checked, its rows staged by COPY as they
are read, then stored with one INSERT in the same transaction) and prints its wall time, the child's peak
memory and the rows per second; with `--again` it imports the same file a second time (every row already
present: the idempotent path). Then it deletes what it stored and vacuums the table, so that the next run
meets the table as this one did (`--keep` to leave the rows). Target: 1,000,000 rows in under 60 seconds.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    AS_OF,
    ROOT,
    bench_database_url,
    django_environment,
    machine_load,
    raw_connection,
    setup_django,
)

TARGET_SECONDS = 60


def write_file(path: Path, rows: int, seed: int, source: str) -> None:
    """The CSV a school would send: usernames, competency codes, ISO dates."""
    conn = raw_connection()
    usernames = [name for (name,) in conn.execute(
        "SELECT u.username FROM profiles_user u JOIN profiles_learnerprofile p ON p.user_id = u.id ORDER BY u.id"
    )]  # fmt: skip
    codes = [code for (code,) in conn.execute("SELECT code FROM mastery_competency WHERE assessable ORDER BY id")]
    if not usernames or not codes:
        raise SystemExit("The bench database has no district; run bench/generate_district.py first.")
    rng = np.random.default_rng(seed)
    students = rng.integers(0, len(usernames), rows)
    competencies = rng.integers(0, len(codes), rows)
    kinds = rng.random(rows)
    values = rng.integers(0, 11, rows)
    seconds = rng.integers(0, 86_400 * 5, rows)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "competency", "observed_at", "score", "raw_score", "max_score", "rating",
                         "source", "external_id"])  # fmt: skip
        for n in range(rows):
            observed = (AS_OF + datetime.timedelta(days=3, seconds=int(seconds[n]))).isoformat()
            value = int(values[n])
            if kinds[n] < 0.1:
                score, raw, top, rating = "", "", "", str(1 + value % 4)
            elif kinds[n] < 0.3:
                score, raw, top, rating = "", str(value), "10", ""
            else:
                score, raw, top, rating = str(value / 10), "", "", ""
            writer.writerow([usernames[students[n]], codes[competencies[n]], observed, score, raw, top, rating,
                             source, f"row-{n}"])  # fmt: skip


def run_import(url: str, path: Path) -> tuple[float, float, str]:
    """Wall seconds, this child's peak memory in MB (its own rusage, from wait4), and its last output line."""
    environment = {**os.environ, **django_environment(url)}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "import_evidence", str(path)],
            env=environment,
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode:
            raise SystemExit(f"import_evidence failed:\n{err.read()[-2000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read().strip().splitlines()[-1]


def report(label: str, rows: int, seconds: float, peak_mb: float, last_line: str) -> None:
    print(f"{label}: {last_line}")
    print(f"{rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s; peak memory of the command "
          f"{peak_mb:.0f} MB ({machine_load()})", flush=True)  # fmt: skip


def delete_rows(source: str) -> int:
    """Delete the imported rows, then VACUUM, so that the next run meets the table as this one did."""
    conn = raw_connection()  # autocommit
    deleted = conn.execute("DELETE FROM mastery_evidence WHERE source = %s", [source]).rowcount
    conn.execute("VACUUM mastery_evidence")
    return deleted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="the bench database (default: as generate_district.py)")
    parser.add_argument("--keep", action="store_true", help="keep the imported rows")
    parser.add_argument("--again", action="store_true", help="then import the same file again (all present)")
    args = parser.parse_args(argv)
    url = bench_database_url(args.database_url)
    setup_django(url)
    source = f"bench-csv-{int(time.time())}"

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "evidence.csv"
        started = time.perf_counter()
        write_file(path, args.rows, args.seed, source)
        size_mb = path.stat().st_size / 1e6
        print(f"Wrote {args.rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s; "
              f"importing with manage.py import_evidence ({machine_load()})", flush=True)  # fmt: skip
        seconds, peak_mb, last_line = run_import(url, path)
        report("import_evidence", args.rows, seconds, peak_mb, last_line)
        summary = {
            "rows": args.rows, "seconds": round(seconds, 1), "rows_per_second": round(args.rows / seconds),
            "peak_mb": round(peak_mb), "target_seconds": TARGET_SECONDS, "meets_target": seconds < TARGET_SECONDS,
        }  # fmt: skip
        if args.again:
            again_seconds, again_peak_mb, last_line = run_import(url, path)
            report("import_evidence again", args.rows, again_seconds, again_peak_mb, last_line)
            summary |= {"again_seconds": round(again_seconds, 1), "again_peak_mb": round(again_peak_mb)}
    if not args.keep:
        print(f"Deleted {delete_rows(source):,} imported rows (and vacuumed the table).")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
