"""Two workers on two chunks of the same run: the lock one holds while working must not stop the other.

JobChunk's default ordering joins its JobRun, so a plain FOR UPDATE in the chunk queries also locked the
run's row; with SKIP LOCKED a second worker then took every other chunk of that school for busy and
skipped it until the reconciler came round. These tests hold a chunk's work lock on one connection
(a thread, as a worker process would) and start and lock a sibling chunk on another.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from monitoring import services
from monitoring.models import JobChunk, JobRun
from monitoring.services import Attempt

RUN_DATE = datetime.date(2026, 11, 20)


@pytest.fixture
def three_chunks(transactional_db: None) -> list[int]:
    """A running job run with three pending chunks; committed, so other connections see it."""
    run = services.job_run_claim(job="mastery", run_date=RUN_DATE, school_id=None)
    with transaction.atomic():
        locked = JobRun.objects.select_for_update().get(pk=run.pk)
        return services.job_run_plan(run=locked, details={}, payloads=[{"pairs": []}] * 3)


@contextmanager
def chunk_worked_elsewhere(chunk_id: int) -> Iterator[None]:
    """Another connection begins the chunk and holds its work lock (open transaction) until the block ends."""
    locked, release, failures = threading.Event(), threading.Event(), []

    def work() -> None:
        try:
            assert services.job_chunk_attempt_begin(chunk_id=chunk_id).action is Attempt.RUN
            with transaction.atomic():
                assert services.job_chunk_lock_for_work(chunk_id=chunk_id) is not None
                locked.set()
                release.wait(timeout=30)
        except BaseException as exc:  # reported to the test below
            failures.append(exc)
            locked.set()
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        assert not failures, failures
        yield
    finally:
        release.set()
        thread.join(timeout=30)
    assert not failures, failures


def in_own_transaction(call: Callable[[], object]) -> object:
    with transaction.atomic():
        return call()


def test_a_sibling_chunk_starts_and_locks_while_another_is_worked(three_chunks: list[int]) -> None:
    first, second, third = three_chunks
    with chunk_worked_elsewhere(first):
        started = services.job_chunk_attempt_begin(chunk_id=second)
        assert started.action is Attempt.RUN
        locked = in_own_transaction(lambda: services.job_chunk_lock_for_work(chunk_id=second))
        assert isinstance(locked, JobChunk) and locked.pk == second

        # The chunk being worked elsewhere is busy: a duplicate delivery skips it and counts nothing.
        assert services.job_chunk_attempt_begin(chunk_id=first).action is Attempt.SKIP
        assert in_own_transaction(lambda: services.job_chunk_lock_for_work(chunk_id=first)) is None

    attempts = dict(JobChunk.objects.filter(pk__in=three_chunks).values_list("pk", "attempts"))
    statuses = dict(JobChunk.objects.filter(pk__in=three_chunks).values_list("pk", "status"))
    assert attempts == {first: 1, second: 1, third: 0}
    assert statuses == {first: "running", second: "running", third: "pending"}


def test_the_run_row_stays_free_while_a_chunk_is_worked(three_chunks: list[int]) -> None:
    run_id = JobChunk.objects.get(pk=three_chunks[0]).job_run_id
    with chunk_worked_elsewhere(three_chunks[0]):
        # The finalizer and planner lock the run's row; a worked chunk must not hold it.
        free = in_own_transaction(lambda: JobRun.objects.select_for_update(skip_locked=True).filter(pk=run_id).exists())
        assert free is True
