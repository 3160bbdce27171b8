"""The equity and implementation snapshots of one hand-built school, value by value.

One school (grades 5 and 6), sections M5 (teacher Tess) and M6 (teacher Uma), fourteen students whose
paths, mastery, evidence, choices and alerts are written directly (the snapshot stage only reads them),
then `services.school_snapshots_night` for the night of Friday 2026-11-20 and the district step.
Every expected number below is counted by hand from the roster in the comments.
"""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from mastery.models import Competency, Evidence, Framework, MasteryState
from monitoring import selectors, services
from monitoring.models import EquitySnapshot, ImplementationSnapshot, JobRun
from pathways.models import LearningPath, PacingAlert, PathStep, StepChoice
from profiles.models import (
    Demographics,
    District,
    Enrollment,
    LearnerProfile,
    Role,
    RoleMembership,
    School,
    Section,
    Term,
    User,
)

NIGHT = datetime.date(2026, 11, 20)  # a Friday; the access window is the 20 school days from Monday 26 October
TZ = ZoneInfo("America/New_York")


def at(day: str, hour: int = 12) -> datetime.datetime:
    return datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time(hour), tzinfo=TZ)


class School1:
    """The roster. Grade 5 (section M5): g5_0 ... g5_10; grade 6 (section M6): g6_0, g6_1, g6_2."""

    def __init__(self) -> None:
        self.district = District.objects.create(name="D", code="d")
        self.school = School.objects.create(district=self.district, name="S", code="s", grade_low=5, grade_high=6)
        self.term = Term.objects.create(
            school=self.school,
            name="2026-27",
            start_date=datetime.date(2026, 8, 24),
            end_date=datetime.date(2027, 6, 11),
        )
        self.framework = Framework.objects.create(name="Math", subject="math", grade_low=4, grade_high=6)
        self.c = {
            code: Competency.objects.create(framework=self.framework, code=code, statement=code, grade_level=grade)
            for code, grade in [("b1", 4), ("b2", 4), ("t1", 5), ("t2", 5), ("t3", 5), ("u1", 6), ("u2", 6)]
        }
        self.tess = self.user("tess", Role.TEACHER)
        self.uma = self.user("uma", Role.TEACHER)
        self.m5 = self.section("M5", 5, self.tess)
        self.m6 = self.section("M6", 6, self.uma)
        self.s: dict[str, User] = {}

    def user(self, name: str, role: str) -> User:
        user = User.objects.create_user(username=name, password="x")
        RoleMembership.objects.create(user=user, role=role, school=self.school)
        return user

    def section(self, code: str, grade: int, teacher: User) -> Section:
        section = Section.objects.create(school=self.school, term=self.term, code=code, name=code, grade_level=grade)
        Enrollment.objects.create(section=section, user=teacher, role=Enrollment.Role.TEACHER)
        return section

    def student(self, name: str, grade: int, demographics: dict[str, Any] | None) -> User:
        user = self.user(name, Role.STUDENT)
        LearnerProfile.objects.create(user=user, school=self.school, grade_level=grade)
        if demographics is not None:
            Demographics.objects.create(student=user, **demographics)
        section = self.m5 if grade == 5 else self.m6
        Enrollment.objects.create(section=section, user=user, role=Enrollment.Role.STUDENT)
        self.s[name] = user
        return user

    def path(self, name: str, pacing: str, steps: list[tuple[str, str]]) -> LearningPath:
        """steps: (competency code, reason) in order; a reason of "skipped" is a skipped grade-level target."""
        path = LearningPath.objects.create(
            student=self.s[name],
            framework=self.framework,
            term=self.term,
            start_date=datetime.date(2026, 8, 24),
            target_date=datetime.date(2027, 6, 1),
            pacing_on=NIGHT,
            pacing_status=pacing,
        )
        for order, (code, reason) in enumerate(steps, start=1):
            skipped = reason == "skipped"
            PathStep.objects.create(
                path=path,
                competency=self.c[code],
                order=order,
                reason="grade_level_target" if skipped else reason,
                is_target=reason != "gap_filling",
                state="skipped" if skipped else "ready",
                skip_reason="tested out" if skipped else "",
            )
        return path

    def mastered(self, name: str, code: str, day: str, status: str = "mastered") -> None:
        MasteryState.objects.create(
            student=self.s[name], competency=self.c[code], status=status, evidence_count=3, first_mastered_at=at(day)
        )

    def evidence(self, name: str, code: str, day: str, by: User | None = None) -> None:
        Evidence.objects.create(
            student=self.s[name], competency=self.c[code], kind="score", score=0.5, observed_at=at(day), recorded_by=by
        )

    def alert(self, name: str, status: str, opened: str, acknowledged: str | None = None) -> None:
        PacingAlert.objects.create(
            student=self.s[name],
            kind="inactive",
            status=status,
            reason="r",
            opened_on=datetime.date.fromisoformat(opened),
            acknowledged_at=at(acknowledged) if acknowledged else None,
            acknowledged_by=self.tess if acknowledged else None,
            resolved_on=NIGHT if status == "resolved" else None,
        )


