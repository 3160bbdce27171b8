"""API v1 of the pathways app: paths and steps, choices, choice limits, activities and alerts, user by user
against the known world (tests/world.py). Every refused request leaves every pathways row as it was."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from mastery.models import MasteryState
from pathways.models import Activity, ChoiceLimits, LearningPath, PacingAlert, PathStep, StepChoice
from pathways.services import pacing_compute, path_generate, path_step_skip
from pathways.services.activities import activity_create, activity_review
from pathways.services.choice import choice_limits_set, step_choose
from profiles.models import User
from tests.pathways.test_paths import GENERATED, ON, Graph
from tests.world import VISIBLE_STUDENTS, World

D = datetime.date
UNKNOWN_ID = 10**9
EDITORS = {"t_a1", "p_a", "admin_north"}  # staff who see s_a1_1
READERS_ONLY = {"s_a1_1", "g_1"}  # see s_a1_1, may not change their path
UNSEEN = {"s_a1_2", "t_a2", "t_b1", "p_b", "admin_south"}  # do not see s_a1_1
MAY_NOT_EDIT = {"detail": "You may read this path but not change it."}
NOT_FOUND = {"detail": "No such path."}
STEP_NOT_FOUND = {"detail": "No such step."}


# --- the data ------------------------------------------------------------------------------------


class Pathways:
    """The curriculum of tests/pathways/test_paths.py (Math grades 3-6; s_a1_1 mastered A3 before the term)
    with generated paths for s_a1_1, s_a1_2 and s_s1_1 and one built directly for s_b1_1 (grade 7).
    s_a1_1's path is GENERATED (C5, A4, A5, D5, B4, B5) with nightly pacing as of ON (2 November 2026)."""

    def __init__(self, world: World):
        self.world = world
        self.graph = Graph(world)
        self.c = self.graph.c
        self.path = path_generate(student_id=world.s_a1_1.pk, on=ON)
        self.classmate_path = path_generate(student_id=world.s_a1_2.pk, on=ON)
        self.south_path = path_generate(student_id=world.s_s1_1.pk, on=ON)
        self.north_b_path = LearningPath.objects.create(
            student=world.s_b1_1,
            framework=self.graph.math,
            term=world.sections["B1"].term,
            start_date=D(2026, 8, 24),
            target_date=D(2027, 6, 11),
        )
        pacing_compute(student_ids=[world.s_a1_1.pk], on=ON)
        self.path.refresh_from_db()

    def step(self, code: str, path: LearningPath | None = None) -> PathStep:
        return PathStep.objects.get(path=path or self.path, competency=self.c[code])

    def steps(self, path: LearningPath | None = None) -> list[tuple[int, str, str, str]]:
        return self.graph.steps(path or self.path)


@pytest.fixture
def data(world: World) -> Pathways:
    return Pathways(world)


def snapshot() -> dict[str, list[Any]]:
    """Every row the pathways API can write: a refusal must leave all of them as they were."""
    return {
        "paths": list(LearningPath.objects.order_by("pk").values()),
        "steps": list(PathStep.objects.order_by("pk").values()),
        "choices": list(StepChoice.objects.order_by("pk").values()),
        "limits": list(ChoiceLimits.objects.order_by("pk").values()),
        "required_first": list(ChoiceLimits.required_first.through.objects.order_by("pk").values()),
        "activities": list(Activity.objects.order_by("pk").values()),
        "activity_competencies": list(Activity.competencies.through.objects.order_by("pk").values()),
        "alerts": list(PacingAlert.objects.order_by("pk").values()),
    }


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def url(name: str, *args: Any) -> str:
    return reverse(f"api-v1:{name}", args=args)


def get(user: User | None, name: str, *args: Any, **query: Any) -> Any:
    return client_for(user).get(url(name, *args), query)


def post(user: User | None, name: str, body: Any, *args: Any) -> Any:
    return client_for(user).post(url(name, *args), body, format="json")


def refused(call, status: int, body: Any) -> None:
    """The request is refused with exactly this answer, and nothing changes."""
    before = snapshot()
    response = call()
    assert (response.status_code, response.json()) == (status, body)
    assert snapshot() == before


# --- paths: reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_the_path_list_is_exactly_the_paths_of_visible_students(world, data, username):
    paths = {
        "s_a1_1": data.path.pk,
        "s_a1_2": data.classmate_path.pk,
        "s_s1_1": data.south_path.pk,
        "s_b1_1": data.north_b_path.pk,
    }
    response = get(world.users[username], "learning-path-list")
    assert response.status_code == 200
    expected = sorted((world.users[name].pk, paths[name]) for name in VISIBLE_STUDENTS[username] if name in paths)
    assert [(row["student"], row["id"]) for row in response.json()["results"]] == expected


def test_a_path_in_the_list(world, data):
    response = get(world.t_a1, "learning-path-list", student=world.s_a1_1.pk)
    assert response.json()["results"] == [
        {
            "id": data.path.pk,
            "student": world.s_a1_1.pk,
            "framework": data.graph.math.pk,
            "term": world.sections["A1"].term_id,
            "start_date": "2026-08-24",
            "target_date": "2027-06-11",
            "pacing_on": "2026-11-02",
            "pacing_status": "off_track",
            "created_at": timezone.localtime(data.path.created_at).isoformat(),
            "updated_at": timezone.localtime(data.path.updated_at).isoformat(),
        }
    ]


def test_path_list_filters(world, data):
    by_framework = get(world.admin_north, "learning-path-list", framework=data.graph.math.pk).json()["results"]
    assert [row["id"] for row in by_framework] == [data.path.pk, data.classmate_path.pk, data.north_b_path.pk]
    assert get(world.admin_north, "learning-path-list", framework=UNKNOWN_ID).json()["count"] == 0
    assert get(world.t_a1, "learning-path-list", student=world.s_b1_1.pk).json()["count"] == 0  # unseen
    malformed = get(world.t_a1, "learning-path-list", framework="math")
    assert (malformed.status_code, malformed.json()) == (400, {"framework": ["A whole number is required."]})


