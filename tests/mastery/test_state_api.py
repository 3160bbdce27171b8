"""API v1 mastery states, explanations and overrides, user by user against the known world."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from mastery import rules
from mastery.models import Competency, Evidence, Framework, MasteryState
from mastery.selectors import mastery_default_bkt_params, mastery_thresholds
from mastery.services import mastery_override_set, mastery_recompute
from profiles.models import User
from tests.mastery.test_overrides import snapshot
from tests.world import STUDENTS, VISIBLE_STUDENTS, World

T0 = datetime.datetime(2026, 9, 1, 9, 0, tzinfo=datetime.UTC)
EDITORS = {"t_a1", "p_a", "admin_north"}  # staff who see s_a1_1
READERS_ONLY = {"s_a1_1", "g_1"}  # see s_a1_1, may not override
MAY_NOT_OVERRIDE = {"detail": "You may read this student's mastery but not override it."}


@pytest.fixture
def math(db) -> dict[str, Competency]:
    framework = Framework.objects.create(name="Math", subject="Mathematics", grade_low=3, grade_high=8)
    other = Framework.objects.create(name="Reading", subject="ELA", grade_low=3, grade_high=8)
    return {
        "a": Competency.objects.create(framework=framework, code="A", statement="Add", grade_level=5),
        "b": Competency.objects.create(framework=framework, code="B", statement="Subtract", grade_level=5),
        "r": Competency.objects.create(framework=other, code="R", statement="Read", grade_level=5),
    }


def scores(student: User, competency: Competency, values: list[float]) -> list[Evidence]:
    return [
        Evidence.objects.create(
            student=student,
            competency=competency,
            kind="score",
            score=value,
            source="quiz",
            observed_at=T0 + datetime.timedelta(days=day),
        )
        for day, value in enumerate(values)
    ]


@pytest.fixture
def states(world: World, math: dict[str, Competency]) -> dict[str, MasteryState]:
    """Every student answered A right three times (mastered by the BKT defaults); s_a1_1 also missed B
    twice (in progress) and read once. Keyed by student name (their A state) and "s_a1_1 B", "s_a1_1 R"."""
    for name in STUDENTS:
        scores(world.users[name], math["a"], [1.0, 1.0, 1.0])
    scores(world.s_a1_1, math["b"], [0.0, 0.0])
    scores(world.s_a1_1, math["r"], [1.0])
    mastery_recompute()
    by_name = {name: MasteryState.objects.get(student=world.users[name], competency=math["a"]) for name in STUDENTS}
    by_name["s_a1_1 B"] = MasteryState.objects.get(student=world.s_a1_1, competency=math["b"])
    by_name["s_a1_1 R"] = MasteryState.objects.get(student=world.s_a1_1, competency=math["r"])
    return by_name


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def get(user: User | None, name: str, *args: Any, **query: Any) -> Any:
    return client_for(user).get(reverse(f"api-v1:{name}", args=args), query)


def post(user: User | None, name: str, body: Any, *args: Any) -> Any:
    return client_for(user).post(reverse(f"api-v1:{name}", args=args), body, format="json")


def bkt(values: list[float]) -> rules.Outcome:
    """What the default BKT rule concludes from these scores (the API must say the same)."""
    observations = [
        rules.Observation("score", T0 + datetime.timedelta(days=day), score=value) for day, value in enumerate(values)
    ]
    return rules.evaluate(rules.BKT, mastery_default_bkt_params(), mastery_thresholds(), observations)


# --- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_the_list_is_exactly_the_states_of_visible_students(world, states, username):
    response = get(world.users[username], "mastery-state-list", page_size=500)
    assert response.status_code == 200
    listed = {row["id"] for row in response.json()["results"]}
    expected = {states[name].pk for name in VISIBLE_STUDENTS[username]}
    if "s_a1_1" in VISIBLE_STUDENTS[username]:
        expected |= {states["s_a1_1 B"].pk, states["s_a1_1 R"].pk}
    assert listed == expected


def test_a_state_carries_the_computed_values(world, states, math):
    mastered, in_progress = bkt([1.0, 1.0, 1.0]), bkt([0.0, 0.0])
    assert (mastered.status, in_progress.status) == ("mastered", "in_progress")
    response = get(world.t_a1, "mastery-state-list", student=world.s_a1_1.pk, framework=math["a"].framework_id)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["competency"], row["status"], row["effective_status"], row["evidence_count"]) for row in rows] == [
        (math["a"].pk, "mastered", "mastered", 3),
        (math["b"].pk, "in_progress", "in_progress", 2),
    ]
    assert rows[0]["estimate"] == pytest.approx(mastered.estimate)
    assert rows[1]["estimate"] == pytest.approx(in_progress.estimate)
    assert rows[0]["first_mastered_at"] == "2026-09-03T05:00:00-04:00"
    assert rows[1]["first_mastered_at"] is None
    assert rows[0]["last_evidence_at"] == "2026-09-03T05:00:00-04:00"
    assert rows[0]["policy_version"] is None  # no policy stored: the settings defaults
    assert rows[0]["override"] is None


def test_filters_by_competency_and_effective_status(world, states, math):
    mastery_override_set(
        student_id=world.s_a1_2.pk, competency_id=math["a"].pk, status="needs_review", note="Forgot", author=world.t_a1
    )
    by_competency = get(world.t_a1, "mastery-state-list", competency=math["b"].pk).json()["results"]
    assert [row["id"] for row in by_competency] == [states["s_a1_1 B"].pk]
    mastered = get(world.t_a1, "mastery-state-list", status="mastered").json()["results"]
    assert {row["id"] for row in mastered} == {states["s_a1_1"].pk}  # one right answer on R is not enough
    review = get(world.t_a1, "mastery-state-list", status="needs_review").json()["results"]
    assert [(row["id"], row["status"], row["effective_status"]) for row in review] == [
        (states["s_a1_2"].pk, "mastered", "needs_review")
    ]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"status": "done"}, "status", "Choose one of not_started, in_progress, mastered, needs_review."),
        ({"student": "x"}, "student", "A whole number is required."),
        ({"framework": "1.5"}, "framework", "A whole number is required."),
    ],
)
def test_a_malformed_filter_is_refused_naming_it(world, states, query, field, message):
    response = get(world.t_a1, "mastery-state-list", **query)
    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_detail_and_explanation_are_404_for_a_student_the_user_does_not_see(world, states):
    for name in ("mastery-state-detail", "mastery-state-explanation"):
        assert get(world.t_a2, name, states["s_a1_1"].pk).status_code == 404
        assert get(world.s_a1_2, name, states["s_a1_1"].pk).status_code == 404
        assert get(world.s_a1_1, name, states["s_a1_1"].pk).status_code == 200


def test_anonymous_is_refused(world, states):
    assert get(None, "mastery-state-list").status_code == 403
    assert get(None, "mastery-state-explanation", states["s_a1_1"].pk).status_code == 403


def test_the_explanation_gives_the_rule_the_evidence_and_the_estimate_over_time(world, states, math):
    missed = Evidence.objects.filter(student=world.s_a1_1, competency=math["b"]).order_by("observed_at")
    expected = bkt([0.0, 0.0])
    response = get(world.g_1, "mastery-state-explanation", states["s_a1_1 B"].pk)
    assert response.status_code == 200
    body = response.json()
    assert body["state"]["id"] == states["s_a1_1 B"].pk
    assert (body["method"], body["method_label"]) == ("bkt", "Bayesian Knowledge Tracing")
    assert body["rule"] == rules.describe(rules.BKT, mastery_default_bkt_params(), mastery_thresholds())
    assert body["parameters"]["mastery_threshold"] == 0.95
    assert body["parameters"]["p_guess"] == mastery_default_bkt_params().p_guess
    assert [(e["id"], e["kind"], e["score"], e["source"]) for e in body["evidence"]] == [
        (e.pk, "score", 0.0, "quiz") for e in missed
    ]
    assert [point["observed_at"] for point in body["trajectory"]] == [
        "2026-09-01T05:00:00-04:00",
        "2026-09-02T05:00:00-04:00",
    ]
    assert [point["estimate"] for point in body["trajectory"]] == pytest.approx([e for _, e in expected.trajectory])
    assert body["computed"]["status"] == "in_progress"
    assert body["computed"]["estimate"] == pytest.approx(expected.estimate)


# --- overriding -------------------------------------------------------------------------------


def override(user: User | None, student: User, competency: Competency, /, **fields: Any) -> Any:
    body = {"student": student.pk, "competency": competency.pk, "status": "mastered", "note": "Showed me", **fields}
    return post(user, "mastery-state-override", body)


@pytest.mark.parametrize("username", sorted(EDITORS))
def test_staff_who_edit_the_student_override_and_recompute_honours_it(world, states, math, username):
    author = world.users[username]
    response = override(author, world.s_a1_1, math["b"], note="  Explained it to me at the board  ")
    assert response.status_code == 200
    body = response.json()
    state = MasteryState.objects.get(pk=states["s_a1_1 B"].pk)
    assert (body["id"], body["status"], body["effective_status"]) == (state.pk, "in_progress", "mastered")
    assert body["override"]["status"] == "mastered"
    assert body["override"]["note"] == "Explained it to me at the board"
    assert body["override"]["author"] == author.get_full_name() or author.username
    assert (state.override_status, state.override_by_id) == ("mastered", author.pk)
    Evidence.objects.create(
        student=world.s_a1_1, competency=math["b"], kind="score", score=0.0, observed_at=T0 + datetime.timedelta(days=9)
    )
    mastery_recompute(pairs=[(world.s_a1_1.pk, math["b"].pk)])
    state.refresh_from_db()
    assert (state.status, state.effective_status, state.evidence_count) == ("in_progress", "mastered", 3)


def test_an_override_of_a_pair_with_no_evidence_creates_its_state(world, states, math):
    c = Competency.objects.create(framework=math["a"].framework, code="C", statement="Multiply", grade_level=5)
    response = override(world.t_a1, world.s_a1_1, c)
    assert response.status_code == 200
    state = MasteryState.objects.get(student=world.s_a1_1, competency=c)
    assert (state.status, state.evidence_count, state.override_status) == ("not_started", 0, "mastered")
    assert response.json()["id"] == state.pk


@pytest.mark.parametrize("username", sorted(READERS_ONLY))
def test_those_who_only_read_the_student_may_not_override_nothing_changes(world, states, math, username):
    before = snapshot()
    response = override(world.users[username], world.s_a1_1, math["b"])
    assert (response.status_code, response.json()) == (403, MAY_NOT_OVERRIDE)
    assert snapshot() == before


@pytest.mark.parametrize("username", ["t_a2", "t_b1", "p_b", "admin_south", "s_a1_2"])
def test_a_student_the_user_does_not_see_is_unknown_nothing_changes(world, states, math, username):
    before = snapshot()
    response = override(world.users[username], world.s_a1_1, math["b"])
    assert (response.status_code, response.json()) == (400, {"student": ["No such student."]})
    assert snapshot() == before


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"note": "   "}, {"note": ["This field may not be blank."]}),
        ({"status": "done"}, {"status": ['"done" is not a valid choice.']}),
        ({"competency": 10**9}, {"competency": ["No such competency."]}),
        ({"student": "abc"}, {"student": ["A valid integer is required."]}),
    ],
)
def test_bad_override_input_is_refused_naming_the_field_nothing_changes(world, states, math, fields, errors):
    before = snapshot()
    response = override(world.t_a1, world.s_a1_1, math["b"], **fields)
    assert (response.status_code, response.json()) == (400, errors)
    assert snapshot() == before


def test_lifting_returns_the_status_to_the_evidence(world, states, math):
    state = states["s_a1_1 B"]
    override(world.t_a1, world.s_a1_1, math["b"], status="mastered")
    refused = post(world.s_a1_1, "mastery-state-lift-override", {}, state.pk)
    assert (refused.status_code, refused.json()) == (403, MAY_NOT_OVERRIDE)
    assert MasteryState.objects.get(pk=state.pk).override_status == "mastered"
    assert post(world.t_a2, "mastery-state-lift-override", {}, state.pk).status_code == 404
    assert MasteryState.objects.get(pk=state.pk).override_status == "mastered"
    response = post(world.p_a, "mastery-state-lift-override", {}, state.pk)
    assert response.status_code == 200
    assert (response.json()["effective_status"], response.json()["override"]) == ("in_progress", None)
    state.refresh_from_db()
    assert (state.override_status, state.override_note, state.override_by_id, state.override_at) == (
        None,
        "",
        None,
        None,
    )


def test_the_explanation_shows_the_override(world, states, math):
    override(world.t_a1, world.s_a1_1, math["b"], status="needs_review", note="Check again")
    body = get(world.s_a1_1, "mastery-state-explanation", states["s_a1_1 B"].pk).json()
    assert body["state"]["effective_status"] == "needs_review"
    assert (body["state"]["override"]["status"], body["state"]["override"]["note"]) == ("needs_review", "Check again")
    assert body["computed"]["status"] == "in_progress"
