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
from django.utils import timezone

from .models import JobChunk, JobRun

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
