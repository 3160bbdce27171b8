"""Suggested small groups, small-group sessions and their ratings (the teacher's workspace).

Suggestions: exact groups and their "why", the 3-6 rule (smaller sets dropped, larger ones split evenly), the
ranking, students who left or are in other sections left out, already planned students left out, and a fixed
number of queries for 5 and for 30 students. Sessions: planning and recording ratings, which become evidence,
mastery and path states; every refusal names the student and leaves the database exactly as it was."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mastery.models import Competency, Evidence, Framework, MasteryState, MasteryStatus, Prerequisite
from pathways import workspace_selectors
from pathways.models import (
    Activity,
    AlertCondition,
    LearningPath,
    PacingAlert,
    PathStep,
    SmallGroupMember,
    SmallGroupSession,
)
from pathways.services import groups
from profiles.models import Enrollment, User
from tests.world import World, make_student

State = PathStep.State
CODES = [("4.A", 4), ("5.A", 5), ("5.B", 5), ("5.C", 5), ("5.D", 5)]
ON = datetime.date(2026, 11, 16)


class Workspace:
    """Math (grades 3-8): 4.A (grade 4) → 5.A → 5.B → 5.C → 5.D (each needs the one before).

    Section A1 (teacher t_a1) holds s_a1_1, s_a1_2 and `extra` more grade-5 students s_x_00, s_x_01, ...
    (s_left enrolled but inactive). Every one of them, s_left and s_a2_1 (section A2) has a path:
        1 4.A gap-filling, mastered · 2 5.A in progress · 3 5.B locked · 4 5.C locked · 5 5.D locked
    and a mastered 4.A. Nobody is ready, stuck or held back until a test says so."""

    def __init__(self, world: World, extra: int = 3):
        self.world = world
        self.a1 = world.sections["A1"]
        self.math = Framework.objects.create(name="Math", subject="Mathematics", grade_low=3, grade_high=8)
        self.c = {
            code: Competency.objects.create(
                framework=self.math, code=code, statement=f"Statement {code}", grade_level=grade, sort_order=n
            )
            for n, (code, grade) in enumerate(CODES)
        }
        for (before, _), (after, _) in itertools.pairwise(CODES):
            Prerequisite.objects.create(competency=self.c[after], prerequisite=self.c[before])
        school = world.schools["north-a"]
        extras = [make_student(world, f"s_x_{n:02d}", school, 5, self.a1) for n in range(extra)]
        self.students: list[User] = [world.s_a1_1, world.s_a1_2, *extras]
        self.paths: dict[str, LearningPath] = {}
        for student in [*self.students, world.users["s_left"], world.users["s_a2_1"]]:
            self.paths[student.username] = self.make_path(student)

    def make_path(self, student: User) -> LearningPath:
        path = LearningPath.objects.create(
            student=student,
            framework=self.math,
            term=self.a1.term,
            start_date=datetime.date(2026, 9, 1),
            target_date=datetime.date(2027, 6, 1),
        )
        MasteryState.objects.create(student=student, competency=self.c["4.A"], status=MasteryStatus.MASTERED)
        states = [State.MASTERED, State.IN_PROGRESS, State.LOCKED, State.LOCKED, State.LOCKED]
        for order, ((code, _), state) in enumerate(zip(CODES, states, strict=True), start=1):
            PathStep.objects.create(
                path=path,
                competency=self.c[code],
                order=order,
                state=state,
                reason=PathStep.Reason.GAP_FILLING if code == "4.A" else PathStep.Reason.GRADE_LEVEL_TARGET,
            )
        return path

    def user(self, name: str) -> User:
        return self.world.users[name]

    def set_states(self, name: str, **states: str) -> None:
        """set_states("s_a1_1", A5="ready") sets 5.A's step (keys: the code without its dot, reversed)."""
        for key, state in states.items():
            code = f"{key[1]}.{key[0]}"
            PathStep.objects.filter(path=self.paths[name], competency=self.c[code]).update(state=state)

    def alert(
        self,
        name: str,
        kind: str,
        code: str | None = None,
        *,
        severity: int = PacingAlert.Severity.MEDIUM,
        opened_on: datetime.date = datetime.date(2026, 11, 2),
        status: str = PacingAlert.Status.OPEN,
        numbers: dict[str, Any] | None = None,
    ) -> PacingAlert:
        return PacingAlert.objects.create(
            student=self.user(name),
            path=self.paths[name],
            competency=self.c[code] if code else None,
            kind=kind,
            severity=severity,
            status=status,
            resolved_on=opened_on if status == PacingAlert.Status.RESOLVED else None,
            numbers=numbers or {},
            reason=f"{kind} of {name}" + (f" on {code}" if code else ""),
            opened_on=opened_on,
        )

    def stuck(self, name: str, code: str, days: int) -> PacingAlert:
        return self.alert(name, PacingAlert.Kind.STUCK, code, numbers={"school_days_in_progress": days})

    def condition(self, name: str, kind: str, code: str | None, *, days: int = 12, holding: bool = True) -> None:
        AlertCondition.objects.create(
            student=self.user(name),
            kind=kind,
            path=self.paths[name],
            competency=self.c[code] if code else None,
            holding=holding,
            streak=1,
            evaluated_on=ON,
            numbers={"school_days_in_progress": days},
        )

    def activity(self, title: str, code: str, status: str = Activity.Review.APPROVED) -> Activity:
        reviewed = {} if status == Activity.Review.PENDING else {"reviewed_by": self.world.t_a1}
        activity = Activity.objects.create(
            title=title,
            review_status=status,
            reviewed_at=None
            if status == Activity.Review.PENDING
            else datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC),
            **reviewed,
        )
        activity.competencies.set([self.c[code]])
        return activity

    def names(self, count: int) -> list[str]:
        return [s.username for s in self.students[:count]]


