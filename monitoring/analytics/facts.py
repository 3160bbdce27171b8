"""The plain rows one school's snapshot is computed from (ids and values only, no names), as the
selectors read them and the analytics take them. No pandas here, so the readers need not import it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SchoolFacts:
    """What one school's cells are computed from, as plain rows (ids only, no names).

    students: one mapping per student: student_id, grade, sex and the Demographics flags
        (american_indian_or_alaska_native ... hispanic_or_latino, english_learner, iep, section_504,
        economically_disadvantaged); None where the student has no Demographics row.
    sections: section id -> its grade level (sections of the term covering the night).
    memberships: (section id, student id) for every active student enrollment in those sections.
    targets: (student id, grade-level targets on their current paths, of which mastered).
    growth: (student id, competencies mastered since the term start).
    pacing: (student id, pacing status) per current path with a status.
    below_grade: students with unmastered below-grade competencies on a current path.
    grade_level_work: students with grade-level (or higher) evidence or an active grade-level step in the
        access window.
    open_alerts: (student id, unresolved alerts).
    """

    school_id: int
    students: Sequence[Mapping[str, Any]]
    sections: Mapping[int, int] = field(default_factory=dict)
    memberships: Sequence[tuple[int, int]] = ()
    targets: Sequence[tuple[int, int, int]] = ()
    growth: Sequence[tuple[int, int]] = ()
    pacing: Sequence[tuple[int, str]] = ()
    below_grade: Sequence[int] = ()
    grade_level_work: Sequence[int] = ()
    open_alerts: Sequence[tuple[int, int]] = ()
