"""The nightly "paths" stage for a set of students (monitoring/pipeline.py runs it per chunk of a school):
generate missing paths, sync step states with mastery, store pacing, evaluate alerts. Set-based and
idempotent: a rerun of the same night writes nothing."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence

from django.db import transaction

from .alerts import alerts_apply
from .pacing import NightFacts, pacing_of, pacing_store
from .paths import Graph, path_sync_states, paths_generate_missing

logger = logging.getLogger(__name__)


@transaction.atomic
def paths_night(*, student_ids: Sequence[int], on: datetime.date) -> int:
    """One night's path work for these students; returns the rows written (created or changed)."""
    graph = Graph.load()
    created = paths_generate_missing(student_ids=student_ids, on=on)
    synced = path_sync_states(student_ids=student_ids)
    facts = NightFacts.load(student_ids=student_ids, on=on, graph=graph)
    figures = pacing_of(facts)
    paced = pacing_store(figures)
    alerted = alerts_apply(facts, figures)
    logger.info(
        "paths night %s, %d students: %d path rows created, %d steps synced, %d pacing rows, %d alert rows",
        on.isoformat(),
        len(student_ids),
        created,
        synced,
        paced,
        alerted,
    )
    return created + synced + paced + alerted
