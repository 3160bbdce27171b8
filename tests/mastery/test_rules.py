"""The mastery rules, pure: hand-computed BKT steps, each rubric policy's edges, hysteresis, needs_review,
first_mastered_at, completions, the rule in words, and the vectorized batch against the one-pair rule."""

from __future__ import annotations

import datetime
from fractions import Fraction

import numpy as np
import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from mastery import rules
from mastery.rules import BKTParams, Observation, Thresholds, evaluate

TH = Thresholds.from_settings(settings.PLPLATFORM)
DEFAULTS = BKTParams.from_mapping(settings.PLPLATFORM["BKT_DEFAULTS"])  # type: ignore[arg-type]
T0 = datetime.datetime(2026, 9, 1, 9, 0, tzinfo=datetime.UTC)


def at(day: int) -> datetime.datetime:
    return T0 + datetime.timedelta(days=day)


def scores(*values: float) -> list[Observation]:
    return [Observation("score", at(i), score=v, evidence_id=i + 1) for i, v in enumerate(values)]


def ratings(*values: int) -> list[Observation]:
    return [Observation("rating", at(i), rating=v, evidence_id=i + 1) for i, v in enumerate(values)]


def exact_step(known: Fraction, s: Fraction, guess: Fraction, slip: Fraction, learn: Fraction, forget=Fraction(0)):
    """BKT by hand, in exact fractions: Bayes with the mixture likelihood, then learning and forgetting."""
    p_obs_known = s * (1 - slip) + (1 - s) * slip
    p_obs_unknown = s * guess + (1 - s) * (1 - guess)
    posterior = known * p_obs_known / (known * p_obs_known + (1 - known) * p_obs_unknown)
    return posterior * (1 - forget) + (1 - posterior) * learn


G, S, T = Fraction(1, 5), Fraction(1, 10), Fraction(3, 20)


def test_settings_give_the_design_numbers():
    assert BKTParams(p_init=0.25, p_learn=0.15, p_guess=0.20, p_slip=0.10, p_forget=0.0) == DEFAULTS
    assert (
        Thresholds(
            mastery=0.95,
            min_scored=3,
            retention=0.80,
            rating_guess_slip=0.05,
            rating_meets=3,
            completion_learn=0.05,
            decaying_weight=0.65,
            decaying_min_ratings=2,
            rubric_level=3.0,
            n_times=3,
        )
        == TH
    )


# --- BKT ------------------------------------------------------------------------------------------


def test_three_correct_answers_by_hand():
    # Step 1: P(L|right) = 0.25·0.9 / (0.25·0.9 + 0.75·0.2) = 0.6; then 0.6 + 0.4·0.15 = 0.66.
    assert exact_step(Fraction(1, 4), Fraction(1), G, S, T) == Fraction(33, 50)
    expected = [Fraction(33, 50), Fraction(3021, 3310), Fraction(272757, 277670)]
    known = Fraction(1, 4)
    for value in expected:
        known = exact_step(known, Fraction(1), G, S, T)
        assert known == value

    outcome = evaluate("bkt", DEFAULTS, TH, scores(1, 1, 1))

    assert [estimate for _, estimate in outcome.trajectory] == pytest.approx([float(v) for v in expected], abs=1e-12)
    assert outcome.estimate == pytest.approx(272757 / 277670, abs=1e-12)
    assert outcome.status == "mastered"  # 0.9823 >= 0.95 after 3 scored responses
    assert outcome.first_mastered_at == at(2)
    assert outcome.last_evidence_at == at(2)
    assert outcome.evidence_count == 3
    assert [when for when, _ in outcome.trajectory] == [at(0), at(1), at(2)]


def test_partial_credit_uses_the_mixture_likelihood():
    values = [Fraction(1, 2), Fraction(0), Fraction(3, 4)]
    known, expected = Fraction(1, 4), []
    for s in values:
        known = exact_step(known, s, G, S, T)
        expected.append(known)
    assert expected == [Fraction(29, 80), Fraction(451, 2185), Fraction(11621, 26360)]

    outcome = evaluate("bkt", DEFAULTS, TH, scores(0.5, 0.0, 0.75))

    assert [e for _, e in outcome.trajectory] == pytest.approx([float(v) for v in expected], abs=1e-12)
    assert outcome.status == "in_progress"


