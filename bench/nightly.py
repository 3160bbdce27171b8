"""The nightly mastery recompute on the bench district, timed, through real Celery workers.

    .venv/bin/python bench/nightly.py                       # two workers (--concurrency 1 each), Redis DB 3
    .venv/bin/python bench/nightly.py --mode in-process     # no broker: run_nightly does the work itself
    .venv/bin/python bench/nightly.py --database-url postgres://postgres@127.0.0.1:5432/plplatform_bench_2m \\
        --evidence 2000000 --new-rows 200000,20000          # the same students with a tenth of the history

The database is the bench database of the other scripts (bench/common.py). Without a district there it is
generated first (generate_district.py with --students, --competencies, --evidence, --district-seed);
--replace drops and rebuilds it. Its mastery and monitoring apps are then migrated and it is brought back to
the district as generated: mastery states and the nightly's job rows are emptied, and the evidence and policy
versions that earlier runs of this script added are deleted. The district's own evidence is left alone.

Every night is `manage.py run_nightly --date D`, run as a subprocess and timed from start to exit (Django
start-up included). With --mode celery (the default) this script first starts --workers Celery workers with
--concurrency pool children each (prefork) on the bench database and the broker --broker-url (Redis DB 3 by
default: the worker test only claims empty DBs, and this script keeps DB 3 non-empty while it runs and flushes
it at the end); run_nightly then only dispatches and waits. With --mode in-process there is no broker and
run_nightly does all the work in its own process.

--stages: the targets are about the mastery stage, and other stages of the night are being built, so by
default only the mastery stage runs: the workers are `nightly.py _worker mastery worker ...` and the night is
`nightly.py _night mastery --date D`, i.e. `celery -A plplatform worker` and `manage.py run_nightly` with
`monitoring.pipeline.STAGES` cut to that stage before they start (the pool's children are forked after it).
--stages all runs the literal commands and the whole night; the mastery figures are then taken from the
JobRun rows (from the night's start until the last school's mastery run finished).

Memory: a thread samples the RSS of every process doing the recompute (each worker's main process and pool
children; in-process, run_nightly) every 0.1 s and also reads the kernel's peak (VmHWM, reset at the start of
each night), and reports the peak of the largest single process and of each worker as a whole (main process
plus children, sampled together).

The nights, in order (dates from --first-date, one day apart):

1. first run: no mastery state yet, every pair with evidence is computed and inserted;
2. policy change: a new policy version (same method and parameters) for every framework, so every pair
   is recomputed and every state updated (its policy changes);
3. for each --new-rows size (default 1 % and 0.1 % of the stored evidence): that many new evidence rows
   are recorded through `mastery.services.evidence_record_bulk` in batches of 5,000 (the API's path; each
   batch its own transaction, `created_at` set by the service at insert, so after the previous night's
   cut-off); then the script waits until the newest row is older than the pipeline's commit margin
   (EVIDENCE_COMMIT_MARGIN, 5 minutes: evidence recorded during the day is; --settle to change), and runs
   the next night, which is incremental. After the first size, the same night is run again (nothing to
   do: 0 rows), and then the next night with nothing new (0 rows).

It prints one line per phase (with the machine's load: other work on a shared machine slows every figure)
and, last, one JSON object with every figure and whether each target is met: full recompute <= 10 minutes,
incremental night after 1 % new evidence <= 60 s, a rerun and a night with nothing new write 0 rows, every
worker <= 512 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    ROOT,
    bench_database_url,
    build_items,
    district_exists,
    django_environment,
    machine_load,
    require_bench_name,
    setup_django,
)

DEFAULT_BROKER = "redis://127.0.0.1:6379/3"
BROKER_CLAIM_KEY = "plplatform:bench-nightly-claim"
NEW_EVIDENCE_SOURCE = "bench-nightly"
POLICY_NOTE = "bench-nightly: policy change"
FIRST_DATE = datetime.date(2026, 11, 20)
BATCH = 5000
MB = 1024 * 1024
TARGETS = {
    "full_recompute_seconds": 600,
    "incremental_seconds": 60,
    "worker_peak_rss_mb": 512,
    "rerun_rows_written": 0,
}


# --- memory -------------------------------------------------------------------------------------------


def _peak_rss(pid: int) -> int:
    """The kernel's peak resident set of a process (VmHWM), in bytes; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak_rss(pid: int) -> None:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


