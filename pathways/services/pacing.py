"""Pacing of learning paths (DESIGN.md section 4), computed nightly and stored on the path.

`NightFacts.load` reads, set-based, what pacing and alerts need for a set of students on one night:
their paths whose term covers the date, with steps, calendars, mastery and evidence counts.
`pacing_store` writes every path's figures with one UPDATE that skips unchanged rows, so a rerun of a
night writes nothing.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from mastery.models import MasteryState, MasteryStatus
from pathways import rules
from pathways.models import LearningPath, PathStep, StepChoice
from profiles.selectors import term_calendars

from .paths import Graph, Mastered, mastered_by_student

State = PathStep.State


def path_settings() -> rules.PathSettings:
    return rules.PathSettings.from_settings(settings.PLPLATFORM)


@dataclass(frozen=True)
class StepFacts:
    step_id: int
    competency_id: int
    reason: str
    is_target: bool
    state: str


@dataclass
class PathFacts:
    path_id: int
    student_id: int
    framework_id: int
    grade: int
    start_date: datetime.date
    target_date: datetime.date
    chosen_targets: bool
    calendar: rules.SchoolCalendar
    on: datetime.date  # the school day this night evaluates (the last one on or before the run date)
    steps: list[StepFacts] = field(default_factory=list)

    @property
    def goals(self) -> str:
        return "the path's goals" if self.chosen_targets else f"the grade {self.grade} goals"

    def targets(self) -> list[StepFacts]:
        """T: the steps that count toward the path's targets, skipped ones left out."""
        return [s for s in self.steps if s.is_target and s.state != State.SKIPPED]


@dataclass(frozen=True)
class EvidenceDay:
    """Evidence of one student on one competency on one day (school time zone)."""

    competency_id: int
    day: datetime.date
    count: int
    scored: int


@dataclass
class NightFacts:
    paths: list[PathFacts]
    graph: Graph
    mastered: dict[int, Mastered]
    needs_review: dict[int, dict[int, tuple[float | None, datetime.date | None]]]
    evidence: dict[int, list[EvidenceDay]]  # by student, in day order
    recent: dict[tuple[int, int], list[tuple[int, datetime.datetime]]]  # (student, framework) -> last records
    choices: dict[int, list[datetime.date]]  # step id -> days it was chosen (pending or approved)
    settings: rules.PathSettings

    @classmethod
    def load(cls, *, student_ids: Iterable[int], on: datetime.date, graph: Graph | None = None) -> NightFacts:
        ids = sorted({int(s) for s in student_ids})
        config = path_settings()
        paths = _paths(ids, on)
        students = sorted({p.student_id for p in paths})
        return cls(
            paths=paths,
            graph=graph or Graph.load(),
            mastered=mastered_by_student(students),
            needs_review=_needs_review(students),
            evidence=_evidence_days(students, on),
            recent=_recent_records(students, on, config.avoiding_records),
            choices=_choices(students),
            settings=config,
        )


def _paths(student_ids: list[int], on: datetime.date) -> list[PathFacts]:
    rows = list(
        LearningPath.objects.filter(student_id__in=student_ids, term__start_date__lte=on, term__end_date__gte=on)
        .order_by("pk")
        .values_list(
            "pk",
            "student_id",
            "framework_id",
            "student__learner_profile__grade_level",
            "start_date",
            "target_date",
            "chosen_target_ids",
            "term_id",
        )
    )
    calendars = term_calendars(term_ids={row[7] for row in rows})
    paths: dict[int, PathFacts] = {}
    for pk, student_id, framework_id, grade, start, target, chosen, term_id in rows:
        term = calendars[term_id]
        calendar = rules.SchoolCalendar.of(term.start_date, term.end_date, term.holidays)
        paths[pk] = PathFacts(
            pk, student_id, framework_id, grade, start, target, bool(chosen), calendar, calendar.on_or_before(on)
        )
    steps = PathStep.objects.filter(path_id__in=list(paths)).order_by("path_id", "order")
    for step_id, path_id, competency_id, reason, is_target, state in steps.values_list(
        "pk", "path_id", "competency_id", "reason", "is_target", "state"
    ):
        paths[path_id].steps.append(StepFacts(step_id, competency_id, reason, is_target, state))
    return list(paths.values())


def _needs_review(student_ids: list[int]) -> dict[int, dict[int, tuple[float | None, datetime.date | None]]]:
    result: dict[int, dict[int, tuple[float | None, datetime.date | None]]] = {}
    rows = MasteryState.objects.filter(student_id__in=student_ids).values_list(
        "student_id", "competency_id", "status", "override_status", "estimate", "first_mastered_at"
    )
    for student_id, competency_id, status, override, estimate, first_at in rows:
        if (override or status) == MasteryStatus.NEEDS_REVIEW:
            day = timezone.localdate(first_at) if first_at else None
            result.setdefault(student_id, {})[competency_id] = (estimate, day)
    return result


def _end_of(on: datetime.date) -> datetime.datetime:
    """The first moment after the school day `on`, in the school's time zone."""
    return timezone.make_aware(datetime.datetime.combine(on + datetime.timedelta(days=1), datetime.time.min))


