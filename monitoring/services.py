"""Bookkeeping of the nightly jobs: `JobRun` (one per job, date and school) and its `JobChunk` rows.

PostgreSQL records what must happen; the broker only rings the bell. Every function here is atomic
and safe to call twice with the same arguments (a redelivered or duplicated message):

- a run is claimed with `get_or_create` on its unique key, so a second beat finds the first row;
- a run is planned once: its chunks are created only while it is still pending, under a row lock;
- a chunk counts its attempts in the database before any work, so a message that keeps killing
  its worker is given up after `MAX_ATTEMPTS` instead of being redelivered forever;
- a finished chunk (succeeded or failed) is never run again.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from profiles.models import District, School

from . import selectors
from .analytics.cells import district_cells, suppress_district_cells, suppress_school_cells
from .analytics.implementation import district_implementation_row, implementation_rows
from .dashboard_selectors import suppression_min_n
from .models import (
    EQUITY_FIGURES,
    IMPLEMENTATION_FIGURES,
    EquitySnapshot,
    ImplementationSnapshot,
    JobChunk,
    JobRun,
)

# DESIGN.md section 5: after 3 attempts a chunk is marked failed, not looped.
MAX_ATTEMPTS = 3
ERROR_MAX_CHARS = 2000

Status = JobRun.Status
TERMINAL = (Status.SUCCEEDED, Status.FAILED)


def _error_text(error: str) -> str:
    return error[:ERROR_MAX_CHARS]


@transaction.atomic
def job_run_claim(*, job: str, run_date: datetime.date, school_id: int | None, details: dict | None = None) -> JobRun:
    """The run of `job` for this date and school, created pending on first call; later calls return it as is."""
    key: dict[str, Any] = {"job": job, "run_date": run_date, "school_id": school_id}
    run, _ = JobRun.objects.get_or_create(**key, defaults={"details": dict(details or {})})
    return run


@transaction.atomic
def job_run_plan(*, run: JobRun, details: dict[str, Any], payloads: Sequence[dict[str, Any]]) -> list[int]:
    """Record the plan of a pending run (locked by the caller): its details and one chunk per payload.

    Returns the ids of the chunks to enqueue. A run with nothing to do succeeds at once.
    """
    if run.status != Status.PENDING:
        raise ValueError(f"Job run {run.pk} is {run.status}; only a pending run can be planned.")
    now = timezone.now()
    chunks = JobChunk.objects.bulk_create(
        [JobChunk(job_run=run, index=index, payload=payload) for index, payload in enumerate(payloads)]
    )
    run.details = {**run.details, **details, "chunks": len(chunks)}
    run.started_at = now
    run.error = ""
    if chunks:
        run.status = Status.RUNNING
    else:
        run.status = Status.SUCCEEDED
        run.finished_at = now
        run.details.update(rows_written=0, chunks_failed=0)
    run.save(update_fields=["details", "started_at", "finished_at", "status", "error"])
    return [chunk.pk for chunk in chunks]


class Attempt(enum.Enum):
    RUN = "run"  # this delivery should do the work
    SKIP = "skip"  # finished already, or another worker holds it right now
    GAVE_UP = "gave_up"  # the redelivery cap was reached: the chunk is now failed


@dataclass(frozen=True)
class AttemptStart:
    action: Attempt
    chunk: JobChunk | None


@transaction.atomic
def job_chunk_attempt_begin(*, chunk_id: int) -> AttemptStart:
    """Count one more attempt of a chunk before its work starts (committed on return).

    A chunk whose row is locked is being worked on by a live worker (the work holds the lock), so a
    duplicate message skips it. A chunk left running by a dead worker is unlocked and is retried,
    counting the attempt; at `MAX_ATTEMPTS` it is marked failed instead.
    """
    # of=("self",): JobChunk's default ordering joins its JobRun, and a plain FOR UPDATE would lock that
    # row too, so every other chunk of the run would look busy while one of them is being worked on.
    chunk = (
        JobChunk.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=chunk_id).defer("payload").first()
    )
    if chunk is None or chunk.status in TERMINAL:
        return AttemptStart(Attempt.SKIP, chunk)
    if chunk.attempts >= MAX_ATTEMPTS:
        chunk.status = Status.FAILED
        chunk.error = _error_text(f"Gave up after {chunk.attempts} attempts. Last error: {chunk.error or 'none'}")
        chunk.save(update_fields=["status", "error", "updated_at"])
        return AttemptStart(Attempt.GAVE_UP, chunk)
    chunk.attempts += 1
    chunk.status = Status.RUNNING
    chunk.save(update_fields=["attempts", "status", "updated_at"])
    return AttemptStart(Attempt.RUN, chunk)


def job_chunk_lock_for_work(*, chunk_id: int) -> JobChunk | None:
    """Inside the caller's work transaction: the running chunk, locked until that transaction ends.

    None when another delivery of the same chunk holds it or has finished it meanwhile.
    """
    chunks = JobChunk.objects.select_for_update(skip_locked=True, of=("self",))  # the chunk's row only (see above)
    return chunks.filter(pk=chunk_id, status=Status.RUNNING).first()


def job_chunk_succeed(*, chunk: JobChunk, rows_written: int) -> None:
    """Inside the work transaction: the chunk's result commits together with its work."""
    chunk.status = Status.SUCCEEDED
    chunk.rows_written = rows_written
    chunk.error = ""
    chunk.save(update_fields=["status", "rows_written", "error", "updated_at"])