def expected_steps(data: Pathways) -> list[dict[str, Any]]:
    waits = {"A5": ["A4"], "D5": ["A5"], "B5": ["B4", "A5"]}
    return [
        {
            "id": data.step(code).pk,
            "competency": data.c[code].pk,
            "order": order,
            "state": state,
            "reason": reason,
            "is_target": reason != "gap_filling",
            "pinned": False,
            "skip_reason": "",
            "waits_for": [data.c[w].pk for w in waits.get(code, [])],
        }
        for order, code, reason, state in GENERATED
    ]


NO_PACE_TAIL = (
    "mastered none of the grade 5 goals in the last 20 school days, so there is no pace yet to project a finish "
    "from; the target is 11 June."
)
NO_PACE = f"You {NO_PACE_TAIL}"


def expected_path(world: World, data: Pathways, *, can_edit: bool, sentence: str = NO_PACE) -> dict[str, Any]:
    return {
        "id": data.path.pk,
        "student": world.s_a1_1.pk,
        "framework": data.graph.math.pk,
        "term": world.sections["A1"].term_id,
        "start_date": "2026-08-24",
        "target_date": "2027-06-11",
        "targets_mastered_at_start": 0,
        "target_competencies": [],
        "can_edit": can_edit,
        "pacing": {
            "on": "2026-11-02",
            "status": "off_track",
            "status_label": "Off track",
            "sentence": sentence,
            "behind": "1 competency behind",
            "figures": {
                "on": "2026-11-02",
                "start_date": "2026-08-24",
                "target_date": "2027-06-11",
                "target_count": 4,
                "mastered_at_start": 0,
                "mastered": 0,
                "school_days_elapsed": 50,
                "school_days_total": 209,  # (24 August, 11 June]: weekdays, no holidays in this term
                "expected": 4 * (50 / 209),  # E = A0 + (|T| - A0) * elapsed / total
                "window_days": 20,
                "mastered_in_window": 0,
                "velocity": 0.0,
                "school_days_to_finish": None,
                "projected_finish": None,
                "school_days_late": None,
                "behind": 1,
                "status": "off_track",
            },
        },
        "counts": {"locked": 3, "ready": 3, "in_progress": 0, "mastered": 0, "skipped": 0},
        "steps": expected_steps(data),
    }


@pytest.mark.parametrize("username", sorted(READERS_ONLY | EDITORS))
def test_the_path_detail_gives_the_steps_in_order_and_the_pacing(world, data, username):
    response = get(world.users[username], "learning-path-detail", data.path.pk)
    assert response.status_code == 200
    sentence = f"{world.s_a1_1.get_full_name() or 's_a1_1'} {NO_PACE_TAIL}" if username in EDITORS else NO_PACE
    assert response.json() == expected_path(world, data, can_edit=username in EDITORS, sentence=sentence)


def test_the_pacing_sentence_is_in_the_readers_wording(world, data):
    """C5 mastered on 20 October: one target in the last 20 school days, three left, 60 school days to go."""
    MasteryState.objects.create(
        student=world.s_a1_1,
        competency=data.c["C5"],
        status="mastered",
        first_mastered_at=datetime.datetime(2026, 10, 20, 15, tzinfo=datetime.UTC),
    )
    path_generate(student_id=world.s_a1_1.pk, on=ON)
    pacing_compute(student_ids=[world.s_a1_1.pk], on=ON)
    sentences = {
        name: get(world.users[name], "learning-path-detail", data.path.pk).json()["pacing"]
        for name in ("s_a1_1", "g_1", "t_a1", "p_a")
    }
    student = "At this pace you finish the grade 5 goals around 25 January; the target is 11 June."
    teacher = "At this pace S s_a1_1 finishes the grade 5 goals around 25 January; the target is 11 June."
    assert {name: pacing["sentence"] for name, pacing in sentences.items()} == {
        "s_a1_1": student,
        "g_1": student,
        "t_a1": teacher,
        "p_a": teacher,
    }
    figures = sentences["s_a1_1"]["figures"]
    assert (sentences["s_a1_1"]["status"], sentences["s_a1_1"]["behind"]) == ("on_track", "not behind")
    assert (figures["mastered"], figures["mastered_in_window"], figures["velocity"]) == (1, 1, 0.05)
    assert (figures["school_days_to_finish"], figures["projected_finish"], figures["school_days_late"]) == (
        60,
        "2027-01-25",
        -99,  # 25 January is 99 school days before 11 June
    )


def test_a_path_before_its_first_nightly_run_has_no_pacing_yet(world, data):
    body = get(world.t_a1, "learning-path-detail", data.classmate_path.pk).json()
    assert body["pacing"] == {
        "on": None,
        "status": "",
        "status_label": "",
        "sentence": "",
        "behind": "",
        "figures": None,
    }


@pytest.mark.parametrize("username", sorted(UNSEEN))
def test_the_path_and_its_steps_are_404_for_those_who_do_not_see_the_student(world, data, username):
    user = world.users[username]
    response = get(user, "learning-path-detail", data.path.pk)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    response = get(user, "path-step-detail", data.step("A5").pk)
    assert (response.status_code, response.json()) == (404, STEP_NOT_FOUND)