def test_ratings_are_meets_or_not_yet_with_their_own_guess_and_slip():
    gs = Fraction(1, 20)
    known, expected = Fraction(1, 4), []
    for meets in (1, 0, 1, 1):  # ratings 4, 2, 3, 4
        known = exact_step(known, Fraction(meets), gs, gs, T)
        expected.append(known)
    assert expected[0] == Fraction(389, 440)

    outcome = evaluate("bkt", DEFAULTS, TH, ratings(4, 2, 3, 4))

    assert [e for _, e in outcome.trajectory] == pytest.approx([float(v) for v in expected], abs=1e-12)
    assert float(expected[2]) < 0.95 <= float(expected[3])
    assert outcome.status == "mastered"
    assert outcome.first_mastered_at == at(3)
    # A rating of 1 is as "not yet" as a 2; a 4 as "meets" as a 3.
    assert (
        evaluate("bkt", DEFAULTS, TH, ratings(1, 3)).estimate == evaluate("bkt", DEFAULTS, TH, ratings(2, 4)).estimate
    )


def test_forgetting_applies_after_each_learning_step():
    forgetful = BKTParams(0.25, 0.15, 0.2, 0.1, 0.1)
    known, expected = Fraction(1, 4), []
    for _ in range(4):
        known = exact_step(known, Fraction(1), G, S, T, Fraction(1, 10))
        expected.append(known)
    assert expected[:2] == [Fraction(3, 5), Fraction(249, 310)]

    outcome = evaluate("bkt", forgetful, TH, scores(1, 1, 1, 1))

    assert [e for _, e in outcome.trajectory] == pytest.approx([float(v) for v in expected], abs=1e-12)
    assert outcome.status == "in_progress"  # with 10% forgetting four right answers stay below 95%


def test_completions_are_learning_opportunities_only_and_never_master_alone():
    outcome = evaluate("bkt", DEFAULTS, TH, [Observation("completion", at(i)) for i in range(200)])
    assert outcome.status == "in_progress"
    assert outcome.estimate == pytest.approx(1 - 0.75 * 0.95**200, abs=1e-12)
    assert outcome.first_mastered_at is None
    assert outcome.evidence_count == 200

    one = evaluate("bkt", DEFAULTS, TH, [Observation("completion", at(0))])
    assert one.estimate == pytest.approx(0.25 + 0.75 * 0.05, abs=1e-12)


def test_completions_do_not_count_as_scored_observations():
    eager = BKTParams(p_init=0.9, p_learn=0.15, p_guess=0.2, p_slip=0.1)
    two_right = scores(1, 1)
    completions = [Observation("completion", at(10 + i)) for i in range(5)]
    assert evaluate("bkt", eager, TH, two_right + completions).status == "in_progress"
    assert evaluate("bkt", eager, TH, scores(1, 1, 1)).status == "mastered"


def test_mastery_needs_three_scored_observations_even_when_the_estimate_is_high():
    eager = BKTParams(p_init=0.9, p_learn=0.15, p_guess=0.2, p_slip=0.1)
    one = evaluate("bkt", eager, TH, scores(1))
    assert one.estimate > 0.95
    assert one.status == "in_progress"
    assert evaluate("bkt", eager, TH, scores(1, 1)).status == "in_progress"
    three = evaluate("bkt", eager, TH, scores(1, 1, 1))
    assert (three.status, three.first_mastered_at) == ("mastered", at(2))


def test_hysteresis_then_needs_review_then_mastered_again_keeping_first_mastered_at():
    answers = (1, 1, 1, 0, 0, 1, 1)
    known, exact = Fraction(1, 4), []
    for s in answers:
        known = exact_step(known, Fraction(s), G, S, T)
        exact.append(float(known))
    history = scores(*answers)
    steps = [evaluate("bkt", DEFAULTS, TH, history[: k + 1]) for k in range(len(history))]
    assert [s.estimate for s in steps] == pytest.approx(exact, abs=1e-12)
    assert [round(e, 3) for e in exact] == [0.66, 0.913, 0.982, 0.893, 0.584, 0.884, 0.976]
    assert [s.status for s in steps] == [
        "in_progress",
        "in_progress",
        "mastered",
        "mastered",  # 0.893: between 0.80 and 0.95 a mastered pair stays mastered
        "needs_review",  # 0.584 < 0.80
        "needs_review",  # 0.884: back above 0.80 but not mastered again yet
        "mastered",
    ]
    assert all(s.first_mastered_at == at(2) for s in steps[2:])


def test_in_between_without_ever_being_mastered_is_in_progress():
    outcome = evaluate("bkt", DEFAULTS, TH, scores(1, 1, 0.5))  # a half score tells nothing: 0.926
    assert 0.80 < outcome.estimate < 0.95
    assert outcome.status == "in_progress"