@transaction.atomic
def job_chunk_attempt_fail(*, chunk_id: int, error: str, retry: bool) -> str:
    """Record a failed attempt. With `retry` and attempts left, the chunk goes back to pending
    (the caller retries it); otherwise it is failed for good. Returns the chunk's new status."""
    chunk = JobChunk.objects.select_for_update().get(pk=chunk_id)
    if chunk.status in TERMINAL:
        return chunk.status
    chunk.error = _error_text(error)
    chunk.status = Status.PENDING if retry and chunk.attempts < MAX_ATTEMPTS else Status.FAILED
    chunk.save(update_fields=["status", "error", "updated_at"])
    return chunk.status


@transaction.atomic
def job_run_finalize(*, run_id: int) -> tuple[JobRun, bool]:
    """Close a run when all its chunks are finished: succeeded when all succeeded, failed otherwise.

    Returns the run and whether this call closed it (so only one caller moves the chain on).
    """
    run = JobRun.objects.select_for_update().get(pk=run_id)
    if run.status != Status.RUNNING:
        return run, False
    if run.chunks.exclude(status__in=TERMINAL).exists():
        return run, False
    chunks = list(run.chunks.order_by("index").values_list("index", "status", "rows_written"))
    failed = [index for index, status, _ in chunks if status == Status.FAILED]
    run.status = Status.FAILED if failed else Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.error = f"Chunks {', '.join(map(str, failed))} of {len(chunks)} failed; see their errors." if failed else ""
    run.details = {
        **run.details,
        "rows_written": sum(rows for _, status, rows in chunks if status == Status.SUCCEEDED),
        "chunks_failed": len(failed),
    }
    run.save(update_fields=["status", "finished_at", "error", "details"])
    return run, True


def job_chunks_to_resume(*, run: JobRun, idle_for: datetime.timedelta) -> list[int]:
    """Chunks of a running run that nobody is working on and that were last touched `idle_for` ago:
    pending ones whose message may be lost, and running ones left by a dead worker (their row is
    not locked). Re-enqueueing one that is still queued is harmless: the duplicate finds it done."""
    now = timezone.now()
    with transaction.atomic():
        chunk_ids = list(
            JobChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(job_run=run, status__in=[Status.PENDING, Status.RUNNING], updated_at__lte=now - idle_for)
            .order_by("index")
            .values_list("pk", flat=True)
        )
        # Touched now, so the next reconciler pass leaves them to this delivery for `idle_for`.
        JobChunk.objects.filter(pk__in=chunk_ids).update(updated_at=now)
    return chunk_ids


@transaction.atomic
def job_run_fail(*, run_id: int, error: str) -> JobRun:
    """Mark a run failed (its planning failed); a finished run is left as it is."""
    run = JobRun.objects.select_for_update().get(pk=run_id)
    if run.status not in TERMINAL:
        run.status = Status.FAILED
        run.finished_at = timezone.now()
        run.error = _error_text(error)
        run.save(update_fields=["status", "finished_at", "error"])
    return run


# ---------------------------------------------------------------------------------------------------
# Equity and implementation snapshots (the night's last stage; DESIGN.md sections 4 and 5).
#
# One school per call: its rows are read with a few set-based queries (selectors), computed with pandas
# (analytics), suppressed, and stored with one upsert per table; rows of that school and night that are no
# longer computed are deleted, so a rerun replaces the night and older nights stay as history. The
# district-as-a-whole rows are written once every school of the district has its snapshot for the night.

EQUITY_KEY = ["date", "district", "school", "grade", "section", "dimension", "value"]
EQUITY_UPDATED = [*EQUITY_FIGURES, "computed_at"]
IMPLEMENTATION_KEY = ["date", "district", "school", "section"]
IMPLEMENTATION_UPDATED = [*IMPLEMENTATION_FIGURES, "computed_at"]


def _school_lookup(school_id: int | None) -> dict[str, Any]:
    """One school's rows, or the district-as-a-whole rows (school null)."""
    return {"school__isnull": True} if school_id is None else {"school_id": school_id}


def _equity_row(cell: dict[str, Any], *, district_id: int, on: datetime.date, now: datetime.datetime) -> EquitySnapshot:
    return EquitySnapshot(
        date=on,
        district_id=district_id,
        school_id=cell["school"],
        grade=cell["grade"],
        section_id=cell["section"],
        dimension=cell["dimension"],
        value=cell["value"],
        **{name: cell[name] for name in EQUITY_FIGURES},
        computed_at=now,
    )