def test_unknown_path_and_step_are_404_and_anonymous_is_refused(world, data):
    assert get(world.t_a1, "learning-path-detail", UNKNOWN_ID).json() == NOT_FOUND
    assert get(world.t_a1, "path-step-detail", UNKNOWN_ID).json() == STEP_NOT_FOUND
    assert get(None, "learning-path-list").status_code == 403
    assert get(None, "learning-path-detail", data.path.pk).status_code == 403


def test_a_step_detail(world, data):
    response = get(world.g_1, "path-step-detail", data.step("B5").pk)
    assert (response.status_code, response.json()) == (
        200,
        {**expected_steps(data)[5], "path": data.path.pk},
    )


# --- paths: teacher edits ----------------------------------------------------------------------------


def test_staff_set_the_dates_and_a_target_before_the_start_is_refused_naming_the_field(world, data):
    refused(
        lambda: post(
            world.t_a1, "learning-path-dates", {"start_date": "2026-09-01", "target_date": "2026-08-31"}, data.path.pk
        ),
        400,
        {"target_date": ["The target date (2026-08-31) must come after the start date (2026-09-01)."]},
    )
    refused(
        lambda: post(world.t_a1, "learning-path-dates", {"start_date": "2026-09-01"}, data.path.pk),
        400,
        {"target_date": ["This field is required."]},
    )
    refused(
        lambda: post(
            world.t_a1, "learning-path-dates", {"start_date": "soon", "target_date": "2027-05-28"}, data.path.pk
        ),
        400,
        {"start_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
    )
    response = post(
        world.p_a, "learning-path-dates", {"start_date": "2026-09-01", "target_date": "2027-05-28"}, data.path.pk
    )
    assert response.status_code == 200
    assert (response.json()["start_date"], response.json()["target_date"]) == ("2026-09-01", "2027-05-28")
    data.path.refresh_from_db()
    assert (data.path.start_date, data.path.target_date) == (D(2026, 9, 1), D(2027, 5, 28))


def test_staff_regenerate_the_path_keeping_their_work_or_choosing_targets(world, data):
    path_step_skip(step_id=data.step("D5").pk, reason="Covered by the science unit.")
    PathStep.objects.filter(path=data.path).delete()  # a path emptied by hand comes back
    response = post(world.admin_north, "learning-path-regenerate", {}, data.path.pk)
    assert response.status_code == 200
    assert [(s["order"], s["competency"], s["state"]) for s in response.json()["steps"]] == [
        (order, data.c[code].pk, state) for order, code, _, state in GENERATED
    ]
    response = post(world.t_a1, "learning-path-regenerate", {"target_competencies": [data.c["X6"].pk]}, data.path.pk)
    assert response.status_code == 200
    assert response.json()["target_competencies"] == [data.c["X6"].pk]
    assert data.steps() == [
        (1, "A4", "gap_filling", "ready"),
        (2, "B4", "gap_filling", "ready"),
        (3, "A5", "gap_filling", "locked"),
        (4, "B5", "gap_filling", "locked"),
        (5, "X6", "grade_level_target", "locked"),
    ]
    refused(
        lambda: post(world.t_a1, "learning-path-regenerate", {"target_competencies": [UNKNOWN_ID]}, data.path.pk),
        400,
        {"target_competencies": [f"No such competency: {UNKNOWN_ID}."]},
    )


def test_staff_add_a_step_with_the_prerequisites_it_needs(world, data):
    x6 = data.c["X6"]
    response = post(world.t_a1, "learning-path-steps", {"competency": x6.pk}, data.path.pk)
    assert response.status_code == 201
    assert response.json()["steps"][-1] == {
        "id": data.step("X6").pk,
        "competency": x6.pk,
        "order": 7,
        "state": "locked",
        "reason": "teacher_added",
        "is_target": True,
        "pinned": False,
        "skip_reason": "",
        "waits_for": [data.c["B5"].pk],
    }
    refused(
        lambda: post(world.t_a1, "learning-path-steps", {"competency": x6.pk}, data.path.pk),
        400,
        {"competency": ["X6 is already on this path."]},
    )
    refused(
        lambda: post(world.t_a1, "learning-path-steps", {"competency": UNKNOWN_ID}, data.path.pk),
        400,
        {"competency": [f"No such competency: {UNKNOWN_ID}."]},
    )
    refused(
        lambda: post(world.t_a1, "learning-path-steps", {}, data.path.pk),
        400,
        {"competency": ["This field is required."]},
    )


def test_staff_reorder_but_never_before_a_prerequisite(world, data):
    a5 = data.step("A5").pk
    refused(
        lambda: post(world.t_a1, "path-step-reorder", {"position": 1}, a5),
        400,
        {"position": ["A5 cannot come before A4: A4 is a prerequisite of A5."]},
    )
    refused(
        lambda: post(world.t_a1, "path-step-reorder", {"position": 7}, a5),
        400,
        {"position": ["Choose a position from 1 to 6."]},
    )
    refused(
        lambda: post(world.t_a1, "path-step-reorder", {"position": "first"}, a5),
        400,
        {"position": ["A valid integer is required."]},
    )
    response = post(world.t_a1, "path-step-reorder", {"position": 1}, data.step("B4").pk)
    assert response.status_code == 200
    assert [s["competency"] for s in response.json()["steps"]] == [
        data.c[code].pk for code in ("B4", "C5", "A4", "A5", "D5", "B5")
    ]
    assert [order for order, *_ in data.steps()] == [1, 2, 3, 4, 5, 6]


def test_staff_remove_a_step_unless_another_needs_it(world, data):
    refused(
        lambda: client_for(world.t_a1).delete(url("path-step-detail", data.step("A4").pk)),
        400,
        {"step": ["A4 is a prerequisite of A5 on this path; skip it with a reason instead, or remove A5 first."]},
    )
    response = client_for(world.t_a1).delete(url("path-step-detail", data.step("C5").pk))
    assert (response.status_code, response.content) == (204, b"")
    assert data.steps() == [
        (order, code, reason, state) for order, (_, code, reason, state) in enumerate(GENERATED[1:], 1)
    ]


def test_staff_pin_and_unpin(world, data):
    b4 = data.step("B4")
    response = post(world.t_a1, "path-step-pin", {}, b4.pk)
    assert response.status_code == 200
    assert [s["pinned"] for s in response.json()["steps"]] == [False, False, False, False, True, False]
    response = post(world.t_a1, "path-step-unpin", {}, b4.pk)
    assert response.status_code == 200
    b4.refresh_from_db()
    assert b4.pinned is False


def test_staff_skip_with_a_reason_and_unskip(world, data):
    a4 = data.step("A4").pk
    refused(
        lambda: post(world.t_a1, "path-step-skip", {"reason": "   "}, a4),
        400,
        {"reason": ["Say why the step is skipped."]},
    )
    refused(lambda: post(world.t_a1, "path-step-skip", {}, a4), 400, {"reason": ["Say why the step is skipped."]})
    refused(lambda: post(world.t_a1, "path-step-unskip", {}, a4), 400, {"step": ["This step is not skipped."]})
    response = post(world.t_a1, "path-step-skip", {"reason": "Shown in class discussion."}, a4)
    assert response.status_code == 200
    step = response.json()["steps"][1]
    assert (step["state"], step["skip_reason"], response.json()["counts"]["skipped"]) == (
        "skipped",
        "Shown in class discussion.",
        1,
    )
    response = post(world.t_a1, "path-step-unskip", {}, a4)
    assert response.status_code == 200
    assert (response.json()["steps"][1]["state"], response.json()["steps"][1]["skip_reason"]) == ("ready", "")


EDITS = [
    ("learning-path-regenerate", "path", {}),
    ("learning-path-dates", "path", {"start_date": "2026-09-01", "target_date": "2027-05-28"}),
    ("learning-path-steps", "path", {"competency": "X6"}),
    ("path-step-reorder", "step", {"position": 1}),
    ("path-step-pin", "step", {}),
    ("path-step-unpin", "step", {}),
    ("path-step-skip", "step", {"reason": "Not needed."}),
    ("path-step-unskip", "step", {}),
    ("path-step-detail", "step", None),  # DELETE
]


def edit(data: Pathways, user: User, name: str, target: str, body: dict[str, Any] | None) -> Any:
    pk = data.path.pk if target == "path" else data.step("B4").pk
    if body is None:
        return client_for(user).delete(url(name, pk))
    if "competency" in body:
        body = {"competency": data.c[body["competency"]].pk}
    return post(user, name, body, pk)


@pytest.mark.parametrize("username", sorted(READERS_ONLY))
@pytest.mark.parametrize(("name", "target", "body"), EDITS)
def test_those_who_only_read_the_path_may_not_change_it(world, data, username, name, target, body):
    refused(lambda: edit(data, world.users[username], name, target, body), 403, MAY_NOT_EDIT)


@pytest.mark.parametrize("username", sorted(UNSEEN))
@pytest.mark.parametrize(("name", "target", "body"), EDITS)
def test_a_path_of_an_unseen_student_is_unknown(world, data, username, name, target, body):
    refused(
        lambda: edit(data, world.users[username], name, target, body),
        404,
        NOT_FOUND if target == "path" else STEP_NOT_FOUND,
    )


def test_anonymous_changes_nothing(world, data):
    for name, target, body in EDITS:
        before = snapshot()
        assert edit(data, None, name, target, body).status_code == 403
        assert snapshot() == before


# --- choices -------------------------------------------------------------------------------------------


@pytest.fixture
def activities(world, data) -> dict[str, Activity]:
    made = {
        "strips": activity_create(title="Fraction strips", competency_ids=[data.c["C5"].pk], by=world.t_a1),
        "draft": activity_create(title="Draft worksheet", competency_ids=[data.c["C5"].pk], by=world.t_a1),
        "line": activity_create(title="Number line", competency_ids=[data.c["A4"].pk, data.c["B4"].pk], by=world.t_b1),
    }
    for key in ("strips", "line"):
        activity_review(activity_id=made[key].pk, status="approved", by=world.p_a)
    for activity in made.values():
        activity.refresh_from_db()
    return made


def choice_body(choice: StepChoice) -> dict[str, Any]:
    choice.refresh_from_db()
    return {
        "id": choice.pk,
        "step": choice.step_id,
        "path": choice.step.path_id,
        "student": choice.step.path.student_id,
        "competency": choice.step.competency_id,
        "activity": choice.activity_id,
        "status": choice.status,
        "chosen_at": timezone.localtime(choice.chosen_at).isoformat(),
        "decided_by": choice.decided_by_id,
        "decided_at": None if choice.decided_at is None else timezone.localtime(choice.decided_at).isoformat(),
        "decision_note": choice.decision_note,
    }


def test_a_student_chooses_a_step_of_their_path_with_an_activity(world, data, activities):
    response = post(world.s_a1_1, "step-choice-list", {"step": data.step("C5").pk, "activity": activities["strips"].pk})
    assert response.status_code == 201
    choice = StepChoice.objects.get()
    assert response.json() == choice_body(choice)
    assert (choice.step, choice.activity, choice.status) == (data.step("C5"), activities["strips"], "approved")
    assert data.step("C5").state == "ready"  # choosing leaves the state to mastery


def test_a_choice_waits_for_approval_when_the_limits_say_so(world, data):
    choice_limits_set(
        section_id=world.sections["A1"].pk,
        open_ready_steps=3,
        required_first_ids=[],
        approval_required=True,
        by=world.t_a1,
    )
    response = post(world.s_a1_1, "step-choice-list", {"step": data.step("A4").pk})
    assert (response.status_code, response.json()["status"], response.json()["activity"]) == (201, "pending", None)


def test_a_step_that_cannot_be_chosen_is_refused_with_the_reason(world, data, activities):
    def choose(step: Any, **extra: Any) -> Any:
        return lambda: post(world.s_a1_1, "step-choice-list", {"step": step, **extra})

    refused(choose(data.step("A5").pk), 400, {"step": ["This step is locked: it waits for A4."]})
    refused(choose(data.step("C5", data.classmate_path).pk), 400, {"step": ["This step is not in your path."]})
    refused(choose(UNKNOWN_ID), 400, {"step": ["This step is not in your path."]})
    refused(choose("C5"), 400, {"step": ["A valid integer is required."]})
    refused(
        choose(data.step("C5").pk, activity=activities["draft"].pk),
        400,
        {"activity": ["This activity is not approved."]},
    )
    refused(
        choose(data.step("C5").pk, activity=activities["line"].pk),
        400,
        {"activity": ["This activity is not for this step's competency."]},
    )
    choice_limits_set(
        section_id=world.sections["A1"].pk,
        open_ready_steps=1,
        required_first_ids=[],
        approval_required=False,
        by=world.t_a1,
    )
    refused(choose(data.step("B4").pk), 400, {"step": ["Choose among the steps your teacher opened."]})


@pytest.mark.parametrize("username", ["g_1", "t_a1", "p_a", "admin_north"])
def test_nobody_chooses_in_a_students_name(world, data, username):
    refused(
        lambda: post(world.users[username], "step-choice-list", {"step": data.step("C5").pk}),
        403,
        {"detail": "Only a student chooses their own next step."},
    )


@pytest.fixture
def choices(world, data) -> dict[str, StepChoice]:
    choice_limits_set(
        section_id=world.sections["A1"].pk,
        open_ready_steps=3,
        required_first_ids=[],
        approval_required=True,
        by=world.t_a1,
    )
    return {
        "s_a1_1": step_choose(student_user=world.s_a1_1, step_id=data.step("C5").pk),
        "s_a1_2": step_choose(student_user=world.s_a1_2, step_id=data.step("C5", data.classmate_path).pk),
    }


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_the_choice_list_is_exactly_the_choices_of_visible_students(world, data, choices, username):
    response = get(world.users[username], "step-choice-list")
    assert response.status_code == 200
    expected = {choices[name].pk for name in VISIBLE_STUDENTS[username] if name in choices}
    assert {row["id"] for row in response.json()["results"]} == expected


def test_choice_list_filters_and_detail(world, data, choices):
    mine = get(world.t_a1, "step-choice-list", student=world.s_a1_1.pk).json()["results"]
    assert mine == [choice_body(choices["s_a1_1"])]
    by_path = get(world.t_a1, "step-choice-list", path=data.classmate_path.pk).json()["results"]
    assert [row["id"] for row in by_path] == [choices["s_a1_2"].pk]
    assert get(world.t_a1, "step-choice-list", status="approved").json()["count"] == 0
    malformed = get(world.t_a1, "step-choice-list", status="done")
    assert (malformed.status_code, malformed.json()) == (
        400,
        {"status": ["Choose one of pending, approved, declined, replaced."]},
    )
    assert get(world.g_1, "step-choice-detail", choices["s_a1_1"].pk).json() == choice_body(choices["s_a1_1"])
    response = get(world.g_1, "step-choice-detail", choices["s_a1_2"].pk)
    assert (response.status_code, response.json()) == (404, {"detail": "No such choice."})


def test_the_teacher_approves_or_declines_with_a_word_to_the_student(world, data, choices):
    response = post(world.t_a1, "step-choice-decide", {"approve": True, "note": " Good pick. "}, choices["s_a1_1"].pk)
    assert response.status_code == 200
    assert response.json() == choice_body(choices["s_a1_1"])
    assert (response.json()["status"], response.json()["decided_by"], response.json()["decision_note"]) == (
        "approved",
        world.t_a1.pk,
        "Good pick.",
    )
    refused(
        lambda: post(world.t_a1, "step-choice-decide", {"approve": False}, choices["s_a1_1"].pk),
        400,
        {"choice": ["This choice is already approved."]},
    )
    response = post(world.t_a1, "step-choice-decide", {"approve": False}, choices["s_a1_2"].pk)
    assert (response.status_code, response.json()["status"], response.json()["decision_note"]) == (200, "declined", "")


def test_a_decision_needs_approve(world, data, choices):
    refused(
        lambda: post(world.t_a1, "step-choice-decide", {"note": "ok"}, choices["s_a1_1"].pk),
        400,
        {"approve": ["This field is required."]},
    )


@pytest.mark.parametrize("username", ["s_a1_1", "g_1", "p_a", "admin_north"])
def test_those_who_see_the_choice_but_do_not_teach_the_student_may_not_decide(world, data, choices, username):
    refused(
        lambda: post(world.users[username], "step-choice-decide", {"approve": True}, choices["s_a1_1"].pk),
        403,
        {"detail": "Only a teacher of this student decides their choices."},
    )


@pytest.mark.parametrize("username", sorted(UNSEEN))
def test_a_choice_of_an_unseen_student_is_unknown(world, data, choices, username):
    refused(
        lambda: post(world.users[username], "step-choice-decide", {"approve": True}, choices["s_a1_1"].pk),
        404,
        {"detail": "No such choice."},
    )


# --- choice limits ---------------------------------------------------------------------------------------


def limits_url(world: World, code: str = "A1") -> str:
    return url("choice-limits-detail", world.sections[code].pk)


def test_limits_nobody_set_are_the_defaults(world, data):
    response = get(world.t_a1, "choice-limits-detail", world.sections["A1"].pk)
    assert (response.status_code, response.json()) == (
        200,
        {
            "section": world.sections["A1"].pk,
            "is_set": False,
            "open_ready_steps": 3,
            "required_first": [],
            "approval_required": False,
            "updated_by": None,
            "updated_at": None,
        },
    )


@pytest.mark.parametrize("username", sorted(EDITORS))
def test_those_who_may_set_limits_set_and_read_them(world, data, username):
    body = {"open_ready_steps": 2, "required_first": [data.c["B4"].pk, data.c["A4"].pk], "approval_required": True}
    response = client_for(world.users[username]).put(limits_url(world), body, format="json")
    assert response.status_code == 200
    limits = ChoiceLimits.objects.get(section=world.sections["A1"])
    expected = {
        "section": world.sections["A1"].pk,
        "is_set": True,
        "open_ready_steps": 2,
        "required_first": sorted([data.c["A4"].pk, data.c["B4"].pk]),
        "approval_required": True,
        "updated_by": world.users[username].pk,
        "updated_at": timezone.localtime(limits.updated_at).isoformat(),
    }
    assert response.json() == expected
    assert get(world.users[username], "choice-limits-detail", world.sections["A1"].pk).json() == expected


@pytest.mark.parametrize(
    ("username", "sections"),
    [
        ("t_a1", ["A1"]),
        ("p_a", ["A1", "A2"]),
        ("admin_north", ["A1", "A2", "B1"]),
        ("t_s1", ["S1"]),
        ("s_a1_1", []),
        ("g_1", []),
    ],
)
def test_the_limits_list_is_the_sections_the_user_may_set(world, data, username, sections):
    response = get(world.users[username], "choice-limits-list")
    assert response.status_code == 200
    assert [row["section"] for row in response.json()["results"]] == [world.sections[code].pk for code in sections]


@pytest.mark.parametrize("username", ["s_a1_1", "s_a1_2", "g_1"])
def test_those_who_see_the_section_but_may_not_set_its_limits_get_403(world, data, username):
    body = {"open_ready_steps": 1, "required_first": [], "approval_required": True}
    forbidden = {"detail": "You may not set the choice limits of this section."}
    refused(lambda: client_for(world.users[username]).put(limits_url(world), body, format="json"), 403, forbidden)
    refused(lambda: client_for(world.users[username]).get(limits_url(world)), 403, forbidden)


@pytest.mark.parametrize("username", ["t_a2", "t_b1", "p_b", "admin_south", "s_b1_1"])
def test_a_section_the_user_does_not_see_is_unknown(world, data, username):
    body = {"open_ready_steps": 1, "required_first": [], "approval_required": True}
    missing = {"detail": "No such section."}
    refused(lambda: client_for(world.users[username]).put(limits_url(world), body, format="json"), 404, missing)
    refused(lambda: client_for(world.users[username]).get(limits_url(world)), 404, missing)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"open_ready_steps": 0}, {"open_ready_steps": ["Open between 1 and 20 ready steps."]}),
        ({"open_ready_steps": 21}, {"open_ready_steps": ["Open between 1 and 20 ready steps."]}),
        ({"required_first": [UNKNOWN_ID]}, {"required_first": [f"No such competency: {UNKNOWN_ID}."]}),
        ({"approval_required": None}, {"approval_required": ["This field may not be null."]}),
        ({"open_ready_steps": "three"}, {"open_ready_steps": ["A valid integer is required."]}),
    ],
)
def test_bad_limits_are_refused_naming_the_field(world, data, body, errors):
    full = {"open_ready_steps": 2, "required_first": [], "approval_required": False, **body}
    refused(lambda: client_for(world.t_a1).put(limits_url(world), full, format="json"), 400, errors)