def test_a_stored_first_mastered_at_is_kept_and_makes_a_shortfall_needs_review():
    before = T0 - datetime.timedelta(days=30)
    short = evaluate("bkt", DEFAULTS, TH, scores(1, 0), first_mastered_at=before)
    assert (short.status, short.first_mastered_at) == ("needs_review", before)
    again = evaluate("bkt", DEFAULTS, TH, scores(1, 1, 1), first_mastered_at=before)
    assert (again.status, again.first_mastered_at) == ("mastered", before)


def test_no_evidence_is_not_started():
    for method in rules.METHODS:
        outcome = evaluate(method, DEFAULTS if method == "bkt" else None, TH, [])
        assert outcome == rules.Outcome("not_started", None, 0, None, None, ())


def test_observations_are_ordered_by_time_then_evidence_id():
    a = Observation("score", at(1), score=0.0, evidence_id=7)
    b = Observation("score", at(1), score=1.0, evidence_id=3)
    c = Observation("score", at(0), score=1.0, evidence_id=9)
    outcome = evaluate("bkt", DEFAULTS, TH, [a, b, c])
    assert [o.evidence_id for o in outcome.counted] == [9, 3, 7]
    assert outcome.estimate == evaluate("bkt", DEFAULTS, TH, [c, b, a]).estimate


# --- rubric policies ------------------------------------------------------------------------------------


def run(method: str, observations: list[Observation]) -> rules.Outcome:
    return evaluate(method, None, TH, observations)


def test_decaying_average():
    outcome = run("decaying_average", ratings(2, 4))
    assert [e for _, e in outcome.trajectory] == pytest.approx([2.0, 0.35 * 2 + 0.65 * 4], abs=1e-12)  # 3.3
    assert (outcome.status, outcome.first_mastered_at) == ("mastered", at(1))

    assert run("decaying_average", ratings(4)).status == "in_progress"  # 4.0 but only one rating
    fell = run("decaying_average", ratings(4, 4, 1))
    assert fell.estimate == pytest.approx(0.35 * 4 + 0.65 * 1, abs=1e-12)  # 2.05
    assert (fell.status, fell.first_mastered_at) == ("needs_review", at(1))
    assert run("decaying_average", ratings(3, 2)).estimate == pytest.approx(0.35 * 3 + 0.65 * 2, abs=1e-12)
    assert run("decaying_average", ratings(3, 2)).status == "in_progress"  # 2.35


def test_scores_count_on_the_rubric_scale_as_one_plus_three_times_the_score():
    outcome = run("decaying_average", scores(1.0, 2 / 3))
    assert [e for _, e in outcome.trajectory] == pytest.approx([4.0, 0.35 * 4 + 0.65 * 3], abs=1e-12)
    assert outcome.status == "mastered"
    assert run("most_recent", scores(0.5)).estimate == pytest.approx(2.5, abs=1e-12)


def test_n_times():
    outcome = run("n_times", ratings(3, 4, 2, 3))
    assert [e for _, e in outcome.trajectory] == [3.0, 3.0, 2.0, 3.0]  # the 3rd highest (lowest while fewer)
    assert (outcome.status, outcome.first_mastered_at) == ("mastered", at(3))
    assert run("n_times", ratings(4, 4)).status == "in_progress"  # fewer than n ratings
    assert run("n_times", ratings(4, 4, 2, 2, 2)).status == "in_progress"  # two at the standard
    assert run("n_times", ratings(4, 4, 4, 1, 1)).status == "mastered"  # three at the standard stay three


def test_most_recent():
    assert run("most_recent", ratings(2, 3)).status == "mastered"
    fell = run("most_recent", ratings(2, 3, 2))
    assert (fell.status, fell.estimate, fell.first_mastered_at) == ("needs_review", 2.0, at(1))
    assert run("most_recent", ratings(4, 2)).status == "needs_review"
    assert run("most_recent", ratings(2, 2)).status == "in_progress"


def test_highest():
    outcome = run("highest", ratings(1, 3, 1))
    assert (outcome.status, outcome.estimate, outcome.first_mastered_at) == ("mastered", 3.0, at(1))
    assert run("highest", ratings(1, 2, 2)).status == "in_progress"


def test_mean():
    assert (run("mean", ratings(4, 2)).status, run("mean", ratings(4, 2)).estimate) == ("mastered", 3.0)
    fell = run("mean", ratings(4, 2, 2))
    assert fell.estimate == pytest.approx(8 / 3, abs=1e-12)
    assert (fell.status, fell.first_mastered_at) == ("needs_review", at(0))
    assert run("mean", ratings(2, 3)).status == "in_progress"


