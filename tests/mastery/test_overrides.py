"""Teacher overrides: a required note, kept with author and time, honoured by every recompute, lifted back
to the computed status; refused requests change nothing."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from mastery.models import Competency, Evidence, Framework, MasteryState
from mastery.selectors import mastery_explanation
from mastery.services import mastery_override_lift, mastery_override_set, mastery_recompute

T0 = datetime.datetime(2026, 9, 1, 9, 0, tzinfo=datetime.UTC)


def add_score(student, competency, day: int, score: float) -> None:
    Evidence.objects.create(
        student=student,
        competency=competency,
        kind="score",
        score=score,
        observed_at=T0 + datetime.timedelta(days=day),
    )


@pytest.fixture
def pair(world):
    """s_a1_1 answered A right three times (mastered by BKT defaults); B has no evidence."""
    framework = Framework.objects.create(name="Math", subject="Mathematics", grade_low=3, grade_high=8)
    a = Competency.objects.create(framework=framework, code="A", statement="A", grade_level=5)
    b = Competency.objects.create(framework=framework, code="B", statement="B", grade_level=5)
    for day in range(3):
        add_score(world.s_a1_1, a, day, 1.0)
    return world.s_a1_1, a, b


def snapshot() -> list[tuple]:
    return list(
        MasteryState.objects.order_by("id").values_list(
            "student_id",
            "competency_id",
            "status",
            "estimate",
            "override_status",
            "override_note",
            "override_by_id",
            "override_at",
            "updated_at",
        )
    )


def test_override_is_kept_with_author_time_and_note_and_honoured_by_recompute(world, pair):
    student, a, _ = pair
    mastery_recompute()
    state = mastery_override_set(
        student_id=student.pk,
        competency_id=a.pk,
        status="in_progress",
        note=" Guessed on the quiz. ",
        author=world.t_a1,
    )
    assert (state.status, state.override_status, state.effective_status) == ("mastered", "in_progress", "in_progress")
    assert (state.override_note, state.override_by, state.override_at is not None) == (
        "Guessed on the quiz.",
        world.t_a1,
        True,
    )

    assert mastery_recompute() == 0
    add_score(student, a, 3, 0.0)
    add_score(student, a, 4, 0.0)
    assert mastery_recompute(full=True) == 1
    state.refresh_from_db()
    # The computed status moves underneath; the override stays as the teacher left it.
    assert (state.status, state.override_status, state.effective_status) == (
        "needs_review",
        "in_progress",
        "in_progress",
    )
    assert (state.override_note, state.override_by_id) == ("Guessed on the quiz.", world.t_a1.pk)


def test_lift_restores_the_computed_status(world, pair):
    student, a, _ = pair
    mastery_recompute()
    mastery_override_set(
        student_id=student.pk, competency_id=a.pk, status="in_progress", note="Check.", author=world.t_a1
    )

    state = mastery_override_lift(student_id=student.pk, competency_id=a.pk, author=world.t_a1)

    assert (state.status, state.effective_status) == ("mastered", "mastered")
    assert (state.override_status, state.override_note, state.override_by, state.override_at) == (None, "", None, None)
    # Lifting again changes nothing.
    before = snapshot()
    assert mastery_override_lift(student_id=student.pk, competency_id=a.pk, author=world.t_a1).override_status is None
    assert snapshot() == before


def test_override_creates_the_state_computed_from_evidence_when_missing(world, pair):
    student, a, b = pair
    state = mastery_override_set(
        student_id=student.pk, competency_id=a.pk, status="needs_review", note="Forgot it.", author=world.t_a1
    )
    assert (state.status, state.evidence_count, state.effective_status) == ("mastered", 3, "needs_review")

    no_evidence = mastery_override_set(
        student_id=student.pk, competency_id=b.pk, status="mastered", note="Shown in a project.", author=world.t_a1
    )
    assert (no_evidence.status, no_evidence.estimate, no_evidence.effective_status) == ("not_started", None, "mastered")
    assert mastery_recompute() == 0  # both rows are already what the evidence says
    no_evidence.refresh_from_db()
    assert no_evidence.effective_status == "mastered"


@pytest.mark.parametrize("note", ["", "   ", None])
def test_a_note_is_required_and_nothing_changes(world, pair, note):
    student, a, b = pair
    mastery_recompute()
    before = snapshot()
    for competency in (a, b):
        with pytest.raises(ValidationError) as refused:
            mastery_override_set(
                student_id=student.pk, competency_id=competency.pk, status="mastered", note=note, author=world.t_a1
            )
        assert set(refused.value.message_dict) == {"note"}
    assert snapshot() == before


def test_bad_status_or_unknown_pair_is_refused_and_nothing_changes(world, pair):
    student, a, b = pair
    mastery_recompute()
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        mastery_override_set(student_id=student.pk, competency_id=a.pk, status="expert", note="x", author=world.t_a1)
    assert set(refused.value.message_dict) == {"status"}
    with pytest.raises(ValidationError) as refused:
        mastery_override_set(
            student_id=student.pk, competency_id=b.pk + 99, status="mastered", note="x", author=world.t_a1
        )
    assert set(refused.value.message_dict) == {"competency"}
    with pytest.raises(ValidationError) as refused:
        mastery_override_lift(student_id=student.pk, competency_id=b.pk, author=world.t_a1)
    assert set(refused.value.message_dict) == {"competency"}
    assert snapshot() == before


def test_the_explanation_shows_the_override(world, pair):
    student, a, _ = pair
    mastery_override_set(
        student_id=student.pk, competency_id=a.pk, status="in_progress", note="Retest.", author=world.t_a1
    )
    explanation = mastery_explanation(student_id=student.pk, competency_id=a.pk)
    state = MasteryState.objects.get(student=student, competency=a)
    assert explanation["override"] == {
        "status": "in_progress",
        "note": "Retest.",
        "author": "T t_a1",
        "at": state.override_at,
    }
    assert (explanation["state"]["status"], explanation["state"]["effective_status"]) == ("mastered", "in_progress")