def test_limits_need_every_field(world, data):
    refused(
        lambda: client_for(world.t_a1).put(limits_url(world), {"open_ready_steps": 2}, format="json"),
        400,
        {"required_first": ["This field is required."], "approval_required": ["This field is required."]},
    )


# --- activities ---------------------------------------------------------------------------------------


def public_activity(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.pk,
        "title": activity.title,
        "description": activity.description,
        "url": activity.url,
        "competencies": sorted(c.pk for c in activity.competencies.all()),
        "review_status": activity.review_status,
    }


def staff_activity(activity: Activity) -> dict[str, Any]:
    activity.refresh_from_db()
    return {
        **public_activity(activity),
        "reviewed_by": activity.reviewed_by_id,
        "reviewed_at": None if activity.reviewed_at is None else timezone.localtime(activity.reviewed_at).isoformat(),
        "review_note": activity.review_note,
    }


@pytest.mark.parametrize("username", ["s_a1_1", "g_1", "s_s1_1"])
def test_students_and_guardians_see_approved_activities_without_their_review(world, data, activities, username):
    response = get(world.users[username], "activity-list")
    assert response.status_code == 200
    assert response.json()["results"] == [public_activity(activities["strips"]), public_activity(activities["line"])]
    response = get(world.users[username], "activity-detail", activities["draft"].pk)
    assert (response.status_code, response.json()) == (404, {"detail": "No such activity."})


