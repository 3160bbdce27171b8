"""Activities: staff add them, staff review their quality, students are offered only approved ones."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from mastery.models import Competency, Framework
from pathways.choice_selectors import activities_for_competency
from pathways.models import Activity
from pathways.services.activities import activity_create, activity_review


@pytest.fixture
def competencies(db) -> dict[str, Competency]:
    math = Framework.objects.create(name="Math", subject="Mathematics", grade_low=3, grade_high=8)
    return {
        code: Competency.objects.create(framework=math, code=code, statement=code, grade_level=5)
        for code in ("F1", "F2")
    }


def snapshot() -> dict[str, list[Any]]:
    return {
        "activities": list(Activity.objects.order_by("pk").values()),
        "links": list(Activity.competencies.through.objects.order_by("pk").values()),
    }


def assert_refused(call, errors: dict[str, list[str]]) -> None:
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        call()
    assert refused.value.message_dict == errors
    assert snapshot() == before


def create(world, competencies, title="Fraction strips", codes=("F1",), by="t_a1", **extra) -> Activity:
    return activity_create(title=title, competency_ids=[competencies[c].pk for c in codes], by=world.users[by], **extra)


def titles(competency) -> list[str]:
    return [a.title for a in activities_for_competency(competency_id=competency.pk)]


def test_a_new_activity_waits_for_review(world, competencies):
    activity = create(
        world, competencies, title="  Fraction strips ", codes=("F1", "F2"), url="https://example.org/strips"
    )
    activity.refresh_from_db()
    assert (activity.title, activity.url, activity.review_status, activity.reviewed_by_id, activity.reviewed_at) == (
        "Fraction strips",
        "https://example.org/strips",
        Activity.Review.PENDING,
        None,
        None,
    )
    assert sorted(c.code for c in activity.competencies.all()) == ["F1", "F2"]
    assert titles(competencies["F1"]) == []


@pytest.mark.parametrize("username", ["s_a1_1", "g_1"])
def test_students_and_guardians_neither_add_nor_review(world, competencies, username):
    activity = create(world, competencies)
    before = snapshot()
    with pytest.raises(PermissionDenied) as refused:
        create(world, competencies, title="Mine", by=username)
    assert str(refused.value) == "Only staff add and review activities."
    with pytest.raises(PermissionDenied):
        activity_review(activity_id=activity.pk, status="approved", by=world.users[username])
    assert snapshot() == before


def test_bad_activity_is_refused_field_by_field(world, competencies):
    assert_refused(
        lambda: activity_create(
            title="   ", competency_ids=[competencies["F1"].pk, 10**9], url="not a link", by=world.t_a1
        ),
        {
            "title": ["Give the activity a title."],
            "url": ["Enter a valid URL."],
            "competency_ids": [f"No such competency: {10**9}."],
        },
    )


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([], "Link the activity to at least one competency."),
        (["1"], "Competencies are given by their ids (whole numbers)."),
    ],
)
def test_competencies_are_required_by_id(world, competencies, ids, message):
    assert_refused(
        lambda: activity_create(title="Strips", competency_ids=ids, by=world.t_a1), {"competency_ids": [message]}
    )


@pytest.mark.parametrize("username", ["t_a2", "p_b", "admin_south"])
def test_staff_approve_and_only_approved_ones_are_offered(world, competencies, username):
    strips = create(world, competencies, title="Fraction strips", codes=("F1", "F2"))
    create(world, competencies, title="Unchecked worksheet")
    darts = create(world, competencies, title="Area darts")
    reviewer = world.users[username]
    for activity in (strips, darts):
        activity_review(activity_id=activity.pk, status="approved", note="Clear and accurate.", by=reviewer)
    strips.refresh_from_db()
    assert (strips.review_status, strips.review_note, strips.reviewed_by_id) == (
        Activity.Review.APPROVED,
        "Clear and accurate.",
        reviewer.pk,
    )
    assert strips.reviewed_at is not None
    assert titles(competencies["F1"]) == ["Area darts", "Fraction strips"]
    assert titles(competencies["F2"]) == ["Fraction strips"]


def test_rejecting_stops_offering_and_needs_a_reason(world, competencies):
    strips = create(world, competencies)
    activity_review(activity_id=strips.pk, status="approved", by=world.t_a1)
    assert titles(competencies["F1"]) == ["Fraction strips"]
    assert_refused(
        lambda: activity_review(activity_id=strips.pk, status="rejected", note="  ", by=world.p_a),
        {"note": ["Say why the activity is rejected, so its author can improve it."]},
    )
    rejected = activity_review(activity_id=strips.pk, status="rejected", note="The link is broken.", by=world.p_a)
    assert (rejected.review_status, rejected.review_note, rejected.reviewed_by_id) == (
        Activity.Review.REJECTED,
        "The link is broken.",
        world.p_a.pk,
    )
    assert titles(competencies["F1"]) == []


@pytest.mark.parametrize("status", ["pending", "ok", ""])
def test_a_review_approves_or_rejects(world, competencies, status):
    strips = create(world, competencies)
    assert_refused(
        lambda: activity_review(activity_id=strips.pk, status=status, note="x", by=world.t_a1),
        {"status": ["A review approves or rejects: status must be approved or rejected."]},
    )


def test_unknown_activity_is_refused(world, competencies):
    assert_refused(
        lambda: activity_review(activity_id=10**9, status="approved", by=world.t_a1),
        {"activity_id": ["No such activity."]},
    )
