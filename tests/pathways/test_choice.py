"""Choice within limits: the limits a teacher sets, the steps a student may choose, the choice itself and
its approval. Every refusal leaves the database exactly as it was."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from mastery.models import Competency, Framework, MasteryState, MasteryStatus, Prerequisite
from pathways import choice_selectors
from pathways.models import Activity, ChoiceLimits, LearningPath, PathStep, StepChoice
from pathways.services import choice
from profiles import access
from profiles.models import Enrollment, Section, Term
from tests.world import World

READY, LOCKED = PathStep.State.READY, PathStep.State.LOCKED


class Paths:
    """Math (Mathematics, grades 3-8) and paths built directly (generation is not tested here).

    Prerequisites: M2 needs M1; M6 needs M2 and M3; M7 needs M4.
    s_a1_1 (section A1) has mastered M1. Their path, in order:
        1 M1 mastered · 2 M2 ready · 3 M3 ready · 4 M4 ready · 5 M5 ready · 6 M6 locked · 7 M7 skipped
    s_a1_2 (section A1): 1 M2 ready · 2 M3 ready.
    Activities: "Fraction strips" (M2, approved), "Number line game" (M2 and M3, approved),
    "Unchecked worksheet" (M2, pending), "Broken video" (M2, rejected), "Decimal darts" (M4, approved).
    """

    def __init__(self, world: World):
        self.world = world
        self.math = Framework.objects.create(name="Math", subject="Mathematics", grade_low=3, grade_high=8)
        self.m = {
            n: Competency.objects.create(
                framework=self.math, code=f"M{n}", statement=f"M{n}", grade_level=5, sort_order=n
            )
            for n in range(1, 8)
        }
        for competency, prerequisite in ((2, 1), (6, 2), (6, 3), (7, 4)):
            Prerequisite.objects.create(competency=self.m[competency], prerequisite=self.m[prerequisite])
        MasteryState.objects.create(student=world.s_a1_1, competency=self.m[1], status=MasteryStatus.MASTERED)
        self.term = world.sections["A1"].term
        self.path = self.make_path(world.s_a1_1)
        self.steps = {
            n: self.make_step(self.path, n, n, state)
            for n, state in (
                (1, PathStep.State.MASTERED),
                (2, READY),
                (3, READY),
                (4, READY),
                (5, READY),
                (6, LOCKED),
            )
        }
        self.steps[7] = self.make_step(self.path, 7, 7, PathStep.State.SKIPPED, skip_reason="Shown in class.")
        self.other_path = self.make_path(world.s_a1_2)
        self.other_steps = {n: self.make_step(self.other_path, order, n, READY) for order, n in ((1, 2), (2, 3))}
        self.activities = {
            "strips": self.activity("Fraction strips", [2], Activity.Review.APPROVED),
            "line": self.activity("Number line game", [2, 3], Activity.Review.APPROVED),
            "unchecked": self.activity("Unchecked worksheet", [2], Activity.Review.PENDING),
            "broken": self.activity("Broken video", [2], Activity.Review.REJECTED),
            "darts": self.activity("Decimal darts", [4], Activity.Review.APPROVED),
        }

    def make_path(self, student) -> LearningPath:
        return LearningPath.objects.create(
            student=student,
            framework=self.math,
            term=self.term,
            start_date=datetime.date(2026, 9, 1),
            target_date=datetime.date(2027, 6, 1),
        )

    def make_step(self, path, order, n, state, **extra) -> PathStep:
        return PathStep.objects.create(
            path=path,
            competency=self.m[n],
            order=order,
            state=state,
            reason=PathStep.Reason.GRADE_LEVEL_TARGET,
            **extra,
        )

    def activity(self, title, numbers, status) -> Activity:
        reviewed = {} if status == Activity.Review.PENDING else {"reviewed_by": self.world.t_a1}
        activity = Activity.objects.create(
            title=title,
            review_status=status,
            reviewed_at=None
            if status == Activity.Review.PENDING
            else datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC),
            **reviewed,
        )
        activity.competencies.set([self.m[n] for n in numbers])
        return activity

    def limits(self, section_code="A1", *, open_ready_steps=3, required=(), approval=False) -> ChoiceLimits:
        return choice.choice_limits_set(
            section_id=self.world.sections[section_code].pk,
            open_ready_steps=open_ready_steps,
            required_first_ids=[self.m[n].pk for n in required],
            approval_required=approval,
            by=self.world.t_a1 if section_code == "A1" else self.world.users["admin_north"],
        )

    def choosable(self, student=None, path=None) -> list[str]:
        student, path = student or self.world.s_a1_1, path or self.path
        return [s.competency.code for s in choice_selectors.choosable_steps(student_id=student.pk, path_id=path.pk)]

    def choose(self, n, activity=None, student=None) -> StepChoice:
        return choice.step_choose(
            student_user=student or self.world.s_a1_1,
            step_id=self.steps[n].pk,
            activity_id=None if activity is None else self.activities[activity].pk,
        )


@pytest.fixture
def paths(world) -> Paths:
    return Paths(world)


def snapshot() -> dict[str, list[Any]]:
    """Every row choice can touch: a refusal must leave all of them as they were."""
    return {
        "choices": list(StepChoice.objects.order_by("pk").values()),
        "steps": list(PathStep.objects.order_by("pk").values()),
        "limits": list(ChoiceLimits.objects.order_by("pk").values()),
        "required_first": list(ChoiceLimits.required_first.through.objects.order_by("pk").values()),
        "activities": list(Activity.objects.order_by("pk").values()),
    }


def assert_refused(call, errors: dict[str, list[str]]) -> None:
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        call()
    assert refused.value.message_dict == errors
    assert snapshot() == before


def assert_forbidden(call, message: str) -> None:
    before = snapshot()
    with pytest.raises(PermissionDenied) as refused:
        call()
    assert str(refused.value) == message
    assert snapshot() == before


# --- access rules ---------------------------------------------------------------------------------


def test_who_may_set_the_limits_of_section_a1(world):
    section = world.sections["A1"]
    allowed = {name for name, user in world.users.items() if access.can_set_choice_limits(user, section)}
    assert allowed == {"t_a1", "p_a", "admin_north"}


def test_who_may_decide_the_choices_of_s_a1_1(world):
    student_id = world.s_a1_1.pk
    allowed = {name for name, user in world.users.items() if access.can_decide_step_choices(user, student_id)}
    assert allowed == {"t_a1"}


def test_only_a_teacher_of_an_active_enrollment_decides(world):
    assert not access.can_decide_step_choices(world.t_a1, world.s_left.pk)  # enrolled, but inactive


def test_who_may_review_activities(world):
    allowed = {name for name, user in world.users.items() if access.can_review_activities(user)}
    assert allowed == {"t_a1", "t_a2", "t_b1", "t_s1", "p_a", "p_b", "p_s", "admin_north", "admin_south"}


def test_who_may_choose_their_own_steps(world):
    allowed = {name for name, user in world.users.items() if access.can_choose_own_steps(user)}
    assert allowed == {"s_a1_1", "s_a1_2", "s_left", "s_a2_1", "s_b1_1", "s_s1_1"}


# --- setting limits -------------------------------------------------------------------------------


def test_teacher_sets_limits_of_their_section(paths, world):
    limits = paths.limits(open_ready_steps=2, required=[4, 5], approval=True)
    limits.refresh_from_db()
    assert (limits.section_id, limits.open_ready_steps, limits.approval_required, limits.updated_by_id) == (
        world.sections["A1"].pk,
        2,
        True,
        world.t_a1.pk,
    )
    assert sorted(c.code for c in limits.required_first.all()) == ["M4", "M5"]


def test_setting_limits_again_replaces_them(paths, world):
    first = paths.limits(open_ready_steps=2, required=[4, 5], approval=True)
    second = choice.choice_limits_set(
        section_id=world.sections["A1"].pk,
        open_ready_steps=5,
        required_first_ids=[paths.m[3].pk, paths.m[3].pk],
        approval_required=False,
        by=world.p_a,
    )
    second.refresh_from_db()
    assert second.pk == first.pk
    assert ChoiceLimits.objects.count() == 1
    assert (second.open_ready_steps, second.approval_required, second.updated_by_id) == (5, False, world.p_a.pk)
    assert [c.code for c in second.required_first.all()] == ["M3"]


@pytest.mark.parametrize("username", ["p_a", "admin_north"])
def test_principal_and_district_admin_who_see_the_section_set_limits(paths, world, username):
    limits = choice.choice_limits_set(
        section_id=world.sections["A1"].pk,
        open_ready_steps=4,
        required_first_ids=[],
        approval_required=True,
        by=world.users[username],
    )
    assert (limits.open_ready_steps, limits.approval_required) == (4, True)


@pytest.mark.parametrize("username", ["t_a2", "t_b1", "p_b", "admin_south", "s_a1_1", "g_1"])
def test_others_may_not_set_limits(paths, world, username):
    assert_forbidden(
        lambda: choice.choice_limits_set(
            section_id=world.sections["A1"].pk,
            open_ready_steps=4,
            required_first_ids=[],
            approval_required=True,
            by=world.users[username],
        ),
        "You may not set the choice limits of this section.",
    )


@pytest.mark.parametrize(
    ("open_ready_steps", "message"),
    [
        (0, "Open between 1 and 20 ready steps."),
        (21, "Open between 1 and 20 ready steps."),
        (-1, "Open between 1 and 20 ready steps."),
        ("3", "A whole number is required."),
        (True, "A whole number is required."),
        (2.5, "A whole number is required."),
    ],
)
def test_open_count_outside_1_to_20_is_refused(paths, world, open_ready_steps, message):
    paths.limits(open_ready_steps=2, required=[4])
    assert_refused(
        lambda: choice.choice_limits_set(
            section_id=world.sections["A1"].pk,
            open_ready_steps=open_ready_steps,
            required_first_ids=[],
            approval_required=False,
            by=world.t_a1,
        ),
        {"open_ready_steps": [message]},
    )


def test_open_count_bounds_are_accepted(paths):
    assert paths.limits(open_ready_steps=1).open_ready_steps == 1
    assert paths.limits(open_ready_steps=20).open_ready_steps == 20


def test_unknown_required_competencies_are_named_and_nothing_changes(paths, world):
    paths.limits(open_ready_steps=2, required=[4])
    assert_refused(
        lambda: choice.choice_limits_set(
            section_id=world.sections["A1"].pk,
            open_ready_steps=0,
            required_first_ids=[paths.m[5].pk, 10**9 + 1, 10**9],
            approval_required="yes",
            by=world.t_a1,
        ),
        {
            "open_ready_steps": ["Open between 1 and 20 ready steps."],
            "required_first_ids": [f"No such competency: {10**9}, {10**9 + 1}."],
            "approval_required": ["Yes or no (true or false) is required."],
        },
    )


def test_unknown_section_is_refused(paths, world):
    assert_refused(
        lambda: choice.choice_limits_set(
            section_id=10**9, open_ready_steps=3, required_first_ids=[], approval_required=False, by=world.t_a1
        ),
        {"section_id": ["No such section."]},
    )


# --- which steps are open -------------------------------------------------------------------------


def test_without_limits_the_first_three_ready_steps_are_open(paths):
    assert paths.choosable() == ["M2", "M3", "M4"]
    assert choice_selectors.choice_limits_for_path(path=paths.path) == choice_selectors.EffectiveChoiceLimits(
        3, frozenset(), False, ()
    )


def test_open_count_follows_the_limits(paths):
    paths.limits(open_ready_steps=2)
    assert paths.choosable() == ["M2", "M3"]
    paths.limits(open_ready_steps=20)
    assert paths.choosable() == ["M2", "M3", "M4", "M5"]


def test_in_progress_steps_are_choosable_in_path_order(paths):
    PathStep.objects.filter(pk=paths.steps[3].pk).update(state=PathStep.State.IN_PROGRESS)
    PathStep.objects.filter(pk=paths.steps[2].pk).update(state=PathStep.State.MASTERED)
    assert paths.choosable() == ["M3", "M4", "M5"]


def test_required_first_competencies_alone_are_open_while_ready(paths):
    paths.limits(open_ready_steps=2, required=[5])
    assert paths.choosable() == ["M5"]


def test_pinned_and_required_steps_come_first_in_path_order(paths):
    PathStep.objects.filter(pk=paths.steps[4].pk).update(pinned=True)
    paths.limits(open_ready_steps=1, required=[5, 3])
    assert paths.choosable() == ["M3", "M4", "M5"]  # all required ones, beyond the open count


def test_a_required_competency_that_is_not_ready_does_not_close_choice(paths):
    paths.limits(open_ready_steps=2, required=[6, 1])  # M6 locked, M1 mastered
    assert paths.choosable() == ["M2", "M3"]


def test_once_required_steps_are_mastered_free_choice_returns(paths):
    paths.limits(open_ready_steps=2, required=[5])
    PathStep.objects.filter(pk=paths.steps[5].pk).update(state=PathStep.State.MASTERED)
    assert paths.choosable() == ["M2", "M3"]


def test_another_students_path_offers_nothing(paths, world):
    assert paths.choosable(student=world.s_a1_2, path=paths.path) == []
    assert paths.choosable(student=world.s_a1_2, path=paths.other_path) == ["M2", "M3"]


def test_strictest_limits_of_several_matching_sections(paths, world):
    a1 = world.sections["A1"]
    extra = Section.objects.create(school=a1.school, term=a1.term, code="A3", name="Math lab", grade_level=5)
    Enrollment.objects.create(section=extra, user=world.s_a1_1, role=Enrollment.Role.STUDENT)
    world.sections["A3"] = extra
    paths.limits("A1", open_ready_steps=4, required=[6], approval=False)
    paths.limits("A3", open_ready_steps=2, required=[7], approval=True)
    effective = choice_selectors.choice_limits_for_path(path=paths.path)
    assert effective == choice_selectors.EffectiveChoiceLimits(
        2, frozenset({paths.m[6].pk, paths.m[7].pk}), True, (a1.pk, extra.pk)
    )
    assert paths.choosable() == ["M2", "M3"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"grade_level": 9}, "grade outside the framework's 3-8"),
        ({"subject": "Science"}, "another subject"),
        ({"active": False}, "inactive enrollment"),
        ({"term": "next year"}, "a term that does not overlap the path's"),
    ],
)
def test_sections_that_do_not_match_the_path_set_no_limits(paths, world, change, why):
    a1 = world.sections["A1"]
    term = a1.term
    if change.get("term"):
        term = Term.objects.create(
            school=a1.school, name="2027-28", start_date=datetime.date(2027, 8, 23), end_date=datetime.date(2028, 6, 9)
        )
    other = Section.objects.create(
        school=a1.school,
        term=term,
        code="X1",
        name="Other",
        grade_level=change.get("grade_level", 5),
        subject=change.get("subject", "mathematics"),
    )
    Enrollment.objects.create(
        section=other, user=world.s_a1_1, role=Enrollment.Role.STUDENT, active=change.get("active", True)
    )
    ChoiceLimits.objects.create(section=other, open_ready_steps=1, approval_required=True)
    assert choice_selectors.choice_limits_for_path(path=paths.path).open_ready_steps == 3, why
    assert paths.choosable() == ["M2", "M3", "M4"]


# --- choosing -------------------------------------------------------------------------------------


def test_choice_without_approval_is_approved_and_leaves_the_step_state(paths):
    made = paths.choose(3, "line")
    made.refresh_from_db()
    assert (made.step_id, made.activity_id, made.status, made.decided_by_id) == (
        paths.steps[3].pk,
        paths.activities["line"].pk,
        StepChoice.Status.APPROVED,
        None,
    )
    assert PathStep.objects.get(pk=paths.steps[3].pk).state == READY
    assert choice_selectors.current_step_choice(path_id=paths.path.pk) == made


def test_choice_without_activity(paths):
    made = paths.choose(4)
    assert (made.activity_id, made.status) == (None, StepChoice.Status.APPROVED)


def test_choice_needing_approval_is_pending(paths):
    paths.limits(approval=True)
    made = paths.choose(2, "strips")
    assert made.status == StepChoice.Status.PENDING
    assert choice_selectors.current_step_choice(path_id=paths.path.pk) == made


def test_a_new_choice_replaces_the_pending_one(paths):
    paths.limits(approval=True)
    first = paths.choose(2, "strips")
    second = paths.choose(4, "darts")
    first.refresh_from_db()
    assert (first.status, second.status) == (StepChoice.Status.REPLACED, StepChoice.Status.PENDING)
    assert choice_selectors.current_step_choice(path_id=paths.path.pk) == second


def test_a_new_choice_leaves_an_approved_one_and_another_students_pending_one(paths, world):
    approved = paths.choose(2)
    paths.limits(approval=True)
    theirs = choice.step_choose(student_user=world.s_a1_2, step_id=paths.other_steps[2].pk)
    paths.choose(3)
    statuses = {c.pk: c.status for c in StepChoice.objects.all()}
    assert statuses[approved.pk] == StepChoice.Status.APPROVED
    assert statuses[theirs.pk] == StepChoice.Status.PENDING


def test_choosing_a_locked_step_names_what_it_waits_for(paths):
    assert_refused(lambda: paths.choose(6), {"step_id": ["This step is locked: it waits for M2 and M3."]})


def test_locked_step_names_only_the_unmastered_prerequisites(paths, world):
    MasteryState.objects.create(student=world.s_a1_1, competency=paths.m[3], status=MasteryStatus.MASTERED)
    assert_refused(lambda: paths.choose(6), {"step_id": ["This step is locked: it waits for M2."]})


def test_locked_step_whose_prerequisites_are_met_since_says_so_plainly(paths, world):
    for n in (2, 3):
        MasteryState.objects.create(student=world.s_a1_1, competency=paths.m[n], status=MasteryStatus.MASTERED)
    assert_refused(lambda: paths.choose(6), {"step_id": ["This step is locked: it waits for its prerequisites."]})


def test_crafted_choice_of_another_students_step_is_refused(paths, world):
    assert_refused(
        lambda: choice.step_choose(student_user=world.s_a1_1, step_id=paths.other_steps[2].pk),
        {"step_id": ["This step is not in your path."]},
    )


@pytest.mark.parametrize("step_id", [10**9, "1", None, True])
def test_crafted_unknown_step_is_not_in_your_path(paths, world, step_id):
    assert_refused(
        lambda: choice.step_choose(student_user=world.s_a1_1, step_id=step_id),
        {"step_id": ["This step is not in your path."]},
    )


def test_crafted_choice_beyond_the_open_count_is_refused(paths):
    assert_refused(lambda: paths.choose(5), {"step_id": ["Choose among the steps your teacher opened."]})


def test_crafted_choice_around_a_required_step_is_refused(paths):
    paths.limits(required=[4])
    assert_refused(lambda: paths.choose(2), {"step_id": ["Choose among the steps your teacher opened."]})
    assert paths.choose(4).status == StepChoice.Status.APPROVED


def test_mastered_and_skipped_steps_are_refused(paths):
    assert_refused(lambda: paths.choose(1), {"step_id": ["This step is already mastered."]})
    assert_refused(lambda: paths.choose(7), {"step_id": ["This step was taken out of your path by your teacher."]})


@pytest.mark.parametrize("activity", ["unchecked", "broken"])
def test_crafted_choice_of_an_unapproved_activity_is_refused(paths, activity):
    assert_refused(lambda: paths.choose(2, activity), {"activity_id": ["This activity is not approved."]})


def test_crafted_choice_of_an_activity_for_another_competency_is_refused(paths):
    assert_refused(
        lambda: paths.choose(2, "darts"), {"activity_id": ["This activity is not for this step's competency."]}
    )


def test_unknown_activity_is_refused(paths, world):
    assert_refused(
        lambda: choice.step_choose(student_user=world.s_a1_1, step_id=paths.steps[2].pk, activity_id=10**9),
        {"activity_id": ["No such activity."]},
    )


def test_a_refused_choice_keeps_the_pending_one(paths):
    paths.limits(approval=True)
    pending = paths.choose(2)
    assert_refused(lambda: paths.choose(5), {"step_id": ["Choose among the steps your teacher opened."]})
    pending.refresh_from_db()
    assert pending.status == StepChoice.Status.PENDING


@pytest.mark.parametrize("username", ["t_a1", "p_a", "admin_north", "g_1"])
def test_nobody_chooses_in_a_students_name(paths, world, username):
    assert_forbidden(
        lambda: choice.step_choose(student_user=world.users[username], step_id=paths.steps[2].pk),
        "Only a student chooses their own next step.",
    )


def test_limit_changes_apply_to_the_next_choice(paths):
    assert paths.choose(4).status == StepChoice.Status.APPROVED
    paths.limits(open_ready_steps=1, approval=True)
    assert_refused(lambda: paths.choose(4), {"step_id": ["Choose among the steps your teacher opened."]})
    assert paths.choose(2).status == StepChoice.Status.PENDING


# --- deciding -------------------------------------------------------------------------------------


def decide(paths, made, approve, by=None, note=""):
    return choice.step_choice_decide(choice_id=made.pk, approve=approve, by=by or paths.world.t_a1, note=note)


def test_teacher_approves_a_pending_choice(paths, world):
    paths.limits(approval=True)
    made = paths.choose(2, "strips")
    decided = decide(paths, made, True, note="  Good pick.  ")
    decided.refresh_from_db()
    assert (decided.status, decided.decided_by_id, decided.decision_note) == (
        StepChoice.Status.APPROVED,
        world.t_a1.pk,
        "Good pick.",
    )
    assert decided.decided_at is not None
    assert PathStep.objects.get(pk=paths.steps[2].pk).state == READY
    assert choice_selectors.current_step_choice(path_id=paths.path.pk) == decided


def test_declining_falls_back_to_the_previous_approved_choice(paths):
    earlier = paths.choose(3)
    paths.limits(approval=True)
    made = paths.choose(2)
    assert choice_selectors.current_step_choice(path_id=paths.path.pk) == made
    declined = decide(paths, made, False, note="Finish M3 first.")
    assert (declined.status, declined.decision_note) == (StepChoice.Status.DECLINED, "Finish M3 first.")
    assert choice_selectors.current_step_choice(path_id=paths.path.pk) == earlier


def test_declining_the_only_choice_leaves_none_current(paths):
    paths.limits(approval=True)
    decide(paths, paths.choose(2), False)
    assert choice_selectors.current_step_choice(path_id=paths.path.pk) is None


@pytest.mark.parametrize("username", ["t_a2", "t_b1", "p_a", "admin_north", "s_a1_1", "s_a1_2", "g_1"])
def test_only_a_teacher_of_the_student_decides(paths, world, username):
    paths.limits(approval=True)
    made = paths.choose(2)
    assert_forbidden(
        lambda: decide(paths, made, True, by=world.users[username]),
        "Only a teacher of this student decides their choices.",
    )


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (StepChoice.Status.APPROVED, "approved"),
        (StepChoice.Status.DECLINED, "declined"),
        (StepChoice.Status.REPLACED, "replaced by a newer choice"),
    ],
)
def test_only_pending_choices_are_decided(paths, status, label):
    made = paths.choose(2)
    StepChoice.objects.filter(pk=made.pk).update(status=status)
    assert_refused(lambda: decide(paths, made, True), {"choice_id": [f"This choice is already {label}."]})


def test_unknown_choice_is_refused(paths, world):
    assert_refused(
        lambda: choice.step_choice_decide(choice_id=10**9, approve=True, by=world.t_a1),
        {"choice_id": ["No such choice."]},
    )


def test_approval_of_a_step_no_longer_ready_is_refused_but_declining_works(paths):
    paths.limits(approval=True)
    made = paths.choose(2)
    PathStep.objects.filter(pk=paths.steps[2].pk).update(state=PathStep.State.MASTERED)
    assert_refused(lambda: decide(paths, made, True), {"choice_id": ["This step is no longer ready: it is mastered."]})
    assert decide(paths, made, False).status == StepChoice.Status.DECLINED


def test_approval_with_an_activity_rejected_since_is_refused(paths):
    paths.limits(approval=True)
    made = paths.choose(2, "strips")
    Activity.objects.filter(pk=paths.activities["strips"].pk).update(review_status=Activity.Review.REJECTED)
    assert_refused(lambda: decide(paths, made, True), {"choice_id": ["The chosen activity is no longer approved."]})


def test_teacher_approval_stands_above_the_open_count(paths):
    paths.limits(open_ready_steps=3, approval=True)
    made = paths.choose(4)
    paths.limits(open_ready_steps=1, approval=True)
    assert decide(paths, made, True).status == StepChoice.Status.APPROVED