@pytest.mark.parametrize("username", ["t_a1", "t_s1", "p_b", "admin_south"])
def test_staff_see_every_activity_with_its_review(world, data, activities, username):
    response = get(world.users[username], "activity-list")
    assert response.json()["results"] == [
        staff_activity(activities["draft"]),
        staff_activity(activities["strips"]),
        staff_activity(activities["line"]),
    ]
    assert get(world.users[username], "activity-detail", activities["draft"].pk).json() == staff_activity(
        activities["draft"]
    )


def test_activity_filters(world, data, activities):
    by_competency = get(world.s_a1_1, "activity-list", competency=data.c["B4"].pk).json()["results"]
    assert [row["id"] for row in by_competency] == [activities["line"].pk]
    pending = get(world.t_a1, "activity-list", status="pending").json()["results"]
    assert [row["id"] for row in pending] == [activities["draft"].pk]
    assert get(world.s_a1_1, "activity-list", status="pending").json()["count"] == 0
    malformed = get(world.t_a1, "activity-list", competency="C5")
    assert (malformed.status_code, malformed.json()) == (400, {"competency": ["A whole number is required."]})


def test_staff_add_an_activity_that_waits_for_review(world, data):
    body = {
        "title": " Ratio tables ",
        "description": "Tables of equivalent ratios.",
        "url": "https://example.org/ratios",
        "competencies": [data.c["C5"].pk],
    }
    response = post(world.t_a2, "activity-list", body)
    assert response.status_code == 201
    activity = Activity.objects.get()
    assert response.json() == staff_activity(activity)
    assert (activity.title, activity.review_status, activity.reviewed_by_id) == ("Ratio tables", "pending", None)