class MemoryWatch:
    """Samples the RSS of some process trees (a root and its descendants) every `interval` seconds."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.roots: dict[str, int] = {}  # label → pid
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.reset()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join()

    def watch(self, label: str, pid: int) -> None:
        with self.lock:
            self.roots[label] = pid

    def unwatch(self, label: str) -> None:
        self._sample()
        with self.lock:
            self.roots.pop(label, None)

    def reset(self) -> None:
        """New peaks from now on (also the kernel's, for the processes alive now)."""
        with self.lock:
            self.process_peak: dict[int, int] = {}
            self.tree_peak: dict[str, int] = {}
            self.processes_seen: set[int] = set()
            for pid in self._pids_by_root().get("*", []):
                _reset_peak_rss(pid)

    def _pids_by_root(self) -> dict[str, list[int]]:
        trees: dict[str, list[int]] = {"*": []}
        for label, pid in self.roots.items():
            try:
                root = psutil.Process(pid)
                pids = [pid] + [child.pid for child in root.children(recursive=True)]
            except psutil.Error:
                pids = []
            trees[label] = pids
            trees["*"].extend(pids)
        return trees

    def _sample(self) -> None:
        with self.lock:
            for label, pids in self._pids_by_root().items():
                if label == "*":
                    continue
                total = 0
                for pid in pids:
                    try:
                        rss = psutil.Process(pid).memory_info().rss
                    except psutil.Error:
                        continue
                    total += rss
                    self.processes_seen.add(pid)
                    self.process_peak[pid] = max(self.process_peak.get(pid, 0), rss, _peak_rss(pid))
                self.tree_peak[label] = max(self.tree_peak.get(label, 0), total)

    def _run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self._sample()

    def figures(self) -> dict[str, Any]:
        self._sample()
        with self.lock:
            return {
                "peak_rss_mb_largest_process": round(max(self.process_peak.values(), default=0) / MB),
                "peak_rss_mb_per_worker": {label: round(peak / MB) for label, peak in sorted(self.tree_peak.items())},
                "processes_sampled": len(self.processes_seen),
            }


# --- workers and the broker ---------------------------------------------------------------------------


@contextlib.contextmanager
def claimed_broker(url: str) -> Iterator[None]:
    """The Redis database of --broker-url, for this run only: refused unless empty (or left by an earlier
    run of this script), marked as ours while we run, flushed afterwards."""
    import redis

    client = redis.Redis.from_url(url)
    keys = client.dbsize()
    if keys and not client.exists(BROKER_CLAIM_KEY):
        raise SystemExit(f"The broker database {url} holds {keys} keys of someone else; choose another --broker-url.")
    client.flushdb()  # an earlier run's leftovers (its claim key was there)
    client.set(BROKER_CLAIM_KEY, f"{os.getpid()}")
    try:
        yield
    finally:
        client.flushdb()
        client.close()


@contextlib.contextmanager
def celery_workers(
    count: int, concurrency: int, stages: str, env: dict[str, str], log_dir: Path, watch: MemoryWatch
) -> Iterator[list[subprocess.Popen]]:
    """`count` real workers (prefork, `concurrency` children each), ready when this yields; stopped after
    (warm shutdown, then killed if one lingers). Each in its own process group, so its children go too."""
    processes: list[subprocess.Popen] = []
    logs = []
    try:
        for number in range(1, count + 1):
            log_path = log_dir / f"worker-{number}.log"
            log = open(log_path, "w")  # noqa: SIM115 (closed below)
            logs.append((log, log_path))
            process = subprocess.Popen(
                worker_command(number, concurrency, stages),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            processes.append(process)
            watch.watch(f"worker-{number}", process.pid)
        deadline = time.monotonic() + 120
        for (_, log_path), process in zip(logs, processes, strict=True):
            while " ready." not in log_path.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"A Celery worker did not start; see {log_path}.")
                time.sleep(0.2)
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log, _ in logs:
            log.close()


# --- the database -------------------------------------------------------------------------------------


def reset_district() -> None:
    """Back to the district as generated: no mastery states, no job rows, no evidence or policy versions
    that this script added."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE mastery_masterystate, monitoring_jobchunk, monitoring_jobrun")
        cursor.execute("DELETE FROM mastery_evidence WHERE source = %s", [NEW_EVIDENCE_SOURCE])
        deleted = cursor.rowcount
        cursor.execute("DELETE FROM mastery_masterypolicy WHERE note = %s", [POLICY_NOTE])
    if deleted:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) mastery_evidence")


def district_counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM profiles_school), (SELECT count(*) FROM profiles_learnerprofile), "
            "(SELECT count(*) FROM mastery_competency WHERE assessable), (SELECT count(*) FROM mastery_evidence), "
            "pg_database_size(current_database())"
        )
        schools, students, competencies, evidence, size = cursor.fetchone()
    return {
        "schools": schools,
        "students": students,
        "competencies": competencies,
        "evidence_rows": evidence,
        "database_gb": round(size / 1024**3, 1),
    }


def new_policy_versions() -> int:
    """A new version of every framework's latest policy, same method and parameters: a policy change."""
    from mastery.models import MasteryPolicy

    created = 0
    latest: dict[int, MasteryPolicy] = {}
    for policy in MasteryPolicy.objects.order_by("framework_id", "-version"):
        latest.setdefault(policy.framework_id, policy)
    for policy in latest.values():
        MasteryPolicy.objects.create(
            framework_id=policy.framework_id,
            version=policy.version + 1,
            method=policy.method,
            parameters=policy.parameters,
            note=POLICY_NOTE,
        )
        created += 1
    return created


def append_evidence(rows: int, label: str, seed: int) -> dict[str, Any]:
    """`rows` new evidence rows through the service, batches of 5,000, each its own transaction."""
    from mastery.services import evidence_record_bulk

    items = build_items(rows, seed, NEW_EVIDENCE_SOURCE, prefix=f"{label}-")
    started = time.perf_counter()
    stored = 0
    for start in range(0, rows, BATCH):
        stored += sum(result.created for result in evidence_record_bulk(items=items[start : start + BATCH]))
    seconds = time.perf_counter() - started
    return {"rows": rows, "stored": stored, "seconds": round(seconds, 2), "rows_per_second": round(rows / seconds)}


def night_details(run_date: datetime.date) -> dict[str, Any]:
    from monitoring.models import JobChunk, JobRun

    runs = JobRun.objects.filter(job="mastery", run_date=run_date)
    reasons = sorted({run.details.get("reason", "?") for run in runs})
    return {
        "reason": ",".join(reasons),
        "chunks": JobChunk.objects.filter(job_run__in=runs).count(),
    }


# --- the nights ---------------------------------------------------------------------------------------


def night_command(run_date: datetime.date, stages: str) -> list[str]:
    """The night: `manage.py run_nightly` itself, or (fewer stages) the same command with the stages restricted."""
    arguments = ["--date", run_date.isoformat(), "--wait", "7200"]
    if stages == "all":
        return [sys.executable, "manage.py", "run_nightly", *arguments]
    return [sys.executable, str(Path(__file__).resolve()), "_night", stages, *arguments]


def worker_command(number: int, concurrency: int, stages: str) -> list[str]:
    """`celery -A plplatform worker ...`, or (fewer stages) the same worker with the stages restricted."""
    arguments = [
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "--loglevel=INFO",
        f"--hostname=bench-nightly-{number}-{uuid.uuid4().hex[:6]}@%h",
    ]
    if stages == "all":
        return [sys.executable, "-m", "celery", "-A", "plplatform", *arguments]
    return [sys.executable, str(Path(__file__).resolve()), "_worker", stages, *arguments]


def restrict_stages(stages: str) -> None:
    """Only these stages of the night (by name, comma-separated), in their order; the pipeline reads
    monitoring.pipeline.STAGES whenever it walks the stages, so replacing it is enough."""
    from monitoring import pipeline

    wanted = [name.strip() for name in stages.split(",") if name.strip()]
    known = [stage.name for stage in pipeline.STAGES]
    if not wanted or set(wanted) - set(known):
        raise SystemExit(f"--stages must name some of {', '.join(known)} (or be 'all'), got {stages!r}.")
    pipeline.STAGES = tuple(stage for stage in pipeline.STAGES if stage.name in wanted)


def stage_seconds(run_date: datetime.date, started_at: datetime.datetime) -> dict[str, float]:
    """Per stage: from the night's start to the last school's run of that stage finishing."""
    from django.db.models import Max

    from monitoring.models import JobRun

    runs = JobRun.objects.filter(run_date=run_date, finished_at__gte=started_at)  # not those of an earlier run
    rows = runs.values("job").annotate(last=Max("finished_at")).order_by()
    return {row["job"]: round((row["last"] - started_at).total_seconds(), 1) for row in rows}


def run_night(
    run_date: datetime.date, env: dict[str, str], watch: MemoryWatch, in_process: bool, log_dir: Path, stages: str
) -> dict[str, Any]:
    """The night of `run_date` as a subprocess, timed; its report plus the memory peaks."""
    from django.utils import timezone

    watch.reset()
    stderr_path = log_dir / f"run_nightly-{run_date.isoformat()}.log"
    with open(stderr_path, "w") as stderr:
        started_at = timezone.now()
        started = time.perf_counter()
        process = subprocess.Popen(
            night_command(run_date, stages), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        if in_process:
            watch.watch("run_nightly", process.pid)
        stdout, _ = process.communicate()
        seconds = time.perf_counter() - started
        if in_process:
            watch.unwatch("run_nightly")
    lines = stdout.strip().splitlines()
    if process.returncode or not lines:
        raise SystemExit(f"run_nightly --date {run_date} failed (exit {process.returncode}); see {stderr_path}.")
    report = json.loads(lines[-1])
    mastery = report["stages"]["mastery"]
    return {
        "date": run_date.isoformat(),
        "seconds": round(seconds, 1),
        "pipeline_seconds": report["seconds"],
        "stage_seconds": stage_seconds(run_date, started_at),
        "status": report["status"],
        "pairs": mastery["pairs"],
        "rows_written": mastery["rows_written"],
        "chunks_failed": mastery["chunks_failed"],
        **night_details(run_date),
        **watch.figures(),
        "machine_after": machine_load(),
    }


def print_night(phase: str, night: dict[str, Any]) -> None:
    rate = night["pairs"] / night["mastery_seconds"] if night["mastery_seconds"] else 0
    workers = night["peak_rss_mb_per_worker"]
    per_worker = ", ".join(f"{label} {mb} MB" for label, mb in workers.items())
    stages = ""
    if set(night["stage_seconds"]) - {"mastery"}:
        stages = " (stages done after: " + ", ".join(f"{k} {v:.1f} s" for k, v in night["stage_seconds"].items()) + ")"
    print(
        f"{phase} (night {night['date']}, {night['reason']}): {night['pairs']:,} pairs, {night['rows_written']:,} "
        f"rows written in {night['mastery_seconds']:.1f} s{stages} ({rate:,.0f} pairs/s; {night['chunks']} chunks, "
        f"{night['chunks_failed']} failed, {night['status']}); peak RSS: largest process "
        f"{night['peak_rss_mb_largest_process']} MB; {per_worker}; {night['machine_after']}",
        flush=True,
    )


def settle(appended_at: float, seconds: float) -> None:
    """Wait until the newest evidence is older than the pipeline's commit margin."""
    remaining = appended_at + seconds - time.monotonic()
    if remaining > 0:
        print(f"  waiting {remaining:.0f} s until the new evidence is older than the commit margin", flush=True)
        time.sleep(remaining)


def parse_sizes(text: str | None, stored: int) -> list[int]:
    if text:
        return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    return [max(1, round(stored * 0.01)), max(1, round(stored * 0.001))]


def _django() -> None:
    """Django set up from the environment the parent gave (bench database, broker)."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def worker_entry(stages: str, celery_arguments: list[str]) -> int:
    """Internal (`nightly.py _worker STAGES worker ...`): a Celery worker of the project's app whose nights
    have only these stages. The pool's children are forked from here, so they inherit the restriction."""
    _django()
    restrict_stages(stages)
    from plplatform.celery import app

    app.worker_main(celery_arguments)
    return 0


def night_entry(stages: str, command_arguments: list[str]) -> int:
    """Internal (`nightly.py _night STAGES --date D ...`): `manage.py run_nightly` with only these stages."""
    _django()
    restrict_stages(stages)
    from django.core.management import call_command

    call_command("run_nightly", *command_arguments)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_worker"]:
        return worker_entry(argv[1], argv[2:])
    if argv[:1] == ["_night"]:
        return night_entry(argv[1], argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="the bench database (default: as the other bench scripts)")
    parser.add_argument("--mode", choices=("celery", "in-process"), default="celery")
    parser.add_argument("--broker-url", default=DEFAULT_BROKER, help=f"Redis for --mode celery ({DEFAULT_BROKER})")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=1, help="pool children per worker (default 1)")
    parser.add_argument(
        "--stages",
        default="mastery",
        help="the stages of the night to run: 'mastery' (default), a comma-separated list, or 'all' "
        "(then the commands are literally `manage.py run_nightly` and `celery -A plplatform worker`)",
    )
    parser.add_argument(
        "--new-rows", help="comma-separated sizes of new evidence (default: 1 %% and 0.1 %% of the stored rows)"
    )
    parser.add_argument("--first-date", default=FIRST_DATE.isoformat(), help="the first night (YYYY-MM-DD)")
    parser.add_argument(
        "--settle",
        type=float,
        help="seconds to wait after recording new evidence before the night (default: the commit margin)",
    )
    parser.add_argument("--seed", type=int, default=11, help="seed of the new evidence")
    parser.add_argument("--replace", action="store_true", help="drop the bench database and generate it again")
    generation = parser.add_argument_group("a district generated when missing (generate_district.py)")
    generation.add_argument("--students", type=int, default=50_000)
    generation.add_argument("--competencies", type=int, default=200)
    generation.add_argument("--evidence", type=int, default=20_000_000)
    generation.add_argument("--district-seed", type=int, default=20260824)
    args = parser.parse_args(argv)

    url = bench_database_url(args.database_url)
    name = require_bench_name(url, "reset")
    started = time.perf_counter()
    if args.replace or not district_exists(url):
        command = [
            sys.executable,
            str(Path(__file__).resolve().parent / "generate_district.py"),
            f"--database-url={url}",
            f"--students={args.students}",
            f"--competencies={args.competencies}",
            f"--evidence={args.evidence}",
            f"--seed={args.district_seed}",
        ] + (["--replace"] if args.replace else [])
        print(f"Generating the district in {name}: {' '.join(command[2:])}", flush=True)
        subprocess.run(command, check=True, env={key: v for key, v in os.environ.items() if key != "REDIS_URL"})

    in_process = args.mode == "in-process"
    setup_django(url)
    from django.core.management import call_command

    from monitoring.pipeline import EVIDENCE_COMMIT_MARGIN

    if args.stages != "all":
        restrict_stages(args.stages)  # checks the names
    for app in ("mastery", "monitoring"):  # the apps the mastery stage writes (and what they depend on)
        call_command("migrate", app, verbosity=0, interactive=False)
    if args.stages == "all":
        call_command("migrate", verbosity=0, interactive=False)
    step = time.perf_counter()
    reset_district()
    counts = district_counts()
    print(
        f"Database {name}: {counts['schools']} schools, {counts['students']:,} students, {counts['competencies']} "
        f"competencies, {counts['evidence_rows']:,} evidence rows, {counts['database_gb']} GB; reset to the "
        f"generated district in {time.perf_counter() - step:.1f} s; {machine_load()}; mode {args.mode}"
        + ("" if in_process else f" ({args.workers} worker(s) × concurrency {args.concurrency}, {args.broker_url})"),
        flush=True,
    )
    sizes = parse_sizes(args.new_rows, counts["evidence_rows"])
    settle_seconds = EVIDENCE_COMMIT_MARGIN.total_seconds() + 1 if args.settle is None else args.settle
    log_dir = Path(tempfile.mkdtemp(prefix="bench-nightly-"))
    env = django_environment(url, LOG_LEVEL="INFO")
    env = {key: value for key, value in env.items() if not key.startswith("CELERY") and key != "REDIS_URL"}
    if not in_process:
        env["REDIS_URL"] = args.broker_url

    watch = MemoryWatch()
    watch.start()
    nights: dict[str, dict[str, Any]] = {}
    appended: list[dict[str, Any]] = []
    dates = iter(datetime.date.fromisoformat(args.first_date) + datetime.timedelta(days=n) for n in range(100))
    with contextlib.ExitStack() as stack:
        if not in_process:
            stack.enter_context(claimed_broker(args.broker_url))
            stack.enter_context(celery_workers(args.workers, args.concurrency, args.stages, env, log_dir, watch))
            print(f"  {args.workers} Celery worker(s) ready; logs in {log_dir}", flush=True)

        def night(key: str, phase: str, run_date: datetime.date) -> dict[str, Any]:
            nights[key] = result = run_night(run_date, env, watch, in_process, log_dir, args.stages)
            # The figure the targets are about: the whole night when it is only the mastery stage, else
            # from the night's start until the last school's mastery run finished.
            only_mastery = args.stages == "mastery"
            result["mastery_seconds"] = result["seconds"] if only_mastery else result["stage_seconds"].get("mastery", 0)
            print_night(phase, nights[key])
            return nights[key]

        night("full_first_run", "full recompute, first run", next(dates))
        versions = new_policy_versions()
        print(f"  {versions} new policy version(s), same parameters", flush=True)
        night("full_policy_change", "full recompute, policy change", next(dates))
        for number, size in enumerate(sizes):
            share = f"{size / counts['evidence_rows'] * 100:g} %"
            append = append_evidence(size, f"n{number}", args.seed + number)
            appended_at = time.monotonic()
            append["share"] = share
            appended.append(append)
            print(
                f"new evidence ({share}): {append['stored']:,} rows recorded through evidence_record_bulk in "
                f"{append['seconds']:.1f} s ({append['rows_per_second']:,} rows/s, 1 client)",
                flush=True,
            )
            settle(appended_at, settle_seconds)
            run_date = next(dates)
            night(f"incremental_{number}", f"incremental after {size:,} new rows ({share})", run_date)
            if number == 0:
                night("rerun_same_date", "the same night again", run_date)
                night("nothing_new", "next night, nothing new", next(dates))
    watch.stop()

    full = [nights["full_first_run"], nights["full_policy_change"]]
    incremental = [nights[f"incremental_{n}"] for n in range(len(sizes))]
    peak_worker = max(
        [max(night["peak_rss_mb_per_worker"].values(), default=0) for night in nights.values()], default=0
    )
    peak_process = max(night["peak_rss_mb_largest_process"] for night in nights.values())
    figures = {
        "database": name,
        "mode": args.mode,
        "workers": 0 if in_process else args.workers,
        "concurrency": 0 if in_process else args.concurrency,
        **counts,
        "stages": args.stages,
        "full_recompute_seconds": max(night["mastery_seconds"] for night in full),
        "full_recompute_pairs": nights["full_first_run"]["pairs"],
        "incremental": [
            {
                "new_rows": size,
                "share": append["share"],
                "seconds": night["mastery_seconds"],
                "pairs": night["pairs"],
                "rows_written": night["rows_written"],
            }
            for size, append, night in zip(sizes, appended, incremental, strict=True)
        ],
        "rerun_rows_written": nights["rerun_same_date"]["rows_written"],
        "nothing_new_rows_written": nights["nothing_new"]["rows_written"],
        "nothing_new_pairs": nights["nothing_new"]["pairs"],
        "peak_rss_mb_largest_process": peak_process,
        "peak_rss_mb_worker": peak_worker,
        "append": appended,
        "nights": nights,
        "log_dir": str(log_dir),
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    stored = counts["evidence_rows"]
    one_percent = [
        night["mastery_seconds"] for size, night in zip(sizes, incremental, strict=True) if size >= 0.01 * stored
    ]
    zero_rows = figures["rerun_rows_written"] == 0 and figures["nothing_new_rows_written"] == 0
    all_succeeded = all(night["chunks_failed"] == 0 and night["status"] == "succeeded" for night in nights.values())
    figures["targets"] = {
        "full_recompute_le_600_s": figures["full_recompute_seconds"] <= TARGETS["full_recompute_seconds"],
        "incremental_1_percent_le_60_s": bool(one_percent) and one_percent[0] <= TARGETS["incremental_seconds"],
        "rerun_and_nothing_new_write_0_rows": zero_rows,
        "worker_peak_rss_le_512_mb": max(peak_worker, peak_process) <= TARGETS["worker_peak_rss_mb"],
        "every_night_succeeded": all_succeeded,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