@pytest.fixture
def ws(world) -> Workspace:
    return Workspace(world)


def suggested(ws: Workspace) -> list[tuple[str, str, list[str], str]]:
    return [
        (s.origin, s.competency.code, [u.username for u in s.students], s.why)
        for s in workspace_selectors.small_group_suggestions(ws.a1)
    ]


# --- suggestions ------------------------------------------------------------------------------------------


def test_nobody_stuck_ready_or_held_back_means_no_suggestion(ws):
    assert suggested(ws) == []


def test_students_stuck_on_the_same_competency_form_a_group_with_its_why(ws):
    ws.stuck("s_a1_1", "5.B", 12)
    ws.stuck("s_a1_2", "5.B", 31)
    ws.condition("s_x_00", PacingAlert.Kind.STUCK, "5.B", days=10)  # held one night: no alert yet, still counts
    ws.stuck("s_x_01", "5.C", 15)  # alone on 5.C
    ws.stuck("s_x_02", "5.C", 15)  # two on 5.C: no group
    assert suggested(ws) == [
        (
            "stuck",
            "5.B",
            ["s_a1_1", "s_a1_2", "s_x_00"],
            "3 students are stuck on 5.B: each has worked on it for 10 to 31 school days without mastering it.",
        )
    ]


def test_resolved_alerts_cleared_conditions_and_students_who_left_do_not_count(ws, world):
    ws.stuck("s_a1_1", "5.B", 12)
    ws.stuck("s_a1_2", "5.B", 12)
    ws.alert("s_x_00", PacingAlert.Kind.STUCK, "5.B", status=PacingAlert.Status.RESOLVED)
    ws.condition("s_x_01", PacingAlert.Kind.STUCK, "5.B", holding=False)
    ws.stuck("s_left", "5.B", 12)  # enrolled in A1 but inactive
    ws.stuck("s_a2_1", "5.B", 12)  # another section
    assert suggested(ws) == []
    ws.stuck("s_x_02", "5.B", 12)
    assert [names for _, _, names, _ in suggested(ws)] == [["s_a1_1", "s_a1_2", "s_x_02"]]


