"""Reads of the mastery app."""

from __future__ import annotations

from django.db import connection

from .models import Competency

# Walks from the proposed prerequisite down its own prerequisites; if it reaches the dependent
# competency, the new edge would close a cycle. Returns the ids along the way.
_CYCLE_SQL = """
WITH RECURSIVE walk(node, trail) AS (
    SELECT %(start)s::bigint, ARRAY[%(start)s::bigint]
  UNION ALL
    SELECT p.prerequisite_id, walk.trail || p.prerequisite_id
    FROM mastery_prerequisite p JOIN walk ON p.competency_id = walk.node
    WHERE NOT p.prerequisite_id = ANY(walk.trail)
)
SELECT trail FROM walk WHERE node = %(target)s LIMIT 1
"""


def prerequisite_cycle_path(*, competency_id: int, prerequisite_id: int) -> list[str]:
    """Codes along the cycle that the edge prerequisite → competency would close, or [] if none."""
    with connection.cursor() as cursor:
        cursor.execute(_CYCLE_SQL, {"start": prerequisite_id, "target": competency_id})
        row = cursor.fetchone()
    if row is None:
        return []
    # trail runs prerequisite → ... → competency following "requires" edges; the new edge closes it.
    trail: list[int] = row[0]
    codes = dict(Competency.objects.filter(id__in=trail).values_list("id", "code"))
    return [codes[node] for node in [competency_id, *trail]]
