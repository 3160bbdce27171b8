"""The night (DESIGN.md section 5): one chain of stages per school, fanned out as Celery tasks.

    night_dispatch(date)            fixes the date once; claims each school's first JobRun (pending)
      └─ school_night(school, date)   per school: walks STAGES in order, starts the first unfinished one
           └─ night_chunk(chunk)        per chunk of work: counts the attempt, works, records the result
                └─ run_finalize(run)      when every chunk is finished: closes the run and, when it
                                          succeeded, enqueues school_night again for the next stage
    night_reconcile()               re-enqueues every school night left undone (lost messages, dead workers)

No chords: each chunk updates its own row and the finalizer counts them. The date travels as an ISO
string in every message; the stages never ask the clock what day it is. Every write is an upsert on
a unique key or guarded by a row lock, so a duplicate message or a rerun of a date changes nothing.

Adding a stage (paths and pacing alerts, equity snapshots): write its `plan` and `run_chunk` and
append a `Stage` to `STAGES`. A stage runs only after the previous one succeeded for that school.

The stages are mastery → paths → snapshots. When a school's chain has succeeded, school_advance also
writes the district-as-a-whole snapshot rows if every school of the district has its snapshot for the
date (under the district's row lock, once; a later call finds them up to date).
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from celery import current_app
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Count, Func, IntegerField, Max, Q, Sum
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce
from django.utils import timezone

from mastery.models import MasteryPolicy
from mastery.selectors import mastery_pairs_with_new_evidence
from mastery.services import mastery_recompute
from pathways.services import paths_night
from profiles.models import LearnerProfile, School

from . import services
from .models import JobChunk, JobRun

logger = logging.getLogger(__name__)

Status = JobRun.Status

# Database errors worth retrying with backoff: the connection dropped, the server restarted.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

# Student × competency pairs per chunk: one task, well inside its time limit and the worker's memory
# (mastery_recompute reads and upserts this many pairs in one batch).
PAIRS_PER_CHUNK = 20_000
# Evidence rows take their created_at before their transaction commits; a run looks this far back
# past the previous run's cut-off so a batch committed late is not missed (recomputing a pair
# whose evidence did not change writes nothing).
EVIDENCE_COMMIT_MARGIN = datetime.timedelta(minutes=5)
# With a broker, a chunk untouched this long with nobody working on it is enqueued again.
RESUME_IDLE = datetime.timedelta(minutes=10)
# The reconciler looks at nights this many days back.
RECONCILE_DAYS = 3


@dataclass(frozen=True)
class Plan:
    """What a stage will do for one school and night: what it used (kept in JobRun.details) and one
    payload per chunk (ids only)."""

    details: dict[str, Any]
    payloads: list[dict[str, Any]]


@dataclass(frozen=True)
class Stage:
    name: str  # the JobRun.job of this stage
    plan: Callable[[JobRun], Plan]  # runs once per (stage, date, school), under the run's row lock
    run_chunk: Callable[[JobRun, dict[str, Any]], int]  # does one chunk; returns rows written (upserts)
    unit: str  # the payload list counted in the report ("pairs")


# ---------------------------------------------------------------------------------------------------
# Stage 1: mastery.


def _policy_versions() -> dict[str, int]:
    rows = MasteryPolicy.objects.values("framework_id").annotate(latest=Max("version")).order_by("framework_id")
    return {str(row["framework_id"]): row["latest"] for row in rows}


def _previous_success(run: JobRun) -> JobRun | None:
    return (
        JobRun.objects.filter(job=run.job, school=run.school_id, status=Status.SUCCEEDED, run_date__lt=run.run_date)
        .order_by("-run_date")
        .first()
    )


def _mastery_plan(run: JobRun) -> Plan:
    """Pairs with evidence recorded since the previous successful run; all pairs on the first run,
    when asked (--full) or when a framework has a policy version the previous run did not use."""
    assert run.school_id is not None
    until = timezone.now()
    versions = _policy_versions()
    previous = _previous_success(run)
    since: datetime.datetime | None = None
    changed: list[str] = []
    if run.details.get("full"):
        reason = "requested"
    elif previous is None:
        reason = "first_run"
    else:
        used = previous.details.get("policy_versions", {})
        changed = [framework for framework, version in versions.items() if used.get(framework) != version]
        if changed:
            reason = "policy_changed"
        else:
            reason = "incremental"
            cutoff = previous.details.get("evidence_until")
            previous_until = datetime.datetime.fromisoformat(cutoff) if cutoff else previous.started_at
            since = previous_until - EVIDENCE_COMMIT_MARGIN if previous_until else None
    pairs = sorted(mastery_pairs_with_new_evidence(school_id=run.school_id, since=since))
    details = {
        "reason": reason,
        "recompute_all": since is None,
        "previous_run": previous.pk if previous else None,
        "since": since.isoformat() if since else None,
        "evidence_until": until.isoformat(),
        "policy_versions": versions,
        "policy_changed": changed,
        "pairs": len(pairs),
    }
    payloads = [
        {"pairs": [list(pair) for pair in pairs[start : start + PAIRS_PER_CHUNK]]}
        for start in range(0, len(pairs), PAIRS_PER_CHUNK)
    ]
    return Plan(details=details, payloads=payloads)


def _mastery_chunk(run: JobRun, payload: dict[str, Any]) -> int:
    pairs = [(int(student), int(competency)) for student, competency in payload["pairs"]]
    return mastery_recompute(school_id=run.school_id, pairs=pairs, full=bool(run.details.get("recompute_all")))


# ---------------------------------------------------------------------------------------------------
# Stage 2: paths and pacing alerts (after mastery, which they follow).

# Students per chunk: their paths, steps, mastery states and evidence counts are read in one go.
STUDENTS_PER_CHUNK = 500


def _paths_plan(run: JobRun) -> Plan:
    """Every student of the school: missing paths are generated, states synced, pacing and alerts computed."""
    assert run.school_id is not None
    students = list(LearnerProfile.objects.filter(school_id=run.school_id).order_by("pk").values_list("pk", flat=True))
    payloads = [
        {"students": students[start : start + STUDENTS_PER_CHUNK]}
        for start in range(0, len(students), STUDENTS_PER_CHUNK)
    ]
    return Plan(details={"students": len(students)}, payloads=payloads)


def _paths_chunk(run: JobRun, payload: dict[str, Any]) -> int:
    return paths_night(student_ids=[int(student) for student in payload["students"]], on=run.run_date)


# ---------------------------------------------------------------------------------------------------
# Stage 3: equity and implementation snapshots (after paths, whose pacing and alerts they count).

SNAPSHOTS = "snapshots"


def _snapshots_plan(run: JobRun) -> Plan:
    """One chunk: the school's snapshot is computed in one piece (one frame of the school's students)."""
    assert run.school_id is not None
    return Plan(details={}, payloads=[{"schools": [run.school_id]}])


def _snapshots_chunk(run: JobRun, payload: dict[str, Any]) -> int:
    return sum(services.school_snapshots_night(school_id=int(school), on=run.run_date) for school in payload["schools"])


def district_snapshots_step(*, school_id: int, run_date: datetime.date) -> int | None:
    """After a school's night has succeeded: the district-as-a-whole snapshot rows, once the last school of
    the district is done (see services.district_snapshots_when_complete). Safe to call any number of times."""
    district_id = School.objects.values_list("district_id", flat=True).get(pk=school_id)
    written = services.district_snapshots_when_complete(district_id=district_id, on=run_date, job=SNAPSHOTS)
    if written:
        logger.info("District %s snapshots of %s: %d rows written", district_id, run_date.isoformat(), written)
    return written


# ---------------------------------------------------------------------------------------------------
# The extension point: the stages of a school's night, in order.

STAGES: tuple[Stage, ...] = (
    Stage(name="mastery", plan=_mastery_plan, run_chunk=_mastery_chunk, unit="pairs"),
    Stage(name="paths", plan=_paths_plan, run_chunk=_paths_chunk, unit="students"),
    Stage(name=SNAPSHOTS, plan=_snapshots_plan, run_chunk=_snapshots_chunk, unit="schools"),
)


def stage_by_name(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise KeyError(f"No nightly stage is called {name!r}.")


# ---------------------------------------------------------------------------------------------------
# Orchestration.


def _tasks() -> ModuleType:
    # tasks.py calls into this module; importing it lazily keeps the two from importing each other.
    from monitoring import tasks

    return tasks


def _eager() -> bool:
    return bool(current_app.conf.task_always_eager)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def school_ids_for_night(school_ids: Iterable[int] | None = None) -> list[int]:
    schools = School.objects.order_by("pk")
    if school_ids is not None:
        schools = schools.filter(pk__in=list(school_ids))
    return list(schools.values_list("pk", flat=True))


def night_dispatch(
    *, run_date: datetime.date, school_ids: Sequence[int] | None = None, full: bool = False
) -> list[int]:
    """Start the night of `run_date` for every school (or those given): one school_night task each.

    The first stage's JobRun of each school is claimed in the same transaction, so the night is
    recorded in PostgreSQL even if a message is lost (the reconciler finds it). A school whose night
    exists already is only resumed: a second beat or a rerun of the date does the work once.
    """
    ids = school_ids_for_night(school_ids)
    with transaction.atomic():
        for school_id in ids:
            services.job_run_claim(job=STAGES[0].name, run_date=run_date, school_id=school_id, details={"full": full})
            _tasks().school_night.delay_on_commit(school_id, run_date.isoformat(), full)
    logger.info("Night %s dispatched for %d schools", run_date.isoformat(), len(ids))
    return ids


def school_advance(*, school_id: int, run_date: datetime.date, full: bool = False) -> None:
    """Move one school's night on: start the first stage not yet succeeded, or resume it.

    Stops at a failed stage (later stages build on earlier ones). Safe to call any number of times.
    When every stage has succeeded, the district's snapshot rows are written if this was the district's
    last school to finish.
    """
    for stage in STAGES:
        run = services.job_run_claim(job=stage.name, run_date=run_date, school_id=school_id, details={"full": full})
        if run.status == Status.SUCCEEDED:
            continue
        if run.status == Status.FAILED:
            return
        if run.status == Status.PENDING and stage_start(stage=stage, run_id=run.pk):
            continue  # nothing to do in this stage: on to the next
        if run.status == Status.RUNNING:
            stage_resume(run=run)
        return
    if any(stage.name == SNAPSHOTS for stage in STAGES):  # tests may run the night with fewer stages
        district_snapshots_step(school_id=school_id, run_date=run_date)


def stage_start(*, stage: Stage, run_id: int) -> bool:
    """Plan a pending run once (under its row lock) and enqueue its chunks after commit.

    Returns True when the run is already succeeded (nothing to do), so the caller goes on.
    """
    try:
        with transaction.atomic():
            run = JobRun.objects.select_for_update().get(pk=run_id)
            if run.status != Status.PENDING:  # another delivery planned it meanwhile
                return run.status == Status.SUCCEEDED
            plan = stage.plan(run)
            chunk_ids = services.job_run_plan(run=run, details=plan.details, payloads=plan.payloads)
    except TRANSIENT_ERRORS:
        raise  # the task retries with backoff; the run is still pending
    except Exception as exc:
        logger.exception("Planning job run %s (%s) failed", run_id, stage.name)
        services.job_run_fail(run_id=run_id, error=f"Planning failed: {_describe(exc)}")
        return False
    logger.info("Job run %s (%s) planned: %d chunks", run.pk, stage.name, len(chunk_ids))
    # After the commit above; a chunk whose message is lost stays pending and is resumed later.
    for chunk_id in chunk_ids:
        _tasks().night_chunk.delay_on_commit(chunk_id)
    return run.status == Status.SUCCEEDED


def stage_resume(*, run: JobRun) -> list[int]:
    """Enqueue again the chunks of a running run that nobody is working on, then try to close it."""
    idle_for = datetime.timedelta(0) if _eager() else RESUME_IDLE
    chunk_ids = services.job_chunks_to_resume(run=run, idle_for=idle_for)
    for chunk_id in chunk_ids:
        _tasks().night_chunk.delay_on_commit(chunk_id)
    if chunk_ids:
        logger.info("Job run %s: %d chunks enqueued again", run.pk, len(chunk_ids))
    run_finalize(run_id=run.pk)
    return chunk_ids


def chunk_execute(*, chunk_id: int) -> None:
    """One delivery of a chunk. Transient database errors are re-raised for the task to retry with
    backoff while attempts remain; any other error fails the chunk at once (it would fail again)."""
    start = services.job_chunk_attempt_begin(chunk_id=chunk_id)
    if start.action is services.Attempt.SKIP or start.chunk is None:
        return
    run = JobRun.objects.get(pk=start.chunk.job_run_id)
    if start.action is services.Attempt.GAVE_UP:
        logger.error("Chunk %s of job run %s failed: attempts exhausted", chunk_id, run.pk)
        run_finalize(run_id=run.pk)
        return
    stage = stage_by_name(run.job)
    try:
        with transaction.atomic():
            chunk = services.job_chunk_lock_for_work(chunk_id=chunk_id)
            if chunk is None:  # a duplicate delivery holds it or has finished it
                return
            rows = stage.run_chunk(run, chunk.payload)
            services.job_chunk_succeed(chunk=chunk, rows_written=rows)
    except TRANSIENT_ERRORS as exc:
        status = services.job_chunk_attempt_fail(chunk_id=chunk_id, error=_describe(exc), retry=True)
        logger.warning("Chunk %s of job run %s: transient error, now %s", chunk_id, run.pk, status)
        if status == Status.PENDING:
            if _eager():
                # In-process there is no broker to retry later (and Celery does not retry an eager
                # task that propagates errors): the next attempt runs now, counted the same way.
                chunk_execute(chunk_id=chunk_id)
                return
            raise  # the task retries with backoff (autoretry_for)
    except Exception as exc:
        logger.exception("Chunk %s of job run %s failed", chunk_id, run.pk)
        services.job_chunk_attempt_fail(chunk_id=chunk_id, error=_describe(exc), retry=False)
    run_finalize(run_id=run.pk)


def run_finalize(*, run_id: int) -> JobRun:
    """Close the run if all its chunks are finished; a success moves the school's chain on."""
    run, closed = services.job_run_finalize(run_id=run_id)
    if closed:
        logger.info("Job run %s (%s) %s", run.pk, run.job, run.status)
        if run.status == Status.SUCCEEDED and run.school_id is not None:
            full = bool(run.details.get("full"))
            _tasks().school_night.delay_on_commit(run.school_id, run.run_date.isoformat(), full)
    return run