TARGETS_5 = [("t1", "grade_level_target"), ("t2", "grade_level_target"), ("t3", "grade_level_target")]
TARGETS_6 = [("u1", "grade_level_target"), ("u2", "grade_level_target")]
WHITE = {"white": True}


@pytest.fixture
def school1(db) -> School1:
    w = School1()
    # --- grade 5 ---
    # g5_0: female, Hispanic (and white: Hispanic wins), EL, ED. Gap b1 unmastered (below grade); evidence on
    # t2 on 10 Nov (inside the access window: access); t1 mastered this term; on track; one open alert.
    w.student("g5_0", 5, {"sex": "female", "hispanic_or_latino": True, "white": True, "english_learner": True,
                          "economically_disadvantaged": True})  # fmt: skip
    w.path("g5_0", "on_track", [("b1", "gap_filling"), *TARGETS_5])
    w.mastered("g5_0", "t1", "2026-09-15")
    w.evidence("g5_0", "t2", "2026-11-10")
    w.alert("g5_0", "open", "2026-11-16")
    # g5_1: female, white + Asian (two or more races), EL, ED. Gap b1 unmastered; only evidence on 1 Oct
    # (before the window): no access. Off track. One acknowledged alert (3 days) and one resolved (6 days).
    w.student("g5_1", 5, {"sex": "female", "white": True, "asian": True, "english_learner": True,
                          "economically_disadvantaged": True})  # fmt: skip
    w.path("g5_1", "off_track", [("b1", "gap_filling"), *TARGETS_5])
    w.evidence("g5_1", "t1", "2026-10-01")
    w.alert("g5_1", "acknowledged", "2026-11-02", acknowledged="2026-11-05")
    w.alert("g5_1", "resolved", "2026-11-03", acknowledged="2026-11-09")
    # g5_2: female, two or more races (flag), IEP, ED. Gap b2 unmastered; chose t1 on 12 Nov (an active
    # grade-level step: access). t1 mastered this term, t2 mastered in August (before the term: not growth).
    w.student("g5_2", 5, {"sex": "female", "two_or_more_races": True, "iep": True,
                          "economically_disadvantaged": True})  # fmt: skip
    path = w.path("g5_2", "at_risk", [("b2", "gap_filling"), *TARGETS_5])
    choice = StepChoice.objects.create(step=path.steps.get(competency=w.c["t1"]), status="approved")
    StepChoice.objects.filter(pk=choice.pk).update(chosen_at=at("2026-11-12"))
    w.mastered("g5_2", "t1", "2026-10-01")
    w.mastered("g5_2", "t2", "2026-08-01")
    # g5_3: female, white, ED. All three targets mastered this term; ahead. Evidence recorded by Tess on
    # 19 and 20 Nov (this week).
    w.student("g5_3", 5, {"sex": "female", **WHITE, "economically_disadvantaged": True})
    w.path("g5_3", "ahead", TARGETS_5)
    for code in ("t1", "t2", "t3"):
        w.mastered("g5_3", code, "2026-10-20")
    w.evidence("g5_3", "t3", "2026-11-19", by=w.tess)
    w.evidence("g5_3", "t3", "2026-11-20", by=w.tess)
    # g5_4: female, white, ED. Gap b1 mastered this term (not below grade); t1 mastered by a teacher override
    # on 5 Oct (no first_mastered_at): growth 2, targets mastered 1.
    w.student("g5_4", 5, {"sex": "female", **WHITE, "economically_disadvantaged": True})
    w.path("g5_4", "on_track", [("b1", "gap_filling"), *TARGETS_5])
    w.mastered("g5_4", "b1", "2026-09-01")
    MasteryState.objects.create(
        student=w.s["g5_4"], competency=w.c["t1"], status="in_progress", override_status="mastered",
        override_note="shown in class", override_by=w.tess, override_at=at("2026-10-05"),
    )  # fmt: skip
    # g5_5: female, white. Plain path. Evidence recorded by Uma (a teacher of the school, not of M5) on 16 Nov.
    w.student("g5_5", 5, {"sex": "female", **WHITE})
    w.path("g5_5", "on_track", TARGETS_5)
    w.evidence("g5_5", "t1", "2026-11-16", by=w.uma)
    # g5_6 ... g5_10: male, white. g5_6's t3 is skipped (2 targets); g5_7 has no path; g5_8's t1 needs review.
    for i in range(6, 11):
        w.student(f"g5_{i}", 5, {"sex": "male", **WHITE})
    w.path("g5_6", "on_track", [("t1", "grade_level_target"), ("t2", "grade_level_target"), ("t3", "skipped")])
    w.mastered("g5_8", "t1", "2026-09-20", status="needs_review")
    for name in ("g5_8", "g5_9", "g5_10"):
        w.path(name, "on_track", TARGETS_5)
    Enrollment.objects.create(section=w.m6, user=w.s["g5_10"], role=Enrollment.Role.STUDENT, active=False)
    # --- grade 6 ---
    # g6_0: no demographics row (unspecified, not reported, no). u1 mastered this term.
    w.student("g6_0", 6, None)
    w.path("g6_0", "on_track", TARGETS_6)
    w.mastered("g6_0", "u1", "2026-10-10")
    # g6_1: male, Asian. Gap t3 (grade 5) unmastered; evidence on u1 on 18 Nov recorded by Uma: access.
    w.student("g6_1", 6, {"sex": "male", "asian": True})
    w.path("g6_1", "on_track", [("t3", "gap_filling"), *TARGETS_6])
    w.evidence("g6_1", "u1", "2026-11-18", by=w.uma)
    # g6_2: male, white. Off track, one open alert.
    w.student("g6_2", 6, {"sex": "male", **WHITE})
    w.path("g6_2", "off_track", TARGETS_6)
    w.alert("g6_2", "open", "2026-11-18")
    return w