def test_rubric_policies_ignore_completions_but_they_still_mean_started():
    only = run("mean", [Observation("completion", at(0))])
    assert (only.status, only.estimate, only.evidence_count, only.trajectory) == ("in_progress", None, 0, ())
    mixed = run("highest", [Observation("completion", at(0)), *ratings(3)])
    assert [o.kind for o in mixed.counted] == ["rating"]
    assert mixed.evidence_count == 1


def test_a_stored_first_mastered_at_under_a_rubric_policy():
    before = T0 - datetime.timedelta(days=30)
    outcome = evaluate("most_recent", None, TH, ratings(2), first_mastered_at=before)
    assert (outcome.status, outcome.first_mastered_at) == ("needs_review", before)


def test_unit_estimate_maps_the_rubric_scale_back_to_zero_one():
    assert rules.unit_estimate("bkt", 0.66) == 0.66
    assert rules.unit_estimate("mean", 4.0) == 1.0
    assert rules.unit_estimate("mean", 1.0) == 0.0
    assert rules.unit_estimate("mean", 3.0) == pytest.approx(2 / 3, abs=1e-12)
    assert rules.unit_estimate("highest", None) is None
    assert rules.unit_estimate("mean", 4.000000000000001) == 1.0  # never outside the stored range


def test_unknown_method_or_missing_bkt_parameters_are_refused():
    with pytest.raises(ValueError, match="Unknown mastery method"):
        evaluate("median", None, TH, ratings(3))
    with pytest.raises(ValueError, match="BKT needs its parameters"):
        evaluate("bkt", None, TH, scores(1))


# --- the rule in words -----------------------------------------------------------------------------------


def test_describe_bkt_with_its_numbers():
    assert rules.describe("bkt", DEFAULTS, TH) == (
        "Bayesian Knowledge Tracing: mastered when the estimated chance the student knows it reaches 95% after "
        "at least 3 scored responses; starts at 25%, each response is a chance to learn it (15%), a right answer "
        "without knowing it (a guess) is 20% likely and a wrong answer while knowing it (a slip) 10%, with no "
        "forgetting. Partial credit counts in proportion to the score. Teacher ratings of 3 or more count as "
        "“meets”, lower ratings as “not yet” (guess and slip 5%). A completed activity raises the chance by 5% of "
        "what is left and never gives mastery on its own. A mastered competency stays mastered down to 80% and "
        "needs review below it."
    )
    fitted = rules.describe("bkt", BKTParams(0.123, 0.05, 0.25, 0.075, 0.02), TH)
    assert "starts at 12.3%" in fitted
    assert "(5%)" in fitted
    assert "a 2% chance of forgetting after each response" in fitted


def test_describe_rubric_policies_with_their_numbers_and_the_score_mapping():
    described = {method: rules.describe(method, None, TH) for method in rules.RUBRIC_METHODS}
    assert described["decaying_average"].startswith(
        "Decaying average of ratings on the 1–4 scale, in date order: each new rating counts 65% and the average "
        "before it 35%; mastered when the average is at least 3 after at least 2 ratings."
    )
    assert described["n_times"].startswith("N times: mastered once 3 ratings are at 3 or above (at least 3 ratings")
    assert described["most_recent"].startswith("Most recent rating: mastered when the latest rating is at least 3.")
    assert described["highest"].startswith("Highest rating: mastered when any rating reaches 3.")
    assert described["mean"].startswith("Mean rating: mastered when the average of all ratings is at least 3.")
    assert all("1 + 3 × score" in text for text in described.values())


# --- the vectorized batch ----------------------------------------------------------------------------------


