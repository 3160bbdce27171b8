"""Mastery recompute on PostgreSQL: exact states, nothing written twice, only the pairs with new evidence,
policy versions, school scope, first_mastered_at kept; and the explanation of a state."""

from __future__ import annotations

import datetime
from fractions import Fraction

import pytest
from django.utils import timezone

from mastery.models import Competency, Evidence, Framework, MasteryPolicy, MasteryState
from mastery.rules import BKTParams, describe
from mastery.selectors import mastery_explanation, mastery_pairs_with_new_evidence, mastery_thresholds
from mastery.services import mastery_recompute

T0 = datetime.datetime(2026, 9, 1, 9, 0, tzinfo=datetime.UTC)
LONG_AGO = datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC)


def day(n: int) -> datetime.datetime:
    return T0 + datetime.timedelta(days=n)


def add(student, competency, kind: str, on: int, *, score=None, rating=None, recorded_by=None) -> Evidence:
    return Evidence.objects.create(
        student=student,
        competency=competency,
        kind=kind,
        observed_at=day(on),
        score=score,
        rating=rating,
        source="test",
        recorded_by=recorded_by,
    )


def bkt(known: Fraction, s: Fraction, *, guess=Fraction(1, 5), slip=Fraction(1, 10), learn=Fraction(3, 20)):
    """One BKT step by hand (no forgetting)."""
    right = s * (1 - slip) + (1 - s) * slip
    wrong = s * guess + (1 - s) * (1 - guess)
    posterior = known * right / (known * right + (1 - known) * wrong)
    return posterior + (1 - posterior) * learn


class Fixture:
    """Math (no policy: BKT defaults) A, B, C; Writing (decaying average, v1) W.

    s_a1_1 (north-a): A right, right, right (mastered on day 2); B wrong once.
    s_a1_2 (north-a): A two completions; W ratings 2 then 4 (decaying average 3.3, mastered on day 1).
    s_b1_1 (north-b): A rating 4.
    """

    def __init__(self, world):
        self.world = world
        self.math = Framework.objects.create(name="Math", subject="Mathematics", grade_low=3, grade_high=8)
        self.writing = Framework.objects.create(name="Writing", subject="English", grade_low=3, grade_high=8)
        self.a, self.b, self.c = (
            Competency.objects.create(framework=self.math, code=code, statement=f"Skill {code}", grade_level=5)
            for code in "ABC"
        )
        self.w = Competency.objects.create(framework=self.writing, code="W", statement="Write", grade_level=5)
        self.writing_v1 = MasteryPolicy.objects.create(framework=self.writing, version=1, method="decaying_average")
        self.s1, self.s2, self.s3 = world.s_a1_1, world.s_a1_2, world.s_b1_1
        for n in range(3):
            add(self.s1, self.a, "score", n, score=1.0)
        add(self.s1, self.b, "score", 0, score=0.0)
        add(self.s2, self.a, "completion", 0)
        add(self.s2, self.a, "completion", 1)
        add(self.s2, self.w, "rating", 0, rating=2, recorded_by=world.t_a1)
        add(self.s2, self.w, "rating", 1, rating=4, recorded_by=world.t_a1)
        add(self.s3, self.a, "rating", 0, rating=4)
        Evidence.objects.update(created_at=LONG_AGO)

    def states(self) -> dict[tuple[str, str], tuple]:
        return {
            (s.student.username, s.competency.code): (
                s.status,
                s.estimate,
                s.evidence_count,
                s.first_mastered_at,
                s.last_evidence_at,
                s.policy_id,
            )
            for s in MasteryState.objects.select_related("student", "competency")
        }


@pytest.fixture
def fx(world) -> Fixture:
    return Fixture(world)


def approx(value: Fraction | float) -> object:
    return pytest.approx(float(value), abs=1e-12)