def test_students_ready_for_the_same_next_competency_form_a_group(ws):
    for name in ("s_a1_1", "s_a1_2", "s_x_00"):
        ws.set_states(name, A5=State.MASTERED, B5=State.READY, C5=State.READY)  # first ready step: 5.B
    ws.set_states("s_x_01", A5=State.READY, B5=State.READY)  # first ready step: 5.A (alone)
    assert suggested(ws) == [
        (
            "ready",
            "5.B",
            ["s_a1_1", "s_a1_2", "s_x_00"],
            "3 students are ready for 5.B next: every prerequisite is mastered and it is the first ready step "
            "on each one's path.",
        )
    ]


def test_students_held_back_from_the_same_grade_level_competency_form_a_group(ws):
    for name in ("s_a1_1", "s_a1_2"):
        ws.alert(name, PacingAlert.Kind.HELD_BACK, severity=PacingAlert.Severity.HIGH)
    ws.condition("s_x_00", PacingAlert.Kind.HELD_BACK, None)
    ws.set_states("s_x_00", A5=State.MASTERED)  # its first grade-level step still to reach: 5.B
    ws.alert("s_x_01", PacingAlert.Kind.HELD_BACK)
    assert suggested(ws) == [
        (
            "held_back",
            "5.A",
            ["s_a1_1", "s_a1_2", "s_x_01"],
            "3 students are held back from grade-level work, and 5.A is the first grade-level competency each "
            "still has to reach: one session on it gives them grade-level work together.",
        )
    ]


@pytest.mark.parametrize(("count", "sizes"), [(2, []), (3, [3]), (6, [6]), (7, [4, 3]), (12, [6, 6]), (13, [5, 4, 4])])
def test_sets_of_3_to_6_make_one_group_and_larger_ones_are_split_evenly(world, count, sizes):
    ws = Workspace(world, extra=max(count - 2, 0))
    for student in ws.students[:count]:
        ws.set_states(student.username, A5=State.READY)
    found = workspace_selectors.small_group_suggestions(ws.a1)
    assert [s.helped for s in found] == sizes
    assert [(s.part, s.parts) for s in found] == [(n, len(sizes)) for n in range(1, len(sizes) + 1)]
    # Every student once, in name order across the groups.
    assert [u.username for s in found for u in s.students] == (ws.names(count) if sizes else [])
    if len(sizes) > 1:
        assert found[0].why.endswith(
            f" Group 1 of {len(sizes)}: the {count} students are split into groups of at most 6."
        )


def test_split_evenly():
    assert workspace_selectors.split_evenly(list(range(7)), most=6) == [[0, 1, 2, 3], [4, 5, 6]]
    assert [len(g) for g in workspace_selectors.split_evenly(list(range(13)), most=6)] == [5, 4, 4]
    assert workspace_selectors.split_evenly([], most=6) == []


def test_suggestions_are_ranked_by_students_helped_then_stuck_held_back_ready(world):
    ws = Workspace(world, extra=10)  # 12 students
    names = ws.names(12)
    for name in names[:4]:  # 4 ready for 5.A
        ws.set_states(name, A5=State.READY)
    for name in names[4:7]:  # 3 stuck on 5.A
        ws.stuck(name, "5.A", 11)
    for name in names[7:10]:  # 3 held back (first grade-level step 5.A)
        ws.alert(name, PacingAlert.Kind.HELD_BACK)
    for name in names[10:12]:  # 5 ready for 5.B: two here...
        ws.set_states(name, A5=State.MASTERED, B5=State.READY)
    for name in names[4:7]:  # ...and the three stuck on 5.A (their first ready step is 5.B)
        ws.set_states(name, A5=State.MASTERED, B5=State.READY)
    assert [(origin, code, len(group)) for origin, code, group, _ in suggested(ws)] == [
        ("ready", "5.B", 5),
        ("ready", "5.A", 4),
        ("stuck", "5.A", 3),
        ("held_back", "5.A", 3),
    ]


