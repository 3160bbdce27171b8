"""Bulk evidence ingest through `mastery.services.evidence_record_bulk`, in rows per second.

    .venv/bin/python bench/generate_district.py --students 2000 --evidence 200000   # once
    .venv/bin/python bench/ingest.py --rows 200000

Runs against the bench district (same database choice as generate_district.py). Builds `--rows`
items for students and competencies of the district (not timed), then records them in batches of
`--batch` (default 5,000, the API's limit), each batch its own transaction and commit, as an API call
or an import would. Every item has a fresh (source, external_id), so this measures first-time
ingest with the idempotency check included. Then it replays the same batches: nothing new is stored,
every item answers with its first row (the retry path). Finally it deletes what it stored, so the
district stays as generated (--keep to leave the rows).

Prints one line per phase and, last, one JSON object with the figures. Target: ≥ 50,000 rows/s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import backend_cpu_seconds, bench_database_url, build_items, database_name, machine_load, setup_django

TARGET_ROWS_PER_SECOND = 50_000


def api_bodies(items: list[dict], batch: int) -> list[bytes]:
    """The items as the API's JSON bodies: `student`/`competency` and ISO 8601 `observed_at`."""
    bodies = []
    for start in range(0, len(items), batch):
        chunk = []
        for item in items[start : start + batch]:
            fields = {key: value for key, value in item.items() if key not in ("student_id", "competency_id")}
            fields.update(
                student=item["student_id"],
                competency=item["competency_id"],
                observed_at=item["observed_at"].isoformat(),
            )
            chunk.append(fields)
        bodies.append(json.dumps({"items": chunk}).encode())
    return bodies


def timed_batches(items: list[dict], batch: int, through_api: bool) -> tuple[float, float, list[float], int, Any]:
    """Record the items batch by batch, each its own transaction: (start, end, batch seconds, created, CPU
    seconds of (this client, its database backend)). Times are time.monotonic(), comparable between the
    worker processes."""
    from mastery.services import evidence_record_bulk

    if through_api:
        from django.test import Client

        from profiles.models import User

        client = Client()
        client.force_login(User.objects.get(username="bench-admin"))  # the district admin
        bodies = api_bodies(items, batch)
    durations = []
    created = 0
    backend_before = backend_cpu_seconds()
    client_before = time.process_time()
    started = time.monotonic()
    for number, start in enumerate(range(0, len(items), batch)):
        begin = time.perf_counter()
        if through_api:
            response = client.post("/api/v1/evidence/bulk/", bodies[number], content_type="application/json")
            if response.status_code not in (200, 201):
                raise SystemExit(f"The API answered {response.status_code}: {response.content[:500]!r}")
            created += response.json()["created"]
        else:
            results = evidence_record_bulk(items=items[start : start + batch])
            created += sum(result.created for result in results)
        durations.append(time.perf_counter() - begin)
    ended = time.monotonic()
    client = time.process_time() - client_before
    backend_after = backend_cpu_seconds()
    backend = None if backend_before is None or backend_after is None else backend_after - backend_before
    return started, ended, durations, created, (client, backend)


def worker(
    url: str, rows: int, batch: int, seed: int, source: str, number: int, through_api: bool, barrier: Any, out: Any
) -> None:
    """One client: its own process and connection; ingests its share, then replays it."""
    setup_django(url)
    items = build_items(rows, seed + number, source, prefix=f"{number}-")
    barrier.wait()
    ingest = timed_batches(items, batch, through_api)
    barrier.wait()
    replay = timed_batches(items, batch, through_api)
    out.put((ingest, replay))


