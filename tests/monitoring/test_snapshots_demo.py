"""The issue's check on the demo district (seed_demo with two schools, then the nightly pipeline on two
school days): the stored snapshot numbers match an independent recomputation written here straight from
the raw tables in plain Python (not the analytics code), and nothing small is shown or recoverable."""

from __future__ import annotations

import datetime
import statistics
from collections import Counter
from collections.abc import Iterable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from mastery.models import Evidence, MasteryState
from monitoring.models import EquitySnapshot, ImplementationSnapshot
from pathways.models import LearningPath, PacingAlert, PathStep, StepChoice
from plplatform.celery import app
from profiles.models import Demographics, District, Enrollment, Holiday, LearnerProfile, School, Term
from tests.monitoring.test_suppression_property import check_no_disclosure

NIGHT = datetime.date(2026, 11, 30)  # Monday after the Thanksgiving break
MIN_N = 10
ACCESS_DAYS = 20
WORST_FIRST = ["off_track", "at_risk", "on_track", "ahead"]


@pytest.fixture
def demo(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)
    call_command("seed_demo", schools=2, students=80, force=True, stdout=StringIO())
    for night in ("2026-11-25", "2026-11-30"):
        call_command("run_nightly", "--date", night, stdout=StringIO())


# --- the independent recomputation -----------------------------------------------------------------------


def race(d: Demographics | None) -> str:
    if d is None:
        return "not_reported"
    if d.hispanic_or_latino:
        return "hispanic_or_latino"
    flags = [
        name
        for name in ("american_indian_or_alaska_native", "asian", "black_or_african_american",
                     "native_hawaiian_or_other_pacific_islander", "white")
        if getattr(d, name)
    ]  # fmt: skip
    if d.two_or_more_races or len(flags) > 1:
        return "two_or_more_races"
    return flags[0] if flags else "not_reported"


def school_days_back(term: Term, last: datetime.date, count: int) -> datetime.date:
    """The first of the `count` school days ending on `last` (weekdays that are not the term's holidays)."""
    holidays = set(Holiday.objects.filter(term__in=[term.pk, term.parent_id]).values_list("date", flat=True))
    day, counted = last, 0
    while True:
        if day.weekday() < 5 and day not in holidays:
            counted += 1
            if counted == count:
                return day
        day -= datetime.timedelta(days=1)


def is_mastered(state: MasteryState | None) -> bool:
    return state is not None and (state.override_status or state.status) == "mastered"


def student_facts(school: School) -> list[dict[str, Any]]:
    """One dict per student of the school: grade, subgroup values and every figure the snapshot counts."""
    term = Term.objects.get(school=school, kind="school_year", start_date__lte=NIGHT, end_date__gte=NIGHT)
    window_start = school_days_back(term, NIGHT, ACCESS_DAYS)
    students = []
    for profile in LearnerProfile.objects.filter(school=school).select_related("user"):
        sid, grade = profile.pk, profile.grade_level
        d = Demographics.objects.filter(pk=sid).first()
        states = {s.competency_id: s for s in MasteryState.objects.filter(student_id=sid)}
        paths = list(
            LearningPath.objects.filter(student_id=sid, term__start_date__lte=NIGHT, term__end_date__gte=NIGHT)
        )
        steps = list(PathStep.objects.filter(path__in=paths).exclude(state="skipped").select_related("competency"))
        targets = [s for s in steps if s.reason == "grade_level_target"]
        below = any(s.competency.grade_level < grade and not is_mastered(states.get(s.competency_id)) for s in steps)
        frameworks = {p.framework_id for p in paths}
        recent_evidence = [
            e
            for e in Evidence.objects.filter(student_id=sid).select_related("competency")
            if window_start <= timezone.localdate(e.observed_at) <= NIGHT
            and e.competency.grade_level >= grade
            and e.competency.framework_id in frameworks
        ]
        recent_choices = [
            c
            for c in StepChoice.objects.filter(step__in=steps, status__in=["pending", "approved"])
            if window_start <= timezone.localdate(c.chosen_at) <= NIGHT and c.step.competency.grade_level >= grade
        ]
        growth = sum(
            1
            for s in states.values()
            if is_mastered(s) and term.start_date <= timezone.localdate(s.first_mastered_at or s.override_at) <= NIGHT
        )
        statuses = [p.pacing_status for p in paths if p.pacing_status]
        students.append(
            {
                "grade": grade,
                "all": "all",
                "sex": d.sex if d else "unspecified",
                "race_ethnicity": race(d),
                **{
                    name: "yes" if d is not None and getattr(d, name) else "no"
                    for name in ("english_learner", "iep", "section_504", "economically_disadvantaged")
                },
                "targets": len(targets),
                "mastered": sum(1 for s in targets if is_mastered(states.get(s.competency_id))),
                "growth": growth,
                "pacing": min(statuses, key=WORST_FIRST.index) if statuses else None,
                "below": below,
                "access": below and bool(recent_evidence or recent_choices),
                "alerts": PacingAlert.objects.filter(student_id=sid).exclude(status="resolved").count(),
            }
        )
    return students


