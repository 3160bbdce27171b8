"""Reads the pathways API needs beyond pathways/selectors.py and pathways/choice_selectors.py.

Callers pass rows they may see (profiles/access.py decides); nothing here checks access.
"""

from __future__ import annotations

from collections.abc import Iterable

from pathways import selectors
from pathways.models import ChoiceLimits, PathStep


def step_view(*, step: PathStep) -> selectors.StepView:
    """One step as its path shows it (with what a locked step waits for)."""
    view = selectors.student_path(path=step.path)
    return next(v for v in view.steps if v.step.pk == step.pk)


def choice_limits_of_sections(*, section_ids: Iterable[int]) -> dict[int, ChoiceLimits]:
    """The limits set in these sections, by section id, required-first competencies preloaded. A section
    whose limits nobody set has no entry (the model's defaults apply to it)."""
    rows = ChoiceLimits.objects.filter(section_id__in=list(section_ids)).prefetch_related("required_first")
    return {row.section_id: row for row in rows}
