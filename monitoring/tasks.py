"""Celery tasks of the night: thin wrappers over monitoring.pipeline. Arguments are ids, ISO dates
and flags only, never model objects or personal data. Every task is safe to deliver twice
(acks_late with reject_on_worker_lost redelivers after a lost worker; see monitoring/services.py).

Retries with backoff only for transient database errors; the hard time limit of each task stays
below half the broker's visibility timeout (settings CELERY_BROKER_TRANSPORT_OPTIONS).
"""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from . import pipeline, services

MINUTE = 60
RETRY_ON_DATABASE_ERRORS = {
    "autoretry_for": pipeline.TRANSIENT_ERRORS,
    "retry_backoff": 5,  # 5 s, 10 s, 20 s, ... with jitter
    "retry_backoff_max": 5 * MINUTE,
    "retry_jitter": True,
}


@shared_task(soft_time_limit=4 * MINUTE, time_limit=5 * MINUTE, max_retries=5, **RETRY_ON_DATABASE_ERRORS)
def nightly_dispatch(date_iso: str | None = None) -> None:
    """Beat: start tonight for every school. The date is fixed here, once, and passed down."""
    run_date = datetime.date.fromisoformat(date_iso) if date_iso else timezone.localdate()
    pipeline.night_dispatch(run_date=run_date)


@shared_task(soft_time_limit=10 * MINUTE, time_limit=12 * MINUTE, max_retries=5, **RETRY_ON_DATABASE_ERRORS)
def school_night(school_id: int, date_iso: str, full: bool = False) -> None:
    """One school's chain of stages: start or resume the first unfinished stage."""
    pipeline.school_advance(school_id=school_id, run_date=datetime.date.fromisoformat(date_iso), full=full)


# max_retries is only a backstop: the attempts counted in JobChunk stop retries at MAX_ATTEMPTS.
@shared_task(
    soft_time_limit=20 * MINUTE, time_limit=25 * MINUTE, max_retries=services.MAX_ATTEMPTS, **RETRY_ON_DATABASE_ERRORS
)
def night_chunk(chunk_id: int) -> None:
    """One chunk of one stage's work."""
    pipeline.chunk_execute(chunk_id=chunk_id)


@shared_task(soft_time_limit=4 * MINUTE, time_limit=5 * MINUTE, max_retries=5, **RETRY_ON_DATABASE_ERRORS)
def nightly_reconcile() -> None:
    """Beat, every few minutes in the night: enqueue again whatever was recorded but left undone."""
    pipeline.night_reconcile()