def test_recompute_writes_exact_states(fx):
    assert mastery_recompute() == 5

    three_right = bkt(bkt(bkt(Fraction(1, 4), Fraction(1)), Fraction(1)), Fraction(1))
    assert three_right == Fraction(272757, 277670)
    one_wrong = bkt(Fraction(1, 4), Fraction(0))
    assert one_wrong == Fraction(23, 125)  # 0.04 + 0.96 × 0.15
    rated_meets = bkt(Fraction(1, 4), Fraction(1), guess=Fraction(1, 20), slip=Fraction(1, 20))
    assert rated_meets == Fraction(389, 440)
    assert fx.states() == {
        ("s_a1_1", "A"): ("mastered", approx(three_right), 3, day(2), day(2), None),
        ("s_a1_1", "B"): ("in_progress", approx(one_wrong), 1, None, day(0), None),
        ("s_a1_2", "A"): ("in_progress", approx(1 - Fraction(3, 4) * Fraction(19, 20) ** 2), 2, None, day(1), None),
        # Decaying average 0.35 × 2 + 0.65 × 4 = 3.3 on the 1-4 scale, stored on 0-1 as (3.3 - 1) / 3.
        ("s_a1_2", "W"): ("mastered", approx((3.3 - 1) / 3), 2, day(1), day(1), fx.writing_v1.pk),
        ("s_b1_1", "A"): ("in_progress", approx(rated_meets), 1, None, day(0), None),
    }


def test_a_second_recompute_writes_nothing(fx):
    assert mastery_recompute() == 5
    stamps = dict(MasteryState.objects.values_list("id", "updated_at"))

    assert mastery_recompute() == 0
    assert mastery_recompute(full=True) == 0
    assert mastery_recompute(pairs=mastery_pairs_with_new_evidence(school_id=None, since=None)) == 0
    assert dict(MasteryState.objects.values_list("id", "updated_at")) == stamps


def test_new_evidence_for_one_pair_recomputes_that_pair_only(fx):
    north_a = fx.world.schools["north-a"]
    mastery_recompute()
    stamps = dict(MasteryState.objects.values_list("id", "updated_at"))
    cutoff = timezone.now()
    assert mastery_pairs_with_new_evidence(school_id=north_a.pk, since=cutoff) == []

    add(fx.s1, fx.b, "score", 1, score=1.0)
    pairs = mastery_pairs_with_new_evidence(school_id=north_a.pk, since=cutoff)
    assert pairs == [(fx.s1.pk, fx.b.pk)]
    assert mastery_recompute(school_id=north_a.pk, pairs=pairs) == 1

    changed = {i for i, stamp in MasteryState.objects.values_list("id", "updated_at") if stamps[i] != stamp}
    assert changed == {MasteryState.objects.get(student=fx.s1, competency=fx.b).pk}
    state = MasteryState.objects.get(student=fx.s1, competency=fx.b)
    expected = bkt(bkt(Fraction(1, 4), Fraction(0)), Fraction(1))
    assert (state.status, state.estimate, state.evidence_count, state.last_evidence_at) == (
        "in_progress",
        approx(expected),
        2,
        day(1),
    )
    assert mastery_recompute(school_id=north_a.pk, pairs=pairs) == 0


def test_pairs_with_new_evidence_by_school_and_time(fx):
    north_a, north_b = fx.world.schools["north-a"], fx.world.schools["north-b"]
    assert mastery_pairs_with_new_evidence(school_id=north_a.pk, since=None) == sorted(
        [(fx.s1.pk, fx.a.pk), (fx.s1.pk, fx.b.pk), (fx.s2.pk, fx.a.pk), (fx.s2.pk, fx.w.pk)]
    )
    assert mastery_pairs_with_new_evidence(school_id=north_b.pk, since=None) == [(fx.s3.pk, fx.a.pk)]
    assert mastery_pairs_with_new_evidence(school_id=north_a.pk, since=LONG_AGO) == []  # created_at not after
    assert mastery_pairs_with_new_evidence(school_id=north_a.pk, since=LONG_AGO - datetime.timedelta(seconds=1)) == (
        mastery_pairs_with_new_evidence(school_id=north_a.pk, since=None)
    )


def test_school_scope(fx):
    north_b = fx.world.schools["north-b"]
    assert mastery_recompute(school_id=north_b.pk) == 1
    assert set(fx.states()) == {("s_b1_1", "A")}
    # Pairs of students elsewhere are ignored when a school is given.
    assert mastery_recompute(school_id=north_b.pk, pairs=[(fx.s1.pk, fx.a.pk)]) == 0
    assert set(fx.states()) == {("s_b1_1", "A")}


def test_given_pairs_are_never_widened_and_pairs_without_anything_are_skipped(fx):
    assert mastery_recompute(pairs=[(fx.s1.pk, fx.a.pk)], full=True) == 1
    assert mastery_recompute(pairs=[(fx.s1.pk, fx.c.pk), (fx.s3.pk, fx.w.pk)]) == 0
    assert set(fx.states()) == {("s_a1_1", "A")}