def test_students_already_planned_on_the_competency_are_left_out(ws, world):
    for name in ("s_a1_1", "s_a1_2", "s_x_00", "s_x_01"):
        ws.stuck(name, "5.B", 12)
    groups.session_plan(
        section_id=ws.a1.pk,
        competency_id=ws.c["5.B"].pk,
        student_ids=[world.s_a1_1.pk, world.s_a1_2.pk],
        planned_for=ON,
        by=world.t_a1,
    )
    assert suggested(ws) == []  # two left: no group
    SmallGroupSession.objects.update(
        status=SmallGroupSession.Status.DONE, rated_at=datetime.datetime(2026, 11, 16, tzinfo=datetime.UTC)
    )
    assert [names for _, _, names, _ in suggested(ws)] == [["s_a1_1", "s_a1_2", "s_x_00", "s_x_01"]]


def _suggestion_queries(ws: Workspace) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        found = workspace_selectors.small_group_suggestions(ws.a1)
    return len(queries), sum(s.helped for s in found)


@pytest.mark.parametrize("count", [5, 30])
def test_suggestions_take_seven_queries_for_5_or_30_students(world, count):
    ws = Workspace(world, extra=count - 2)
    for name in ws.names(count):
        ws.stuck(name, "5.B", 12)
        ws.set_states(name, A5=State.READY)
        ws.alert(name, PacingAlert.Kind.HELD_BACK)
    queries, helped = _suggestion_queries(ws)
    assert (queries, helped) == (7, 3 * count)


# --- planning a session -------------------------------------------------------------------------------------


def snapshot() -> dict[str, list[Any]]:
    """Every row planning and rating can touch: a refusal must leave all of them as they were."""
    return {
        "sessions": list(SmallGroupSession.objects.order_by("pk").values()),
        "members": list(SmallGroupMember.objects.order_by("pk").values()),
        "materials": list(SmallGroupSession.materials.through.objects.order_by("pk").values()),
        "evidence": list(Evidence.objects.order_by("pk").values()),
        "states": list(MasteryState.objects.order_by("pk").values()),
        "steps": list(PathStep.objects.order_by("pk").values()),
    }


def assert_refused(call, errors: dict[str, list[str]]) -> None:
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        call()
    assert refused.value.message_dict == errors
    assert snapshot() == before


def plan(ws: Workspace, names: list[str], **changes: Any) -> SmallGroupSession:
    arguments: dict[str, Any] = {
        "section_id": ws.a1.pk,
        "competency_id": ws.c["5.A"].pk,
        "student_ids": [ws.user(n).pk for n in names],
        "planned_for": ON,
        "by": ws.world.t_a1,
        **changes,
    }
    return groups.session_plan(**arguments)


def test_a_teacher_plans_a_session_with_students_and_materials(ws, world):
    strips = ws.activity("Fraction strips", "5.A")
    session = plan(
        ws,
        ["s_a1_1", "s_a1_2", "s_x_00"],
        material_ids=[str(strips.pk)],
        note="Bring the strips.",
        origin="stuck",
        why="3 students are stuck on 5.A.",
    )
    session.refresh_from_db()
    assert (
        session.section,
        session.competency,
        session.planned_for,
        session.created_by,
        session.status,
        session.origin,
        session.why,
        session.note,
    ) == (ws.a1, ws.c["5.A"], ON, world.t_a1, "planned", "stuck", "3 students are stuck on 5.A.", "Bring the strips.")
    assert sorted(session.members.values_list("student__username", flat=True)) == ["s_a1_1", "s_a1_2", "s_x_00"]
    assert list(session.materials.all()) == [strips]