@transaction.atomic
def equity_snapshot_replace(
    *, district_id: int, school_id: int | None, on: datetime.date, cells: Sequence[dict[str, Any]]
) -> int:
    """Store the night's cells of one school (or of the district as a whole: `school_id` None), replacing
    that school's rows of that night. Returns the rows written (upserted plus deleted)."""
    now = timezone.now()
    rows = [_equity_row(cell, district_id=district_id, on=on, now=now) for cell in cells]
    EquitySnapshot.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=EQUITY_KEY, update_fields=EQUITY_UPDATED, batch_size=2000
    )
    kept = {(cell["grade"], cell["section"], cell["dimension"], cell["value"]) for cell in cells}
    existing = EquitySnapshot.objects.filter(date=on, district_id=district_id, **_school_lookup(school_id))
    stale = [
        pk
        for pk, *key in existing.values_list("pk", "grade", "section_id", "dimension", "value")
        if tuple(key) not in kept
    ]
    deleted, _ = EquitySnapshot.objects.filter(pk__in=stale).delete()
    return len(rows) + deleted


@transaction.atomic
def implementation_snapshot_replace(
    *, district_id: int, school_id: int | None, on: datetime.date, rows: Sequence[dict[str, Any]]
) -> int:
    """The same for the implementation rows of one school (or the district)."""
    now = timezone.now()
    objects = [
        ImplementationSnapshot(
            date=on,
            district_id=district_id,
            school_id=row["school"],
            section_id=row["section"],
            **{name: row[name] for name in IMPLEMENTATION_FIGURES},
            computed_at=now,
        )
        for row in rows
    ]
    ImplementationSnapshot.objects.bulk_create(
        objects, update_conflicts=True, unique_fields=IMPLEMENTATION_KEY, update_fields=IMPLEMENTATION_UPDATED
    )
    kept = {row["section"] for row in rows}
    existing = ImplementationSnapshot.objects.filter(date=on, district_id=district_id, **_school_lookup(school_id))
    stale = [pk for pk, section in existing.values_list("pk", "section_id") if section not in kept]
    deleted, _ = ImplementationSnapshot.objects.filter(pk__in=stale).delete()
    return len(objects) + deleted


def school_snapshots_night(*, school_id: int, on: datetime.date) -> int:
    """Compute, suppress and store one school's snapshots for the night. Returns the rows written."""
    # pandas is imported here, by the night's workers only: web processes read stored snapshots.
    from .analytics.equity import school_cells

    district_id = School.objects.values_list("district_id", flat=True).get(pk=school_id)
    cells = school_cells(selectors.school_equity_facts(school_id=school_id, on=on))
    suppress_school_cells(cells, min_n=suppression_min_n())
    implementation = implementation_rows(selectors.school_implementation_facts(school_id=school_id, on=on))
    with transaction.atomic():
        written = equity_snapshot_replace(district_id=district_id, school_id=school_id, on=on, cells=cells)
        written += implementation_snapshot_replace(
            district_id=district_id, school_id=school_id, on=on, rows=implementation
        )
    return written


def _district_up_to_date(*, district_id: int, on: datetime.date, finished: datetime.datetime) -> bool:
    """The district rows of the night were computed after the last school snapshot finished."""
    computed = EquitySnapshot.objects.filter(date=on, district_id=district_id, school__isnull=True).aggregate(
        oldest=Min("computed_at")
    )["oldest"]
    return computed is not None and computed >= finished


@transaction.atomic
def district_snapshots_when_complete(*, district_id: int, on: datetime.date, job: str) -> int | None:
    """Write the district-as-a-whole rows of the night once every school of the district has succeeded
    in the snapshot stage `job`. Under the district's row lock, so two schools finishing together write
    them once; a call after they are written (a rerun, the next school's chain) writes nothing.

    Returns the rows written, 0 when they are up to date, None while a school is still to finish.
    """
    District.objects.select_for_update().filter(pk=district_id).first()
    schools = selectors.district_school_ids(district_id=district_id)
    runs = JobRun.objects.filter(job=job, run_date=on, school_id__in=schools, status=Status.SUCCEEDED)
    done = runs.aggregate(count=Count("pk"), last=Max("finished_at"))
    if not schools or done["count"] < len(schools):
        return None
    if _district_up_to_date(district_id=district_id, on=on, finished=done["last"]):
        return 0
    school_rows = selectors.stored_school_cells(district_id=district_id, on=on)
    cells = district_cells(school_rows)
    suppress_district_cells(cells, school_rows, min_n=suppression_min_n())
    written = equity_snapshot_replace(district_id=district_id, school_id=None, on=on, cells=cells)
    implementation = district_implementation_row(selectors.stored_school_implementation(district_id=district_id, on=on))
    written += implementation_snapshot_replace(district_id=district_id, school_id=None, on=on, rows=[implementation])
    return written