def _chain_finished(runs: dict[str, JobRun]) -> bool:
    for stage in STAGES:
        run = runs.get(stage.name)
        if run is None or run.status in (Status.PENDING, Status.RUNNING):
            return False
        if run.status == Status.FAILED:
            return True
    return True


def _nights(
    run_dates: Iterable[datetime.date], school_ids: Iterable[int] | None
) -> dict[tuple[int, datetime.date], dict]:
    runs = JobRun.objects.filter(job__in=[stage.name for stage in STAGES], run_date__in=list(run_dates))
    if school_ids is not None:
        runs = runs.filter(school_id__in=list(school_ids))
    nights: dict[tuple[int, datetime.date], dict[str, JobRun]] = {}
    for run in runs.filter(school__isnull=False):
        assert run.school_id is not None
        nights.setdefault((run.school_id, run.run_date), {})[run.job] = run
    return nights


def night_unfinished(*, run_date: datetime.date, school_ids: Sequence[int]) -> list[int]:
    """Schools whose night has a stage still to run (a failed stage ends a night)."""
    nights = _nights([run_date], school_ids)
    return [school_id for school_id in school_ids if not _chain_finished(nights.get((school_id, run_date), {}))]


def night_reconcile(*, today: datetime.date | None = None) -> int:
    """Enqueue again every school night of the last RECONCILE_DAYS days that is recorded but not
    finished. Returns how many school nights were enqueued."""
    today = today or timezone.localdate()
    dates = [today - datetime.timedelta(days=offset) for offset in range(RECONCILE_DAYS + 1)]
    count = 0
    for (school_id, run_date), runs in sorted(_nights(dates, None).items()):
        if _chain_finished(runs):
            continue
        first = runs.get(STAGES[0].name)
        full = bool(first.details.get("full")) if first else False
        _tasks().school_night.delay_on_commit(school_id, run_date.isoformat(), full)
        count += 1
    if count:
        logger.info("Reconciler enqueued %d unfinished school nights", count)
    return count