def figures(row: EquitySnapshot) -> dict[str, Any]:
    return {
        "n": row.n_students,
        "targets": (row.grade_level_targets_mastered, row.grade_level_targets),
        "growth": (row.growth_distribution, row.growth_median),
        "pacing": row.pacing_distribution,
        "access": (row.access_count, row.below_grade_count),
        "alerts": row.open_alerts,
    }


def cell(school: School1, grade: int | None, dimension: str, value: str, **where: Any) -> EquitySnapshot:
    defaults = {"school": school.school, "section": None}
    return EquitySnapshot.objects.get(
        date=NIGHT, grade=grade, dimension=dimension, value=value, **{**defaults, **where}
    )


def test_the_school_cells_hold_exact_counts(school1: School1):
    written = services.school_snapshots_night(school_id=school1.school.pk, on=NIGHT)

    # 2 grades + all grades, 21 values each; 2 sections; implementation: the school and its 2 sections.
    assert EquitySnapshot.objects.count() == 3 * 21 + 2
    assert ImplementationSnapshot.objects.count() == 3
    assert written == 3 * 21 + 2 + 3
    assert figures(cell(school1, None, "all", "all")) == {
        "n": 14,
        # 9 grade-5 paths of 3 targets, g5_6's 2 (t3 skipped), 3 grade-6 paths of 2; mastered: g5_0 1, g5_2 2,
        # g5_3 3, g5_4 1 (override), g6_0 1 (g5_8's t1 needs review: not mastered).
        "targets": (8, 35),
        # growth 0: g5_1, g5_5 ... g5_10, g6_1, g6_2; 1: g5_0, g5_2 (t2 was before the term), g6_0; 2: g5_4; 3: g5_3.
        "growth": ({"0": 9, "1": 3, "2": 1, "3": 1}, 0.0),
        "pacing": {"ahead": 1, "on_track": 9, "at_risk": 1, "off_track": 2},  # g5_7 has no path
        "access": (3, 4),  # below: g5_0, g5_1, g5_2, g6_1; access: all but g5_1
        "alerts": 3,  # g5_0 open, g5_1 acknowledged, g6_2 open (g5_1's resolved one does not count)
    }
    assert figures(cell(school1, 5, "sex", "female")) == {
        "n": 6,
        "targets": (7, 18),
        "growth": ({"0": 2, "1": 2, "2": 1, "3": 1}, 1.0),
        "pacing": {"ahead": 1, "on_track": 3, "at_risk": 1, "off_track": 1},
        "access": (2, 3),
        "alerts": 2,
    }
    assert figures(cell(school1, 6, "all", "all")) == {
        "n": 3,
        "targets": (1, 6),
        "growth": ({"0": 2, "1": 1}, 0.0),
        "pacing": {"ahead": 0, "on_track": 2, "at_risk": 0, "off_track": 1},
        "access": (1, 1),
        "alerts": 1,
    }
    counts = {
        (row.dimension, row.value): row.n_students
        for row in EquitySnapshot.objects.filter(grade=None, section=None).exclude(n_students=0)
    }
    assert counts == {
        ("all", "all"): 14,
        ("sex", "female"): 6,
        ("sex", "male"): 7,
        ("sex", "unspecified"): 1,
        ("race_ethnicity", "hispanic_or_latino"): 1,
        ("race_ethnicity", "two_or_more_races"): 2,
        ("race_ethnicity", "white"): 9,
        ("race_ethnicity", "asian"): 1,
        ("race_ethnicity", "not_reported"): 1,
        ("english_learner", "yes"): 2,
        ("english_learner", "no"): 12,
        ("iep", "yes"): 1,
        ("iep", "no"): 13,
        ("section_504", "no"): 14,
        ("economically_disadvantaged", "yes"): 5,
        ("economically_disadvantaged", "no"): 9,
    }
    # Sections: their active students, whatever their grade (g5_10's inactive M6 enrollment is left out).
    m5 = cell(school1, 5, "all", "all", section=school1.m5)
    m6 = cell(school1, 6, "all", "all", section=school1.m6)
    assert (m5.n_students, m5.below_grade_count, m5.access_count, m5.open_alerts) == (11, 3, 2, 2)
    assert (m6.n_students, m6.below_grade_count, m6.access_count, m6.open_alerts) == (3, 1, 1, 1)