def test_a_bad_activity_is_refused_field_by_field(world, data):
    refused(
        lambda: post(world.t_a1, "activity-list", {"title": "  ", "url": "not a link", "competencies": []}),
        400,
        {
            "title": ["Give the activity a title."],
            "url": ["Enter a valid URL."],
            "competencies": ["Link the activity to at least one competency."],
        },
    )
    refused(
        lambda: post(world.t_a1, "activity-list", {"title": "Strips", "competencies": [UNKNOWN_ID]}),
        400,
        {"competencies": [f"No such competency: {UNKNOWN_ID}."]},
    )


@pytest.mark.parametrize("username", ["s_a1_1", "g_1"])
def test_students_and_guardians_neither_add_nor_review(world, data, activities, username):
    only_staff = {"detail": "Only staff add and review activities."}
    user = world.users[username]
    refused(lambda: post(user, "activity-list", {"title": "Mine", "competencies": [data.c["C5"].pk]}), 403, only_staff)
    refused(
        lambda: post(user, "activity-review", {"status": "rejected", "note": "No"}, activities["strips"].pk),
        403,
        only_staff,
    )
    refused(
        lambda: post(user, "activity-review", {"status": "approved"}, activities["draft"].pk),
        404,
        {"detail": "No such activity."},
    )


