"""Writes and use cases of the pathways app, one module per use case; import them from here.

- paths: path generation, teacher edits of a path, step states that follow mastery, and
  `evidence_record_and_update` (record evidence, recompute mastery, update the path at once)
- pacing: pacing figures of every path, nightly
- alerts: pacing alerts (open after two school days, resolve themselves), acknowledge and resolve
- night: the nightly "paths" stage for a set of students (monitoring/pipeline.py calls it)
- choice, activities: student choice within limits and activities (another engineer's modules: they
  add their own export line below)
"""

from .alerts import alert_acknowledge, alert_resolve, alerts_evaluate
from .night import paths_night
from .pacing import pacing_compute
from .paths import (
    evidence_record_and_update,
    evidence_record_bulk_and_update,
    path_dates_set,
    path_generate,
    path_step_add,
    path_step_pin,
    path_step_remove,
    path_step_reorder,
    path_step_skip,
    path_step_unskip,
    path_sync_states,
    paths_generate_missing,
)

__all__ = [
    "alert_acknowledge",
    "alert_resolve",
    "alerts_evaluate",
    "evidence_record_and_update",
    "evidence_record_bulk_and_update",
    "pacing_compute",
    "path_dates_set",
    "path_generate",
    "path_step_add",
    "path_step_pin",
    "path_step_remove",
    "path_step_reorder",
    "path_step_skip",
    "path_step_unskip",
    "path_sync_states",
    "paths_generate_missing",
    "paths_night",
]