def run_workers(url: str, args: argparse.Namespace, source: str) -> list[tuple]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(args.workers)
    out = context.Queue()
    shares = [args.rows // args.workers + (1 if n < args.rows % args.workers else 0) for n in range(args.workers)]
    processes = [
        context.Process(
            target=worker, args=(url, share, args.batch, args.seed, source, n, args.through_api, barrier, out)
        )
        for n, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    results = [out.get() for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"A worker failed (exit code {process.exitcode}).")
    return results


def summary(phase: str, runs: Sequence[tuple], rows: int) -> tuple[float, int, dict[str, float | None]]:
    seconds = max(run[1] for run in runs) - min(run[0] for run in runs)
    durations = [duration for run in runs for duration in run[2]]
    created = sum(run[3] for run in runs)
    client = sum(run[4][0] for run in runs)
    backends = [run[4][1] for run in runs]
    backend = None if None in backends else sum(backends)
    rate = rows / seconds
    # CPU per 1,000 rows, clients and their database backends: what the rows cost whatever else runs.
    cpu = {
        "client_cpu_ms_per_1000_rows": round(client / rows * 1e6, 1),
        "backend_cpu_ms_per_1000_rows": None if backend is None else round(backend / rows * 1e6, 1),
    }
    backend_text = "?" if backend is None else f"{cpu['backend_cpu_ms_per_1000_rows']:.0f}"
    print(
        f"{phase}: {rows:,} rows in {seconds:.2f} s = {rate:,.0f} rows/s ({len(durations)} batches; "
        f"median batch {statistics.median(durations) * 1000:.0f} ms, slowest {max(durations) * 1000:.0f} ms); "
        f"stored {created:,}; CPU per 1,000 rows: client {cpu['client_cpu_ms_per_1000_rows']:.0f} ms, "
        f"database backend {backend_text} ms"
    )
    return rate, created, cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1, help="concurrent clients, each its own process")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="the bench database (default: as generate_district.py)")
    parser.add_argument("--keep", action="store_true", help="keep the ingested rows instead of deleting them")
    parser.add_argument(
        "--through-api",
        action="store_true",
        help="post each batch as JSON to /api/v1/evidence/bulk/ (in-process Django test client, signed in as the "
        "district admin) instead of calling the service",
    )
    args = parser.parse_args(argv)

    url = bench_database_url(args.database_url)
    setup_django(url)
    from django.db import connection

    from mastery.models import Evidence
    from mastery.services import EVIDENCE_BULK_MAX

    if not 1 <= args.batch <= EVIDENCE_BULK_MAX:
        parser.error(f"--batch must be between 1 and {EVIDENCE_BULK_MAX}")
    if args.workers < 1 or args.rows < args.workers:
        parser.error("need at least one worker and one row per worker")
    source = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    stored_before = Evidence.objects.count()
    print(
        f"Database {database_name(url)}: {stored_before:,} evidence rows stored; ingesting {args.rows:,} rows "
        f"in batches of {args.batch:,} from {args.workers} client(s){' through the API' if args.through_api else ''} "
        f"(items built before the clock starts; {machine_load()})"
    )
    if args.workers == 1:
        items = build_items(args.rows, args.seed, source, prefix="0-")
        results = [
            (timed_batches(items, args.batch, args.through_api), timed_batches(items, args.batch, args.through_api))
        ]
    else:
        connection.close()
        results = run_workers(url, args, source)
    rate, created, cpu = summary("ingest", [result[0] for result in results], args.rows)
    replay_rate, replay_created, _ = summary(
        "replay (all already present)", [result[1] for result in results], args.rows
    )
    stored_rows = Evidence.objects.filter(source=source).count()
    if not args.keep:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM mastery_evidence WHERE source = %s", [source])
            cursor.execute("VACUUM ANALYZE mastery_evidence")
    figures = {
        "rows": args.rows,
        "batch": args.batch,
        "workers": args.workers,
        "through_api": args.through_api,
        "ingest_rows_per_second": round(rate),
        "replay_rows_per_second": round(replay_rate),
        **cpu,
        "stored": created,
        "stored_rows_in_table": stored_rows,
        "replay_stored": replay_created,
        "evidence_rows_before": stored_before,
        "target_rows_per_second": TARGET_ROWS_PER_SECOND,
        "meets_target": rate >= TARGET_ROWS_PER_SECOND,
        "machine_at_end": machine_load(),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