def test_policy_change_picks_up_the_new_method(fx):
    mastery_recompute()
    highest = MasteryPolicy.objects.create(framework=fx.math, version=1, method="highest")

    assert mastery_recompute() == 4  # every Math state; Writing unchanged
    assert fx.states() == {
        ("s_a1_1", "A"): ("mastered", 1.0, 3, day(2), day(2), highest.pk),  # kept from the BKT run (day 2)
        ("s_a1_1", "B"): ("in_progress", 0.0, 1, None, day(0), highest.pk),
        ("s_a1_2", "A"): ("in_progress", None, 0, None, day(1), highest.pk),  # completions do not count
        ("s_a1_2", "W"): ("mastered", approx((3.3 - 1) / 3), 2, day(1), day(1), fx.writing_v1.pk),
        ("s_b1_1", "A"): ("mastered", 1.0, 1, day(0), day(0), highest.pk),
    }

    # Version 2: BKT again, learning 0.3 for the framework and a start of 0.9 for A only.
    fitted = MasteryPolicy.objects.create(
        framework=fx.math,
        version=2,
        method="bkt",
        parameters={"p_learn": 0.3, "per_competency": {str(fx.a.pk): {"p_init": 0.9}}},
    )
    assert mastery_recompute() == 4
    learn = Fraction(3, 10)
    a_three_right = Fraction(9, 10)
    for _ in range(3):
        a_three_right = bkt(a_three_right, Fraction(1), learn=learn)
    completions = 1 - Fraction(1, 10) * Fraction(19, 20) ** 2
    rated = bkt(Fraction(9, 10), Fraction(1), guess=Fraction(1, 20), slip=Fraction(1, 20), learn=learn)
    assert fx.states() == {
        ("s_a1_1", "A"): ("mastered", approx(a_three_right), 3, day(2), day(2), fitted.pk),
        ("s_a1_1", "B"): (
            "in_progress",
            approx(bkt(Fraction(1, 4), Fraction(0), learn=learn)),
            1,
            None,
            day(0),
            fitted.pk,
        ),
        ("s_a1_2", "A"): ("in_progress", approx(completions), 2, None, day(1), fitted.pk),
        ("s_a1_2", "W"): ("mastered", approx((3.3 - 1) / 3), 2, day(1), day(1), fx.writing_v1.pk),
        # 0.996 but one scored response: not mastered by BKT, and mastered once (under "highest"): needs review.
        ("s_b1_1", "A"): ("needs_review", approx(rated), 1, day(0), day(0), fitted.pk),
    }
    assert mastery_recompute() == 0


def test_falling_below_retention_is_needs_review_and_first_mastered_at_is_kept(fx):
    mastery_recompute()
    add(fx.s1, fx.a, "score", 3, score=0.0)
    assert mastery_recompute(pairs=[(fx.s1.pk, fx.a.pk)]) == 1
    state = MasteryState.objects.get(student=fx.s1, competency=fx.a)
    assert (state.status, state.first_mastered_at) == ("mastered", day(2))  # 0.893: hysteresis
    add(fx.s1, fx.a, "score", 4, score=0.0)
    assert mastery_recompute(pairs=[(fx.s1.pk, fx.a.pk)]) == 1
    state.refresh_from_db()
    assert (state.status, state.first_mastered_at, state.evidence_count) == ("needs_review", day(2), 5)


def test_evidence_observed_earlier_than_what_is_stored_is_replayed_in_time_order(fx):
    mastery_recompute()
    add(fx.s1, fx.b, "score", -5, score=1.0)  # arrives late, observed before the wrong answer
    assert mastery_recompute(pairs=[(fx.s1.pk, fx.b.pk)]) == 1
    state = MasteryState.objects.get(student=fx.s1, competency=fx.b)
    assert state.estimate == approx(bkt(bkt(Fraction(1, 4), Fraction(1)), Fraction(0)))
    assert state.last_evidence_at == day(0)


# --- explanations ------------------------------------------------------------------------------------------