def test_planning_refuses_students_outside_the_teachers_sections_and_those_who_left(ws, world):
    assert_refused(
        lambda: plan(ws, ["s_a1_1", "s_a2_1", "s_left", "s_b1_1"]),
        {
            "students": [
                "S s_a2_1 is not a student of your sections.",
                "S s_left has left Math A1.",
                "S s_b1_1 is not a student of your sections.",
            ]
        },
    )
    # t_a2 teaches s_a2_1 but plans for A2 only: A1 is not theirs, and s_a2_1 is not in A1 for t_a1 either.
    assert_refused(
        lambda: plan(ws, ["s_a2_1"], by=world.t_a2), {"section": ["No such section among the classes you teach."]}
    )
    assert_refused(lambda: plan(ws, [], student_ids=[999999]), {"students": ["No such student: 999999."]})


def test_planning_refuses_bad_input_field_by_field(ws, world):
    pending = ws.activity("Unchecked worksheet", "5.A", Activity.Review.PENDING)
    many = [make_student(world, f"s_many_{n}", world.schools["north-a"], 5, ws.a1) for n in range(5)]
    assert_refused(
        lambda: plan(
            ws,
            [],
            student_ids=[world.s_a1_1.pk, world.s_a1_2.pk, *[s.pk for s in many]],
            competency_id="x",
            planned_for=None,
            material_ids=[pending.pk],
        ),
        {
            "competency": ["No such competency."],
            "students": ["A small group has at most 6 students; 7 were chosen."],
            "planned_for": ["Choose the day of the session."],
            "materials": [f"No such approved activity: {pending.pk}."],
        },
    )
    assert_refused(lambda: plan(ws, []), {"students": ["Choose at least one student."]})


# --- recording ratings ------------------------------------------------------------------------------------


@pytest.fixture
def session(ws) -> SmallGroupSession:
    """s_a1_1, s_a1_2 and s_x_00 on 5.A (ready on each one's path), planned for ON."""
    for name in ("s_a1_1", "s_a1_2", "s_x_00"):
        ws.set_states(name, A5=State.READY)
    return plan(ws, ["s_a1_1", "s_a1_2", "s_x_00"])


def step_state(ws: Workspace, name: str, code: str) -> str:
    return PathStep.objects.get(path=ws.paths[name], competency=ws.c[code]).state


def test_ratings_become_evidence_then_mastery_then_path_states(ws, world, session):
    s1, s2, x0 = world.s_a1_1, world.s_a1_2, world.users["s_x_00"]
    recorded = groups.session_record_ratings(
        session_id=session.pk, ratings={s1.pk: 4, str(s2.pk): "1"}, by=world.t_a1, on=ON
    )
    assert (recorded.stored, recorded.already) == (2, 0)
    rows = list(
        Evidence.objects.order_by("student_id").values_list(
            "student_id", "competency_id", "kind", "rating", "source", "external_id", "recorded_by_id"
        )
    )
    assert rows == [
        (s1.pk, ws.c["5.A"].pk, "rating", 4, "small-group", f"session-{session.pk}-{s1.pk}", world.t_a1.pk),
        (s2.pk, ws.c["5.A"].pk, "rating", 1, "small-group", f"session-{session.pk}-{s2.pk}", world.t_a1.pk),
    ]
    assert Evidence.objects.filter(student=s1).get().observed_at.date() == ON
    states = dict(MasteryState.objects.filter(competency=ws.c["5.A"]).values_list("student_id", "status"))
    assert states == {s1.pk: MasteryStatus.IN_PROGRESS, s2.pk: MasteryStatus.IN_PROGRESS}
    # The rated step moved from ready to in progress; the unrated student's path did not move.
    assert [step_state(ws, n, "5.A") for n in ("s_a1_1", "s_a1_2", "s_x_00")] == ["in_progress", "in_progress", "ready"]
    session.refresh_from_db()
    assert session.status == "done" and session.rated_at is not None
    members = {
        m.student.username: (m.rating, m.step_state, m.active) for m in workspace_selectors.session_members(session)
    }
    assert members == {
        "s_a1_1": (4, "in_progress", True),
        "s_a1_2": (1, "in_progress", True),
        "s_x_00": (None, "ready", True),
    }
    assert x0.pk not in states