def expected(students: Iterable[dict[str, Any]]) -> dict[str, Any]:
    members = list(students)
    growth = Counter(s["growth"] for s in members)
    pacing = Counter(s["pacing"] for s in members if s["pacing"])
    return {
        "n_students": len(members),
        "grade_level_targets": sum(s["targets"] for s in members),
        "grade_level_targets_mastered": sum(s["mastered"] for s in members),
        "growth_distribution": {str(k): growth[k] for k in sorted(growth)},
        "growth_median": float(statistics.median(s["growth"] for s in members)) if members else None,
        "pacing_distribution": {k: pacing[k] for k in ("ahead", "on_track", "at_risk", "off_track")},
        "below_grade_count": sum(1 for s in members if s["below"]),
        "access_count": sum(1 for s in members if s["access"]),
        "open_alerts": sum(s["alerts"] for s in members),
    }


def stored(**where: Any) -> dict[str, Any]:
    row = EquitySnapshot.objects.get(date=NIGHT, section=None, **where)
    return {name: getattr(row, name) for name in expected([])}


def test_the_demo_snapshots_match_an_independent_recomputation(demo: None):
    district = District.objects.get()
    schools = list(School.objects.order_by("pk"))
    assert len(schools) == 2
    everyone: list[dict[str, Any]] = []
    for school in schools:
        students = student_facts(school)
        everyone += students
        grade = min(s["grade"] for s in students)
        common_race = Counter(s["race_ethnicity"] for s in students).most_common(1)[0][0]
        checks = [
            ({"grade": None, "dimension": "all", "value": "all"}, students),
            ({"grade": grade, "dimension": "all", "value": "all"}, [s for s in students if s["grade"] == grade]),
            ({"grade": None, "dimension": "sex", "value": "female"}, [s for s in students if s["sex"] == "female"]),
            (
                {"grade": None, "dimension": "race_ethnicity", "value": common_race},
                [s for s in students if s["race_ethnicity"] == common_race],
            ),
            (
                {"grade": grade, "dimension": "economically_disadvantaged", "value": "yes"},
                [s for s in students if s["grade"] == grade and s["economically_disadvantaged"] == "yes"],
            ),
        ]
        for where, members in checks:
            assert stored(school=school, **where) == expected(members), where
    # The district as a whole.
    assert stored(district=district, school=None, grade=None, dimension="all", value="all") == expected(everyone)
    assert stored(district=district, school=None, grade=None, dimension="iep", value="yes") == expected(
        [s for s in everyone if s["iep"] == "yes"]
    )
    # The checks are not vacuous: the demo has students below grade level, with and without access, and alerts.
    figures = expected(everyone)
    assert 0 < figures["access_count"] < figures["below_grade_count"] and figures["open_alerts"] > 0
    assert figures["grade_level_targets_mastered"] > 0 and figures["growth_distribution"] != {"0": 80}


def test_the_demo_shows_nothing_small_and_hides_nothing_recoverable(demo: None):
    cells: list[dict[str, Any]] = [
        {**row, "school": row["school_id"], "section": row["section_id"]}
        for row in EquitySnapshot.objects.filter(date=NIGHT).values()
    ]
    check_no_disclosure(cells, MIN_N)
    shown = [c for c in cells if not c["suppressed"] and c["n_students"] > 0]
    assert len(shown) > 10  # something is shown


def test_the_demo_implementation_figures(demo: None):
    # The week ending on the first night (Wednesday 25 November): the demo's evidence stops before the break.
    night = datetime.date(2026, 11, 25)
    school = School.objects.order_by("pk").first()
    assert school is not None
    row = ImplementationSnapshot.objects.get(date=night, school=school, section=None)
    students = set(LearnerProfile.objects.filter(school=school).values_list("pk", flat=True))
    sections = Enrollment.objects.filter(
        section__school=school, section__term__start_date__lte=night, section__term__end_date__gte=night, active=True
    )
    teachers = set(sections.filter(role="teacher").values_list("user_id", flat=True))
    week = [
        e
        for e in Evidence.objects.filter(student_id__in=students)
        if night - datetime.timedelta(days=6) <= timezone.localdate(e.observed_at) <= night
    ]
    acknowledged = [
        (timezone.localdate(a.acknowledged_at) - a.opened_on).days
        for a in PacingAlert.objects.filter(student_id__in=students, acknowledged_at__isnull=False)
        if night - datetime.timedelta(days=29) <= timezone.localdate(a.acknowledged_at) <= night
    ]
    assert (row.teachers, row.students) == (len(teachers), len(students))
    assert row.teacher_evidence_week == sum(1 for e in week if e.recorded_by_id in teachers)
    assert row.students_with_evidence_week == len({e.student_id for e in week})
    assert row.alerts_acknowledged == len(acknowledged)
    assert row.acknowledge_days_median == (statistics.median(acknowledged) if acknowledged else None)
    assert row.teachers > 0 and row.students_with_evidence_week > 0 and row.teacher_evidence_week > 0