def test_the_school_cells_are_suppressed_and_nothing_small_is_shown(school1: School1):
    services.school_snapshots_night(school_id=school1.school.pk, on=NIGHT)

    rows = EquitySnapshot.objects.filter(section=None)
    shown = {(r.grade, r.dimension, r.value) for r in rows if not r.suppressed and r.n_students}
    # Grade 6 (3 students) is small; all grades (14) minus grade 6 would give grade 5 (11) away, so grade 5
    # is hidden too; then every subgroup of 14 with a small complement is hidden. Section 504 "no" (all 14)
    # stays: "yes" is 0, nothing to protect. Its grade cells hide with their grades.
    assert shown == {(None, "all", "all"), (None, "section_504", "no")}
    assert all(r.access_suppressed for r in rows if r.suppressed)
    # The access figures of all grades (4 below grade) are small.
    assert cell(school1, None, "all", "all").access_suppressed
    m5 = cell(school1, 5, "all", "all", section=school1.m5)
    m6 = cell(school1, 6, "all", "all", section=school1.m6)
    assert (m5.suppressed, m5.access_suppressed) == (False, True)  # 11 students, 3 below grade
    assert (m6.suppressed, m6.access_suppressed) == (True, True)
    # The model's derived figures refuse to show what is suppressed.
    row = cell(school1, None, "all", "all")
    assert row.grade_level_mastered_share == 8 / 35
    assert row.open_alerts_per_100 == 100 * 3 / 14
    assert row.access_share is None and row.below_grade_share is None
    assert cell(school1, 5, "all", "all").grade_level_mastered_share is None


def test_implementation_figures(school1: School1):
    services.school_snapshots_night(school_id=school1.school.pk, on=NIGHT)

    def row(section: Section | None) -> tuple:
        r = ImplementationSnapshot.objects.get(date=NIGHT, school=school1.school, section=section)
        return (
            r.teachers,
            r.teacher_evidence_week,
            r.students,
            r.students_with_evidence_week,
            r.alerts_acknowledged,
            r.acknowledge_days_distribution,
            r.acknowledge_days_median,
        )

    # This week (14-20 Nov): Tess on g5_3 twice, Uma on g5_5 and g6_1. g5_1's alerts: acknowledged after
    # 3 and 6 days (the resolved one was acknowledged too).
    assert row(None) == (2, 4, 14, 3, 2, {"3": 1, "6": 1}, 4.5)
    assert row(school1.m5) == (1, 2, 11, 2, 2, {"3": 1, "6": 1}, 4.5)  # Uma's record on g5_5 is not M5's
    assert row(school1.m6) == (1, 1, 3, 1, 0, {}, None)