def test_a_resubmit_stores_nothing_new_and_keeps_the_first_rating(ws, world, session):
    groups.session_record_ratings(session_id=session.pk, ratings={world.s_a1_1.pk: 4}, by=world.t_a1, on=ON)
    before = snapshot()
    again = groups.session_record_ratings(session_id=session.pk, ratings={world.s_a1_1.pk: 2}, by=world.t_a1, on=ON)
    assert (again.stored, again.already, again.steps_changed) == (0, 1, 0)
    after = snapshot()
    assert after["evidence"] == before["evidence"] and after["states"] == before["states"]
    assert Evidence.objects.get().rating == 4


@pytest.mark.parametrize("value", [5, 0, "5", "x", 2.5, True, None])
def test_a_rating_outside_1_to_4_is_refused_naming_the_student(ws, world, session, value):
    assert_refused(
        lambda: groups.session_record_ratings(
            session_id=session.pk, ratings={world.s_a1_1.pk: 3, world.s_a1_2.pk: value}, by=world.t_a1, on=ON
        ),
        {"ratings": [f"The rating for S s_a1_2 must be a whole number from 1 to 4, not “{value}”."]},
    )


def test_ratings_for_students_outside_the_group_the_section_or_the_teachers_classes_are_refused(ws, world, session):
    assert_refused(
        lambda: groups.session_record_ratings(
            session_id=session.pk,
            ratings={world.s_a1_1.pk: 3, world.users["s_x_01"].pk: 3, world.s_a2_1.pk: 3, world.s_b1_1.pk: 4},
            by=world.t_a1,
            on=ON,
        ),
        {
            "ratings": [
                "S s_a2_1 is not a student of your sections.",
                "S s_b1_1 is not a student of your sections.",
                "S s_x_01 is not in this group.",
            ]
        },
    )


def test_a_student_who_left_the_section_after_planning_is_refused(ws, world, session):
    Enrollment.objects.filter(user=world.s_a1_2, section=ws.a1).update(active=False)
    assert_refused(
        lambda: groups.session_record_ratings(
            session_id=session.pk, ratings={world.s_a1_1.pk: 3, world.s_a1_2.pk: 3}, by=world.t_a1, on=ON
        ),
        {"ratings": ["S s_a1_2 has left Math A1."]},
    )
    members = {m.student.username: m.active for m in workspace_selectors.session_members(session)}
    assert members == {"s_a1_1": True, "s_a1_2": False, "s_x_00": True}


def test_another_teacher_a_future_session_a_cancelled_one_and_no_ratings_are_refused(ws, world, session):
    assert_refused(
        lambda: groups.session_record_ratings(
            session_id=session.pk, ratings={world.s_a1_1.pk: 3}, by=world.t_a2, on=ON
        ),
        {"session": ["No such session."]},
    )
    assert_refused(
        lambda: groups.session_record_ratings(
            session_id=session.pk, ratings={world.s_a1_1.pk: 3}, by=world.t_a1, on=ON - datetime.timedelta(days=1)
        ),
        {"session": ["This session is planned for 16 November 2026: record its ratings on or after that day."]},
    )
    assert_refused(
        lambda: groups.session_record_ratings(session_id=session.pk, ratings={}, by=world.t_a1, on=ON),
        {"ratings": ["Give at least one rating (leave a student blank to skip them)."]},
    )
    groups.session_cancel(session_id=session.pk, by=world.t_a1)
    assert_refused(
        lambda: groups.session_record_ratings(
            session_id=session.pk, ratings={world.s_a1_1.pk: 3}, by=world.t_a1, on=ON
        ),
        {"session": ["This session was cancelled; it takes no ratings."]},
    )


# --- the pages --------------------------------------------------------------------------------------------


