"""Reads of the monitoring app: the plain rows the nightly snapshots are computed from (one school and
night at a time, a few set-based queries, ids only), and the stored school rows the district sums.

Nothing here checks access: these feed the nightly pipeline, not pages.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from mastery.models import MasteryStatus
from pathways.models import LearningPath, PacingAlert, PathStep, StepChoice
from pathways.rules import GRADE_LEVEL_TARGET, SchoolCalendar
from profiles.models import Enrollment, LearnerProfile, School, Section
from profiles.selectors import school_year_terms_on, term_calendars

from .analytics.cells import RACE_FLAGS, YES_NO_DIMENSIONS
from .analytics.facts import SchoolFacts
from .analytics.implementation import ImplementationFacts
from .models import EQUITY_FIGURES, EquitySnapshot, ImplementationSnapshot

# Implementation health: "evidence per teacher per week" counts the 7 calendar days ending on the night;
# the median days to acknowledge an alert looks at the alerts acknowledged in the 30 days ending on it.
EVIDENCE_WEEK_DAYS = 7
ACKNOWLEDGED_WINDOW_DAYS = 30

UNRESOLVED = [PacingAlert.Status.OPEN, PacingAlert.Status.ACKNOWLEDGED]
STANDING_CHOICES = [StepChoice.Status.PENDING, StepChoice.Status.APPROVED]


def _start_of(day: datetime.date) -> datetime.datetime:
    """The first moment of `day` in the school's time zone (TIME_ZONE)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@dataclass(frozen=True)
class NightWindow:
    """The dates one school's snapshot uses: the night, its term's start (growth counts from there) and the
    first day of the access window (the last GRADE_LEVEL_ACCESS_DAYS school days ending on the night)."""

    on: datetime.date
    term_start: datetime.date | None
    access_from: datetime.date

    @property
    def end(self) -> datetime.datetime:
        """The first moment after the night's day: figures count what happened up to the end of `on`."""
        return _start_of(self.on + datetime.timedelta(days=1))


def night_window(*, school_id: int, on: datetime.date) -> NightWindow:
    """The school-year term covering the night (its holidays make the school days); without one, every
    weekday counts and growth has no start."""
    platform: dict[str, Any] = settings.PLPLATFORM
    days = int(platform["GRADE_LEVEL_ACCESS_DAYS"])
    term_id = school_year_terms_on(school_ids=[school_id], on=on).get(school_id)
    if term_id is None:
        calendar = SchoolCalendar.of(on, on, ())
        return NightWindow(on, None, calendar.window_start(calendar.on_or_before(on), days))
    term = term_calendars(term_ids=[term_id])[term_id]
    calendar = SchoolCalendar.of(term.start_date, term.end_date, term.holidays)
    return NightWindow(on, term.start_date, calendar.window_start(calendar.on_or_before(on), days))


# --- the equity facts of one school ---------------------------------------------------------------------

_DEMOGRAPHIC_FIELDS = ("sex", *RACE_FLAGS, "two_or_more_races", "hispanic_or_latino", *YES_NO_DIMENSIONS)


def _students(school_id: int) -> list[dict[str, Any]]:
    """Each student's grade and demographics (None where the student has no Demographics row). One query."""
    columns = {f"user__demographics__{name}": name for name in _DEMOGRAPHIC_FIELDS}
    rows = LearnerProfile.objects.filter(school_id=school_id).order_by().values("user_id", "grade_level", *columns)
    return [
        {"student_id": row["user_id"], "grade": row["grade_level"], **{columns[k]: row[k] for k in columns}}
        for row in rows
    ]


def _current_sections(school_id: int, on: datetime.date) -> dict[int, int]:
    sections = Section.objects.filter(school_id=school_id, term__start_date__lte=on, term__end_date__gte=on)
    return dict(sections.order_by("pk").values_list("pk", "grade_level"))


def _enrollments(section_ids: Sequence[int], role: str) -> list[tuple[int, int]]:
    rows = Enrollment.objects.filter(section_id__in=list(section_ids), role=role, active=True)
    return list(rows.order_by("section_id", "user_id").values_list("section_id", "user_id"))