def test_explanation_lists_exactly_the_evidence_that_counted_bkt(fx, django_assert_max_num_queries):
    completion = add(fx.s1, fx.a, "completion", 3)
    add(fx.s2, fx.a, "score", 3, score=1.0)  # another student's: not listed
    mastery_recompute()

    with django_assert_max_num_queries(3):
        explanation = mastery_explanation(student_id=fx.s1.pk, competency_id=fx.a.pk)

    counted = list(Evidence.objects.filter(student=fx.s1, competency=fx.a).order_by("observed_at", "id"))
    assert [e["id"] for e in explanation["evidence"]] == [e.pk for e in counted]
    assert explanation["evidence"][-1] == {
        "id": completion.pk,
        "kind": "completion",
        "score": None,
        "rating": None,
        "source": "test",
        "observed_at": day(3),
        "recorded_by": None,
    }
    assert explanation["method"] == "bkt"
    assert explanation["method_label"] == "Bayesian Knowledge Tracing"
    assert explanation["policy"] is None
    defaults = BKTParams(0.25, 0.15, 0.2, 0.1, 0.0)
    assert explanation["rule"] == describe("bkt", defaults, mastery_thresholds())
    assert explanation["parameters"] == {
        "p_init": 0.25,
        "p_learn": 0.15,
        "p_guess": 0.2,
        "p_slip": 0.1,
        "p_forget": 0.0,
        "mastery_threshold": 0.95,
        "min_scored_observations": 3,
        "retention_threshold": 0.8,
        "rating_guess_slip": 0.05,
        "rating_meets": 3,
        "completion_learn": 0.05,
    }
    three_right = Fraction(272757, 277670)
    trajectory = [float(bkt(Fraction(1, 4), Fraction(1))), float(Fraction(3021, 3310)), float(three_right)]
    trajectory.append(float(three_right + (1 - three_right) * Fraction(1, 20)))
    assert [when for when, _ in explanation["trajectory"]] == [day(0), day(1), day(2), day(3)]
    assert [value for _, value in explanation["trajectory"]] == pytest.approx(trajectory, abs=1e-12)
    state = MasteryState.objects.get(student=fx.s1, competency=fx.a)
    assert explanation["state"] == {
        "status": "mastered",
        "effective_status": "mastered",
        "estimate": state.estimate,
        "evidence_count": 4,
        "first_mastered_at": day(2),
        "last_evidence_at": day(3),
        "updated_at": state.updated_at,
    }
    assert explanation["computed"]["status"] == "mastered"
    assert explanation["computed"]["estimate"] == state.estimate
    assert explanation["override"] is None


def test_explanation_of_a_rubric_policy_lists_ratings_not_completions(fx):
    add(fx.s2, fx.w, "completion", 2)
    mastery_recompute()

    explanation = mastery_explanation(student_id=fx.s2.pk, competency_id=fx.w.pk)

    ratings = list(Evidence.objects.filter(student=fx.s2, competency=fx.w, kind="rating").order_by("observed_at"))
    assert [(e["id"], e["rating"], e["recorded_by"]) for e in explanation["evidence"]] == [
        (ratings[0].pk, 2, "T t_a1"),
        (ratings[1].pk, 4, "T t_a1"),
    ]
    assert explanation["method"] == "decaying_average"
    assert explanation["policy"] == {"id": fx.writing_v1.pk, "version": 1}
    assert explanation["parameters"] == {"mastery_level": 3.0, "weight": 0.65, "min_ratings": 2}
    assert explanation["rule"].startswith("Decaying average of ratings on the 1–4 scale")
    assert [value for _, value in explanation["trajectory"]] == pytest.approx([2.0, 3.3], abs=1e-12)
    assert explanation["state"]["status"] == "mastered"


def test_explanation_before_any_recompute_uses_the_latest_policy(fx):
    explanation = mastery_explanation(student_id=fx.s2.pk, competency_id=fx.w.pk)
    assert explanation["state"] is None
    assert explanation["policy"] == {"id": fx.writing_v1.pk, "version": 1}
    assert explanation["computed"]["status"] == "mastered"

    nothing = mastery_explanation(student_id=fx.s3.pk, competency_id=fx.c.pk)
    assert (nothing["evidence"], nothing["trajectory"], nothing["state"]) == ([], [], None)
    assert nothing["computed"]["status"] == "not_started"

    with pytest.raises(Competency.DoesNotExist):
        mastery_explanation(student_id=fx.s3.pk, competency_id=fx.c.pk + 1000)