def test_plan_this_session_prefills_the_form_and_its_post_plans_it(client, ws, world):
    strips = ws.activity("Fraction strips", "5.A")
    for name in ("s_a1_1", "s_a1_2", "s_x_00"):
        ws.stuck(name, "5.A", 12)
    client.force_login(world.t_a1)
    [suggestion] = workspace_selectors.small_group_suggestions(ws.a1)
    url = reverse("small-group-plan", args=[ws.a1.pk])
    form = client.get(f"{url}?{suggestion.plan_query}")
    assert form.status_code == 200
    page = form.content.decode()
    for name in ("s_a1_1", "s_a1_2", "s_x_00"):
        assert f'value="{ws.user(name).pk}" id="plan-student-{ws.user(name).pk}" checked' in page
    assert f'value="{world.users["s_x_01"].pk}" id="plan-student-{world.users["s_x_01"].pk}">' in page
    assert f'<option value="{ws.c["5.A"].pk}" selected>' in page
    assert "Fraction strips" in page and suggestion.why in page
    response = client.post(
        url,
        {
            "origin": "stuck",
            "why": suggestion.why,
            "competency": ws.c["5.A"].pk,
            "planned_for": "2026-11-17",
            "students": [s.pk for s in suggestion.students],
            "materials": [strips.pk],
            "note": "",
        },
    )
    session = SmallGroupSession.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("teacher-home") + f"#session-{session.pk}"
    assert (session.origin, session.why, session.planned_for) == ("stuck", suggestion.why, datetime.date(2026, 11, 17))
    assert list(session.materials.all()) == [strips]


def test_the_plan_form_refuses_a_student_who_left_with_400_and_stores_nothing(client, ws, world):
    client.force_login(world.t_a1)
    response = client.post(
        reverse("small-group-plan", args=[ws.a1.pk]),
        {
            "competency": ws.c["5.A"].pk,
            "planned_for": "2026-11-17",
            "students": [world.s_a1_1.pk, world.users["s_left"].pk],
        },
    )
    assert response.status_code == 400
    assert "S s_left has left Math A1." in response.content.decode()
    assert not SmallGroupSession.objects.exists()


def test_the_session_page_records_one_rating_per_student_in_one_form(client, ws, world, session):
    client.force_login(world.t_a1)
    url = reverse("small-group-session", args=[session.pk])
    page = client.get(url).content.decode()
    for name in ("s_a1_1", "s_a1_2", "s_x_00"):
        pk = ws.user(name).pk
        assert f'<label class="visually-hidden" for="rating-{pk}">Rating for S {name}</label>' in page
    ratings = reverse("small-group-ratings", args=[session.pk])
    refused = client.post(ratings, {f"rating-{world.s_a1_1.pk}": "3", f"rating-{world.s_a1_2.pk}": "7"})
    assert refused.status_code == 400
    assert "The rating for S s_a1_2 must be a whole number from 1 to 4, not “7”." in refused.content.decode()
    assert not Evidence.objects.exists()
    done = client.post(
        ratings,
        {f"rating-{world.s_a1_1.pk}": "3", f"rating-{world.s_a1_2.pk}": "4", f"rating-{ws.user('s_x_00').pk}": ""},
    )
    assert done.status_code == 302 and done["Location"] == url
    assert sorted(Evidence.objects.values_list("rating", flat=True)) == [3, 4]
    shown = client.get(url).content.decode()
    assert "2 ratings recorded as evidence on 5.A; mastery and paths are updated." in shown
    assert "In progress" in shown


def test_the_workspace_pages_are_for_the_sections_teachers_only(client, ws, world, session):
    for user, status in ((world.t_a2, 404), (world.users["p_a"], 404), (world.s_a1_1, 404), (world.t_a1, 200)):
        client.force_login(user)
        assert client.get(reverse("small-group-session", args=[session.pk])).status_code == status
        assert client.get(reverse("small-group-plan", args=[ws.a1.pk])).status_code == status
    client.force_login(world.t_a2)
    assert (
        client.post(reverse("small-group-ratings", args=[session.pk]), {f"rating-{world.s_a1_1.pk}": "3"}).status_code
        == 404
    )
    assert not Evidence.objects.exists()