# Per student, over their paths of the term covering the night (skipped steps left out):
# grade-level targets and how many are mastered (effective status: a teacher override wins); whether any
# below-grade step is unmastered (working below grade level); and, for those, whether they had grade-level
# (or higher) work in the access window in the path's framework: evidence, or a grade-level step chosen
# (choice pending or approved). The same facts as the held_back alert (pathways/services/alerts.py).
_PATH_FACTS = f"""
WITH students AS (
    SELECT user_id AS student_id, grade_level AS grade FROM profiles_learnerprofile WHERE school_id = %(school)s
), paths AS (
    SELECT p.id, p.student_id, p.framework_id, s.grade
    FROM pathways_learningpath p
    JOIN students s ON s.student_id = p.student_id
    JOIN profiles_term t ON t.id = p.term_id
    WHERE t.start_date <= %(on)s AND t.end_date >= %(on)s
), steps AS (
    SELECT p.id AS path_id, p.student_id, p.grade, st.reason, c.grade_level AS competency_grade,
           COALESCE(COALESCE(ms.override_status, ms.status) = '{MasteryStatus.MASTERED}', false) AS mastered
    FROM paths p
    JOIN pathways_pathstep st ON st.path_id = p.id AND st.state <> '{PathStep.State.SKIPPED}'
    JOIN mastery_competency c ON c.id = st.competency_id
    LEFT JOIN mastery_masterystate ms ON ms.student_id = p.student_id AND ms.competency_id = st.competency_id
), per_path AS (
    SELECT path_id, student_id,
           count(*) FILTER (WHERE reason = '{GRADE_LEVEL_TARGET}') AS targets,
           count(*) FILTER (WHERE reason = '{GRADE_LEVEL_TARGET}' AND mastered) AS targets_mastered,
           bool_or(competency_grade < grade AND NOT mastered) AS below_grade
    FROM steps GROUP BY path_id, student_id
)
SELECT pp.student_id, sum(pp.targets)::int, sum(pp.targets_mastered)::int, bool_or(pp.below_grade),
       bool_or(pp.below_grade AND (
           EXISTS (
               SELECT 1 FROM mastery_evidence e JOIN mastery_competency c ON c.id = e.competency_id
               WHERE e.student_id = p.student_id AND c.framework_id = p.framework_id AND c.grade_level >= p.grade
                 AND e.observed_at >= %(access_from)s AND e.observed_at < %(end)s AND e.voided_at IS NULL
           ) OR EXISTS (
               SELECT 1 FROM pathways_pathstep st
               JOIN mastery_competency c ON c.id = st.competency_id
               JOIN pathways_stepchoice ch ON ch.step_id = st.id
               WHERE st.path_id = p.id AND st.state <> '{PathStep.State.SKIPPED}' AND c.grade_level >= p.grade
                 AND ch.status = ANY(%(standing)s) AND ch.chosen_at >= %(access_from)s AND ch.chosen_at < %(end)s
           )
       ))
FROM per_path pp JOIN paths p ON p.id = pp.path_id
GROUP BY pp.student_id
ORDER BY pp.student_id
"""

# Competencies whose mastery (effective status mastered now) dates from the term's start to the night's
# end: first_mastered_at, or the override's time for a teacher override (pathways.services.paths
# .mastered_by_student reads the day the same way).
_GROWTH = f"""
SELECT ms.student_id, count(*)::int
FROM mastery_masterystate ms JOIN profiles_learnerprofile lp ON lp.user_id = ms.student_id
WHERE lp.school_id = %(school)s
  AND COALESCE(ms.override_status, ms.status) = '{MasteryStatus.MASTERED}'
  AND COALESCE(ms.first_mastered_at, ms.override_at) >= %(term_start)s
  AND COALESCE(ms.first_mastered_at, ms.override_at) < %(end)s
GROUP BY ms.student_id
ORDER BY ms.student_id
"""


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _pacing(school_id: int, on: datetime.date) -> list[tuple[int, str]]:
    paths = LearningPath.objects.filter(
        student__learner_profile__school_id=school_id, term__start_date__lte=on, term__end_date__gte=on
    ).exclude(pacing_status="")
    return list(paths.order_by("student_id", "pk").values_list("student_id", "pacing_status"))


def _open_alerts(school_id: int) -> list[tuple[int, int]]:
    alerts = PacingAlert.objects.filter(student__learner_profile__school_id=school_id, status__in=UNRESOLVED)
    return list(alerts.order_by("student_id").values_list("student_id").annotate(n=Count("pk")))