def test_staff_review_activities(world, data, activities):
    draft = activities["draft"]
    refused(
        lambda: post(world.p_b, "activity-review", {"status": "rejected"}, draft.pk),
        400,
        {"note": ["Say why the activity is rejected, so its author can improve it."]},
    )
    refused(
        lambda: post(world.p_b, "activity-review", {"status": "pending"}, draft.pk),
        400,
        {"status": ["A review approves or rejects: status must be approved or rejected."]},
    )
    response = post(world.p_b, "activity-review", {"status": "rejected", "note": "The link is broken."}, draft.pk)
    assert response.status_code == 200
    assert response.json() == staff_activity(draft)
    assert (draft.review_status, draft.review_note, draft.reviewed_by_id) == (
        "rejected",
        "The link is broken.",
        world.p_b.pk,
    )


# --- alerts -------------------------------------------------------------------------------------------

TEACHER_REASON = "Behind pace: 0 of 4 targets mastered where 1.0 were expected by now."


@pytest.fixture
def alerts(world, data) -> dict[str, PacingAlert]:
    def alert(student: User, kind: str, severity: int, **extra: Any) -> PacingAlert:
        return PacingAlert.objects.create(
            student=student,
            path=LearningPath.objects.filter(student=student).first(),
            kind=kind,
            severity=severity,
            numbers={"mastered": 0, "expected": 1.0},
            reason=TEACHER_REASON if kind == "behind_pace" else f"{kind} of {student.username}",
            opened_on=D(2026, 11, 3),
            **extra,
        )

    return {
        "behind": alert(world.s_a1_1, "behind_pace", PacingAlert.Severity.HIGH),
        "inactive": alert(world.s_a1_1, "inactive", PacingAlert.Severity.MEDIUM, status="acknowledged"),
        "classmate": alert(world.s_a1_2, "stuck", PacingAlert.Severity.LOW, competency=data.c["A4"]),
        "north_b": alert(world.s_b1_1, "inactive", PacingAlert.Severity.MEDIUM),
    }


ALERTS_SEEN = {
    "t_a1": ["behind", "inactive", "classmate"],
    "p_a": ["behind", "inactive", "classmate"],
    "admin_north": ["behind", "inactive", "north_b", "classmate"],  # most severe first, then opened, then id
    "t_b1": ["north_b"],
    "p_b": ["north_b"],
    "t_a2": [],
    "admin_south": [],
    "s_a1_1": [],  # students and guardians: no alerts, not even their own
    "s_a1_2": [],
    "g_1": [],
}


def alert_body(alert: PacingAlert) -> dict[str, Any]:
    alert.refresh_from_db()
    return {
        "id": alert.pk,
        "student": alert.student_id,
        "path": alert.path_id,
        "competency": alert.competency_id,
        "kind": alert.kind,
        "severity": alert.severity,
        "status": alert.status,
        "reason": alert.reason,
        "numbers": alert.numbers,
        "opened_on": alert.opened_on.isoformat(),
        "acknowledged_by": alert.acknowledged_by_id,
        "acknowledged_at": None
        if alert.acknowledged_at is None
        else timezone.localtime(alert.acknowledged_at).isoformat(),
        "resolved_on": None if alert.resolved_on is None else alert.resolved_on.isoformat(),
        "resolution_note": alert.resolution_note,
    }