def test_evidence_its_source_withdrew_is_neither_access_nor_this_weeks_work(school1: School1):
    """g6_1's only evidence (u1 on 18 Nov, their access to grade-level work) and Tess's record on g5_3 of
    20 Nov are voided by their tool: g6_1 loses access, the week counts Tess once and Uma once."""
    assert school1.s["g6_1"].pk in selectors.school_equity_facts(school_id=school1.school.pk, on=NIGHT).grade_level_work
    withdrawn = Evidence.objects.filter(student=school1.s["g6_1"]) | Evidence.objects.filter(
        student=school1.s["g5_3"], observed_at=at("2026-11-20")
    )
    assert withdrawn.update(voided_at=at("2026-11-20", 15)) == 2
    facts = selectors.school_equity_facts(school_id=school1.school.pk, on=NIGHT)
    assert sorted(facts.grade_level_work) == [school1.s["g5_0"].pk, school1.s["g5_2"].pk]
    services.school_snapshots_night(school_id=school1.school.pk, on=NIGHT)
    r = ImplementationSnapshot.objects.get(date=NIGHT, school=school1.school, section=None)
    assert (r.teacher_evidence_week, r.students_with_evidence_week) == (2, 2)


def test_a_rerun_replaces_the_night_and_keeps_history(school1: School1):
    school_id = school1.school.pk
    services.school_snapshots_night(school_id=school_id, on=NIGHT - datetime.timedelta(days=1))
    services.school_snapshots_night(school_id=school_id, on=NIGHT)
    before = {(r.grade, r.section_id, r.dimension, r.value): r.pk for r in EquitySnapshot.objects.filter(date=NIGHT)}
    # A student moves to grade 6 (grade 5 keeps students) and M6 ends: its row must go, not linger.
    LearnerProfile.objects.filter(pk=school1.s["g5_7"].pk).update(grade_level=6)
    Section.objects.filter(pk=school1.m6.pk).update(term=Term.objects.create(
        school=school1.school, name="old", start_date=datetime.date(2025, 8, 25), end_date=datetime.date(2026, 6, 12)
    ))  # fmt: skip

    services.school_snapshots_night(school_id=school_id, on=NIGHT)

    after = {(r.grade, r.section_id, r.dimension, r.value): r.pk for r in EquitySnapshot.objects.filter(date=NIGHT)}
    assert set(after) == set(before) - {(6, school1.m6.pk, "all", "all")}
    assert all(after[key] == before[key] for key in after)  # updated in place
    assert cell(school1, 6, "all", "all").n_students == 4
    assert EquitySnapshot.objects.filter(date=NIGHT - datetime.timedelta(days=1)).count() == 3 * 21 + 2
    assert ImplementationSnapshot.objects.filter(date=NIGHT).count() == 2


def test_the_district_rows_wait_for_every_school_then_sum_them(school1: School1):
    other = School.objects.create(district=school1.district, name="T", code="t", grade_low=5, grade_high=6)
    for school in (school1.school, other):
        services.school_snapshots_night(school_id=school.pk, on=NIGHT)

    def succeeded(school: School) -> None:
        JobRun.objects.create(job="snapshots", run_date=NIGHT, school=school, status="succeeded",
                              finished_at=timezone.now())  # fmt: skip

    succeeded(school1.school)
    assert services.district_snapshots_when_complete(district_id=school1.district.pk, on=NIGHT, job="snapshots") is None
    succeeded(other)
    written = services.district_snapshots_when_complete(district_id=school1.district.pk, on=NIGHT, job="snapshots")

    assert written == 3 * 21 + 1  # the district's cells and its implementation row
    district = EquitySnapshot.objects.get(date=NIGHT, school=None, grade=None, dimension="all", value="all")
    assert figures(district) == figures(cell(school1, None, "all", "all"))  # the other school has no students
    assert (district.suppressed, district.access_suppressed) == (False, True)
    assert services.district_snapshots_when_complete(district_id=school1.district.pk, on=NIGHT, job="snapshots") == 0
    implementation = ImplementationSnapshot.objects.get(date=NIGHT, school=None)
    assert (implementation.teachers, implementation.teacher_evidence_week, implementation.students) == (2, 4, 14)
    assert implementation.acknowledge_days_median == 4.5