def school_equity_facts(*, school_id: int, on: datetime.date) -> SchoolFacts:
    """What one school's equity cells are computed from, for the night `on`. Eight queries."""
    window = night_window(school_id=school_id, on=on)
    sections = _current_sections(school_id, on)
    params = {
        "school": school_id,
        "on": on,
        "access_from": _start_of(window.access_from),
        "end": window.end,
        "standing": list(STANDING_CHOICES),
    }
    path_rows = _fetch(_PATH_FACTS, params)
    growth: list[tuple] = []
    if window.term_start is not None:
        growth = _fetch(_GROWTH, {"school": school_id, "term_start": _start_of(window.term_start), "end": window.end})
    return SchoolFacts(
        school_id=school_id,
        students=_students(school_id),
        sections=sections,
        memberships=_enrollments(list(sections), Enrollment.Role.STUDENT),
        targets=[(student, targets, mastered) for student, targets, mastered, _, _ in path_rows],
        growth=[(student, count) for student, count in growth],
        pacing=_pacing(school_id, on),
        below_grade=[student for student, _, _, below, _ in path_rows if below],
        grade_level_work=[student for student, _, _, _, work in path_rows if work],
        open_alerts=_open_alerts(school_id),
    )


# --- the implementation facts of one school ------------------------------------------------------------

_EVIDENCE_WEEK = """
SELECT e.student_id, e.recorded_by_id, count(*)::int
FROM mastery_evidence e JOIN profiles_learnerprofile lp ON lp.user_id = e.student_id
WHERE lp.school_id = %(school)s AND e.observed_at >= %(start)s AND e.observed_at < %(end)s
  AND e.voided_at IS NULL  -- withdrawn by its source: not work done
GROUP BY e.student_id, e.recorded_by_id
ORDER BY e.student_id, e.recorded_by_id
"""

_ACKNOWLEDGED = """
SELECT a.student_id, ((a.acknowledged_at AT TIME ZONE %(tz)s)::date - a.opened_on)::int
FROM pathways_pacingalert a JOIN profiles_learnerprofile lp ON lp.user_id = a.student_id
WHERE lp.school_id = %(school)s AND a.acknowledged_at >= %(start)s AND a.acknowledged_at < %(end)s
ORDER BY a.student_id, a.id
"""


def school_implementation_facts(*, school_id: int, on: datetime.date) -> ImplementationFacts:
    """What one school's implementation rows are computed from, for the night `on`. Six queries."""
    end = _start_of(on + datetime.timedelta(days=1))
    sections = list(_current_sections(school_id, on))
    week = {"school": school_id, "start": _start_of(on - datetime.timedelta(days=EVIDENCE_WEEK_DAYS - 1)), "end": end}
    acknowledged = {
        "school": school_id,
        "start": _start_of(on - datetime.timedelta(days=ACKNOWLEDGED_WINDOW_DAYS - 1)),
        "end": end,
        "tz": timezone.get_current_timezone_name(),
    }
    return ImplementationFacts(
        school_id=school_id,
        students=list(LearnerProfile.objects.filter(school_id=school_id).values_list("pk", flat=True)),
        sections=sections,
        section_students=_enrollments(sections, Enrollment.Role.STUDENT),
        section_teachers=_enrollments(sections, Enrollment.Role.TEACHER),
        evidence_week=[tuple(row) for row in _fetch(_EVIDENCE_WEEK, week)],  # type: ignore[misc]
        acknowledged=[tuple(row) for row in _fetch(_ACKNOWLEDGED, acknowledged)],  # type: ignore[misc]
    )


# --- the district step ---------------------------------------------------------------------------------

SNAPSHOT_FIGURES = ("school", "grade", "section", "dimension", "value", *EQUITY_FIGURES)


def stored_school_cells(*, district_id: int, on: datetime.date) -> list[dict[str, Any]]:
    """The stored table cells of every school of the district for the night (section rows left out)."""
    rows = EquitySnapshot.objects.filter(district_id=district_id, date=on, school__isnull=False, section__isnull=True)
    return list(rows.order_by("school_id", "grade", "dimension", "value").values(*SNAPSHOT_FIGURES))


def stored_school_implementation(*, district_id: int, on: datetime.date) -> list[dict[str, Any]]:
    rows = ImplementationSnapshot.objects.filter(
        district_id=district_id, date=on, school__isnull=False, section__isnull=True
    )
    return [
        dict(row)
        for row in rows.order_by("school_id").values(
            "school",
            "section",
            "teachers",
            "teacher_evidence_week",
            "students",
            "students_with_evidence_week",
            "alerts_acknowledged",
            "acknowledge_days_distribution",
        )
    ]


def district_school_ids(*, district_id: int) -> list[int]:
    return list(School.objects.filter(district_id=district_id).order_by("pk").values_list("pk", flat=True))