@pytest.mark.parametrize(("username", "seen"), sorted(ALERTS_SEEN.items()))
def test_the_alert_list_is_for_staff_who_see_the_student(world, data, alerts, username, seen):
    response = get(world.users[username], "alert-list")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [alerts[key].pk for key in seen]


def test_alert_detail_and_filters(world, data, alerts):
    assert get(world.t_a1, "alert-detail", alerts["behind"].pk).json() == alert_body(alerts["behind"])
    assert alert_body(alerts["behind"])["reason"] == TEACHER_REASON
    by_student = get(world.admin_north, "alert-list", student=world.s_b1_1.pk).json()["results"]
    assert [row["id"] for row in by_student] == [alerts["north_b"].pk]
    by_kind = get(world.admin_north, "alert-list", kind="inactive").json()["results"]
    assert [row["id"] for row in by_kind] == [alerts["inactive"].pk, alerts["north_b"].pk]
    by_status = get(world.admin_north, "alert-list", status="acknowledged").json()["results"]
    assert [row["id"] for row in by_status] == [alerts["inactive"].pk]
    malformed = get(world.t_a1, "alert-list", kind="late")
    assert (malformed.status_code, malformed.json()) == (
        400,
        {"kind": ["Choose one of behind_pace, stuck, inactive, held_back, avoiding, needs_review."]},
    )


@pytest.mark.parametrize("username", ["s_a1_1", "g_1", "t_a2", "t_b1", "p_b", "admin_south"])
def test_an_alert_is_404_for_those_who_do_not_see_it_and_nothing_changes(world, data, alerts, username):
    user = world.users[username]
    missing = {"detail": "No such alert."}
    response = get(user, "alert-detail", alerts["behind"].pk)
    assert (response.status_code, response.json()) == (404, missing)
    refused(lambda: post(user, "alert-acknowledge", {}, alerts["behind"].pk), 404, missing)
    refused(lambda: post(user, "alert-resolve", {"note": "Done."}, alerts["behind"].pk), 404, missing)


@pytest.mark.parametrize("username", ["s_a1_1", "g_1"])
def test_students_and_guardians_never_read_teacher_wording(world, data, alerts, username):
    user = world.users[username]
    for name, args in [
        ("alert-list", ()),
        ("learning-path-list", ()),
        ("learning-path-detail", (data.path.pk,)),
        ("path-step-detail", (data.step("A4").pk,)),
        ("step-choice-list", ()),
        ("activity-list", ()),
    ]:
        response = get(user, name, *args)
        assert response.status_code == 200
        assert TEACHER_REASON not in response.content.decode(), name


def test_staff_acknowledge_with_an_optional_note_and_resolve_with_a_required_one(world, data, alerts):
    behind = alerts["behind"]
    response = post(world.t_a1, "alert-acknowledge", {}, behind.pk)
    assert response.status_code == 200
    assert response.json() == alert_body(behind)
    assert (behind.status, behind.acknowledged_by_id, behind.resolution_note) == ("acknowledged", world.t_a1.pk, "")
    response = post(world.p_a, "alert-acknowledge", {"note": "Meeting on Friday."}, alerts["classmate"].pk)
    assert (response.json()["status"], response.json()["resolution_note"]) == ("acknowledged", "Meeting on Friday.")

    refused(
        lambda: post(world.t_a1, "alert-resolve", {"note": "  "}, behind.pk),
        400,
        {"note": ["Say what was done: resolving an alert needs a note."]},
    )
    refused(
        lambda: post(world.t_a1, "alert-resolve", {}, behind.pk),
        400,
        {"note": ["Say what was done: resolving an alert needs a note."]},
    )
    response = post(world.admin_north, "alert-resolve", {"note": "Planned two small-group sessions."}, behind.pk)
    assert response.status_code == 200
    assert response.json() == alert_body(behind)
    assert (behind.status, behind.resolved_on, behind.resolution_note, behind.acknowledged_by_id) == (
        "resolved",
        timezone.localdate(),
        "Planned two small-group sessions.",
        world.t_a1.pk,  # acknowledged first by the teacher
    )
    for name, body in (("alert-resolve", {"note": "Again."}), ("alert-acknowledge", {})):
        refused(
            lambda name=name, body=body: post(world.t_a1, name, body, behind.pk),
            400,
            {"alert": ["This alert is resolved already."]},
        )


# --- evidence recorded through the API updates mastery and the path at once ------------------------------


def test_one_recorded_observation_updates_the_mastery_state_and_the_path_steps_at_once(world, data):
    """A4 right three times (BKT defaults): in progress after the first, mastered after the third, and A5,
    which waited only for A4, is ready; nothing waits for the night."""

    def record(n: int) -> Any:
        body = {
            "student": world.s_a1_1.pk,
            "competency": data.c["A4"].pk,
            "observed_at": f"2026-11-0{n}T10:00:00",
            "score": 1.0,
            "source": "exit-ticket",
            "external_id": f"a4-{n}",
        }
        return post(world.t_a1, "evidence-list", body)

    def states() -> tuple[str, str, str]:
        mastery = MasteryState.objects.get(student=world.s_a1_1, competency=data.c["A4"]).status
        return mastery, data.step("A4").state, data.step("A5").state

    assert (data.step("A4").state, data.step("A5").state) == ("ready", "locked")
    assert record(2).status_code == 201
    assert states() == ("in_progress", "in_progress", "locked")
    assert record(3).status_code == 201
    assert record(4).status_code == 201
    assert states() == ("mastered", "mastered", "ready")
    again = record(4)  # the same (source, external id): nothing new, nothing recomputed
    assert again.status_code == 200
    assert states() == ("mastered", "mastered", "ready")
    assert MasteryState.objects.get(student=world.s_a1_1, competency=data.c["A4"]).evidence_count == 3