# ---------------------------------------------------------------------------------------------------
# Reporting: what one invocation wrote, from the chunk rows (so a rerun reports 0).


def night_progress(*, run_date: datetime.date, school_ids: Sequence[int]) -> dict[str, dict[str, int]]:
    """Per stage: units and rows of the succeeded chunks so far, failed chunks, and runs by status."""
    progress: dict[str, dict[str, int]] = {}
    for stage in STAGES:
        chunks = JobChunk.objects.filter(
            job_run__job=stage.name, job_run__run_date=run_date, job_run__school_id__in=list(school_ids)
        )
        units = Func(KeyTransform(stage.unit, "payload"), function="jsonb_array_length", output_field=IntegerField())
        totals = chunks.aggregate(
            units=Coalesce(Sum(units, filter=Q(status=Status.SUCCEEDED)), 0),
            rows=Coalesce(Sum("rows_written", filter=Q(status=Status.SUCCEEDED)), 0),
            failed=Count("pk", filter=Q(status=Status.FAILED)),
        )
        runs = dict(
            JobRun.objects.filter(job=stage.name, run_date=run_date, school_id__in=list(school_ids))
            .values_list("status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        progress[stage.name] = {
            stage.unit: totals["units"],
            "rows_written": totals["rows"],
            "chunks_failed": totals["failed"],
            **{f"runs_{status}": runs.get(status, 0) for status in Status.values},
        }
    return progress


def _night_status(*, run_date: datetime.date, school_ids: Sequence[int]) -> str:
    nights = _nights([run_date], school_ids)
    runs = [run for school_id in school_ids for run in nights.get((school_id, run_date), {}).values()]
    if any(run.status == Status.FAILED for run in runs):
        return "failed"
    if night_unfinished(run_date=run_date, school_ids=school_ids):
        return "incomplete"
    return "succeeded"


def night_run(
    *,
    run_date: datetime.date,
    school_ids: Sequence[int] | None = None,
    full: bool = False,
    wait_seconds: float = 3600,
    poll_seconds: float = 1.0,
) -> dict[str, Any]:
    """Run (or resume) the night of `run_date` and report what this call wrote, per stage.

    In-process (no broker) the work is done when dispatch returns; with a broker this waits up to
    `wait_seconds` for the workers. Counts are differences of the chunk rows before and after, so a
    rerun of a finished date reports 0 rows.
    """
    started = time.monotonic()
    ids = school_ids_for_night(school_ids)
    before = night_progress(run_date=run_date, school_ids=ids)
    night_dispatch(run_date=run_date, school_ids=ids, full=full)
    if not _eager():
        while night_unfinished(run_date=run_date, school_ids=ids) and time.monotonic() - started < wait_seconds:
            time.sleep(poll_seconds)
    after = night_progress(run_date=run_date, school_ids=ids)
    stages: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        now, then = after[stage.name], before[stage.name]
        stages[stage.name] = {
            stage.unit: now[stage.unit] - then[stage.unit],
            "rows_written": now["rows_written"] - then["rows_written"],
            "chunks_failed": now["chunks_failed"],
            "runs": {status: now[f"runs_{status}"] for status in Status.values},
        }
    return {
        "date": run_date.isoformat(),
        "schools": len(ids),
        "status": _night_status(run_date=run_date, school_ids=ids),
        "seconds": round(time.monotonic() - started, 2),
        "stages": stages,
    }