_EVIDENCE_DAYS = """
SELECT e.student_id, e.competency_id, (e.observed_at AT TIME ZONE %(tz)s)::date AS day,
       count(*), count(*) FILTER (WHERE e.kind = 'score')
FROM mastery_evidence e
WHERE e.student_id = ANY(%(students)s::bigint[]) AND e.observed_at < %(end)s
  AND e.voided_at IS NULL  -- withdrawn by its source: as if it never arrived
GROUP BY 1, 2, 3
ORDER BY 1, 3, 2
"""


def _evidence_days(student_ids: list[int], on: datetime.date) -> dict[int, list[EvidenceDay]]:
    result: dict[int, list[EvidenceDay]] = {}
    if not student_ids:
        return result
    with connection.cursor() as cursor:
        cursor.execute(
            _EVIDENCE_DAYS, {"tz": timezone.get_current_timezone_name(), "students": student_ids, "end": _end_of(on)}
        )
        for student_id, competency_id, day, count, scored in cursor.fetchall():
            result.setdefault(student_id, []).append(EvidenceDay(competency_id, day, count, scored))
    return result


_RECENT_RECORDS = """
SELECT student_id, framework_id, competency_id, observed_at FROM (
    SELECT e.student_id, c.framework_id, e.competency_id, e.observed_at,
           row_number() OVER (PARTITION BY e.student_id, c.framework_id ORDER BY e.observed_at DESC, e.id DESC) AS n
    FROM mastery_evidence e JOIN mastery_competency c ON c.id = e.competency_id
    WHERE e.student_id = ANY(%(students)s::bigint[]) AND e.observed_at < %(end)s AND e.voided_at IS NULL
) ranked
WHERE n <= %(limit)s
ORDER BY student_id, framework_id, observed_at DESC
"""


def _recent_records(
    student_ids: list[int], on: datetime.date, limit: int
) -> dict[tuple[int, int], list[tuple[int, datetime.datetime]]]:
    result: dict[tuple[int, int], list[tuple[int, datetime.datetime]]] = {}
    if not student_ids:
        return result
    with connection.cursor() as cursor:
        cursor.execute(_RECENT_RECORDS, {"students": student_ids, "end": _end_of(on), "limit": limit})
        for student_id, framework_id, competency_id, observed_at in cursor.fetchall():
            result.setdefault((student_id, framework_id), []).append((competency_id, observed_at))
    return result


def _choices(student_ids: list[int]) -> dict[int, list[datetime.date]]:
    """step id -> the days its choices still standing (pending or approved) were made."""
    result: dict[int, list[datetime.date]] = {}
    rows = StepChoice.objects.filter(
        step__path__student_id__in=student_ids, status__in=[StepChoice.Status.PENDING, StepChoice.Status.APPROVED]
    ).values_list("step_id", "chosen_at")
    for step_id, chosen_at in rows:
        result.setdefault(step_id, []).append(timezone.localdate(chosen_at))
    return result


# --- the figures ---------------------------------------------------------------------------------------


def path_pacing(path: PathFacts, mastered: Mastered, config: rules.PathSettings) -> rules.Pacing:
    """Pacing of one path on its night: A0, A and the window count from the mastery days of T."""
    targets = [s.competency_id for s in path.targets()]
    window_start = path.calendar.window_start(path.on, config.velocity_window)
    days = [mastered.on.get(c, None) for c in targets if c in mastered.on]
    return rules.pacing(
        calendar=path.calendar,
        on=path.on,
        start_date=path.start_date,
        target_date=path.target_date,
        target_count=len(targets),
        mastered_at_start=sum(1 for day in days if day is not None and day < path.start_date),
        mastered=len(days),
        mastered_in_window=sum(1 for day in days if day is not None and window_start <= day <= path.on),
        settings=config,
    )


_STORE_PACING = """
UPDATE pathways_learningpath p
SET pacing_on = v.pacing_on, pacing_status = v.pacing_status, pacing = v.pacing::jsonb,
    targets_mastered_at_start = v.a0
FROM unnest(%(ids)s::bigint[], %(days)s::date[], %(statuses)s::text[], %(figures)s::text[], %(a0)s::int[])
     AS v(id, pacing_on, pacing_status, pacing, a0)
WHERE p.id = v.id
  AND (p.pacing_on, p.pacing_status, p.pacing, p.targets_mastered_at_start)
      IS DISTINCT FROM (v.pacing_on, v.pacing_status, v.pacing::jsonb, v.a0)
"""


def pacing_store(figures: dict[int, rules.Pacing]) -> int:
    """Write each path's pacing; returns the paths whose figures changed."""
    if not figures:
        return 0
    ids = sorted(figures)
    params: dict[str, Any] = {
        "ids": ids,
        "days": [figures[i].on for i in ids],
        "statuses": [figures[i].status for i in ids],
        "figures": [json.dumps(figures[i].as_numbers(), sort_keys=True) for i in ids],
        "a0": [figures[i].mastered_at_start for i in ids],
    }
    with connection.cursor() as cursor:
        cursor.execute(_STORE_PACING, params)
        return max(cursor.rowcount, 0)


def pacing_of(facts: NightFacts) -> dict[int, rules.Pacing]:
    return {
        path.path_id: path_pacing(path, facts.mastered.get(path.student_id, Mastered()), facts.settings)
        for path in facts.paths
    }


def pacing_compute(*, student_ids: Iterable[int], on: datetime.date) -> int:
    """Compute and store the pacing of these students' paths on the night of `on`; returns rows changed."""
    return pacing_store(pacing_of(NightFacts.load(student_ids=student_ids, on=on)))