def _flatten(pairs: list[list[tuple[int, float]]]):
    lengths = np.array([len(p) for p in pairs], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if pairs else np.zeros(0, np.int64)
    kinds = np.array([k for p in pairs for k, _ in p], dtype=np.int8)
    values = np.array([v for p in pairs for _, v in p], dtype=np.float64)
    return starts, lengths, kinds, values


def _observations(pair: list[tuple[int, float]], offset: int) -> list[Observation]:
    out = []
    for i, (kind, value) in enumerate(pair):
        name = rules.KINDS[kind]
        out.append(
            Observation(
                name,
                at(i),
                score=value if name == "score" else None,
                rating=int(value) if name == "rating" else None,
                evidence_id=offset + i,
            )
        )
    return out


def assert_batch_matches_scalar(pairs, params_table, param_index, ever):
    starts, lengths, kinds, values = _flatten(pairs)
    result = rules.evaluate_bkt_batch(
        starts,
        lengths,
        kinds,
        values,
        np.array(params_table),
        TH,
        param_index=np.array(param_index, dtype=np.int64),
        ever_mastered=np.array(ever, dtype=bool),
        block_size=7,  # several blocks, to cover the seams
    )
    before = T0 - datetime.timedelta(days=1)
    for i, pair in enumerate(pairs):
        params = BKTParams(*params_table[param_index[i]])
        observations = _observations(pair, int(starts[i]))
        outcome = evaluate("bkt", params, TH, observations, first_mastered_at=before if ever[i] else None)
        assert rules.STATUSES[result.status[i]] == outcome.status
        if outcome.estimate is None:
            assert np.isnan(result.estimate[i])
        else:
            assert result.estimate[i] == outcome.estimate  # bit for bit
        first = int(result.first_mastered_index[i])
        replay_first = evaluate("bkt", params, TH, observations).first_mastered_at
        assert (observations[first - int(starts[i])].observed_at if first >= 0 else None) == replay_first
        assert result.scored_count[i] == sum(1 for kind, _ in pair if kind != rules.KIND_COMPLETION)


observation = st.one_of(
    st.tuples(st.just(rules.KIND_SCORE), st.floats(0, 1) | st.sampled_from([0.0, 1.0])),
    st.tuples(st.just(rules.KIND_RATING), st.integers(1, 4).map(float)),
    st.tuples(st.just(rules.KIND_COMPLETION), st.just(0.0)),
)
probability = st.floats(0.01, 0.99)
parameter_row = st.tuples(probability, probability, st.floats(0.0, 0.3), st.floats(0.0, 0.3), st.floats(0.0, 0.2))


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    pairs=st.lists(st.lists(observation, max_size=14), max_size=25),
    table=st.lists(parameter_row, min_size=1, max_size=3),
    data=st.data(),
)
def test_batch_equals_the_one_pair_rule_on_random_data(pairs, table, data):
    index = data.draw(st.lists(st.integers(0, len(table) - 1), min_size=len(pairs), max_size=len(pairs)))
    ever = data.draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    assert_batch_matches_scalar(pairs, table, index, ever)


def test_batch_equals_the_one_pair_rule_on_a_larger_random_sample():
    rng = np.random.default_rng(3)
    pairs = []
    for _ in range(400):
        length = int(rng.integers(0, 25))
        kinds = rng.choice([0, 0, 0, 1, 2], length)
        pairs.append(
            [
                (int(k), float(rng.choice([0.0, 1.0, rng.random()])) if k == 0 else float(rng.integers(1, 5)))
                if k != 2
                else (2, 0.0)
                for k in kinds
            ]
        )
    table = [(0.25, 0.15, 0.2, 0.1, 0.0), (0.4, 0.3, 0.1, 0.05, 0.05)]
    assert_batch_matches_scalar(pairs, table, rng.integers(0, 2, 400).tolist(), (rng.random(400) < 0.2).tolist())


def test_batch_with_one_parameter_set_and_known_numbers():
    starts, lengths, kinds, values = _flatten([[(0, 1.0)] * 3, [], [(2, 0.0)], [(1, 4.0), (1, 2.0)]])
    result = rules.evaluate_bkt_batch(starts, lengths, kinds, values, DEFAULTS, TH)
    assert [rules.STATUSES[c] for c in result.status] == ["mastered", "not_started", "in_progress", "in_progress"]
    assert result.estimate[0] == pytest.approx(272757 / 277670, abs=1e-12)
    assert np.isnan(result.estimate[1])
    assert result.estimate[2] == pytest.approx(0.2875, abs=1e-12)
    assert result.first_mastered_index.tolist() == [2, -1, -1, -1]
    assert result.scored_count.tolist() == [3, 0, 0, 2]


def test_batch_on_nothing():
    empty = np.zeros(0, dtype=np.int64)
    result = rules.evaluate_bkt_batch(empty, empty, empty, np.zeros(0), DEFAULTS, TH)
    assert result.status.size == result.estimate.size == result.first_mastered_index.size == 0


def test_batch_refuses_a_table_without_an_index():
    table = rules.bkt_parameter_table([DEFAULTS, DEFAULTS])
    one = np.array([0], dtype=np.int64)
    with pytest.raises(ValueError, match="param_index"):
        rules.evaluate_bkt_batch(one, one, np.array([0]), np.array([1.0]), table, TH)
