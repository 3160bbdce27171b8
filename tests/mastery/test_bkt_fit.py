"""BKT fitting (mastery/bkt_fit.py): exact passes and metrics, EM that recovers known parameters."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from mastery import bkt_fit
from mastery.bkt_fit import FitParams


def naive_predictions(competency, student, correct, params):
    """Reference: one response at a time, in input order, with a dict of P(known) per sequence."""
    state: dict[tuple[int, int], float] = {}
    out = []
    for comp, stud, right in zip(competency, student, correct, strict=True):
        p = params[comp]
        known = state.get((comp, stud), p.p_init)
        out.append(known * (1 - p.p_slip) + (1 - known) * p.p_guess)
        if right:
            post = known * (1 - p.p_slip) / (known * (1 - p.p_slip) + (1 - known) * p.p_guess)
        else:
            post = known * p.p_slip / (known * p.p_slip + (1 - known) * (1 - p.p_guess))
        state[(comp, stud)] = post * (1 - p.p_forget) + (1 - post) * p.p_learn
    return np.array(out)


def random_log(seed: int, n: int = 400, competencies: int = 3, students: int = 30):
    rng = np.random.default_rng(seed)
    return rng.integers(0, competencies, n), rng.integers(0, students, n), rng.integers(0, 2, n)


PARAMS = [
    FitParams(0.3, 0.1, 0.2, 0.1, 0.05),
    FitParams(0.5, 0.2, 0.25, 0.15, 0.0),
    FitParams(0.1, 0.3, 0.1, 0.05, 0.1),
]


# --- the forward pass -----------------------------------------------------------------------------------


def test_prediction_of_a_hand_worked_sequence():
    # P(L0) 1/2, learn 1/5, guess 1/5, slip 1/10; responses right, wrong, right.
    p = FitParams(0.5, 0.2, 0.2, 0.1)
    first = Fraction(1, 2) * Fraction(9, 10) + Fraction(1, 2) * Fraction(1, 5)  # 11/20
    known = Fraction(1, 5) + Fraction(4, 5) * (Fraction(1, 2) * Fraction(9, 10) / first)  # 47/55
    second = known * Fraction(9, 10) + (1 - known) * Fraction(1, 5)
    post = known * Fraction(1, 10) / (known * Fraction(1, 10) + (1 - known) * Fraction(4, 5))
    known = Fraction(1, 5) + Fraction(4, 5) * post
    third = known * Fraction(9, 10) + (1 - known) * Fraction(1, 5)
    data = bkt_fit.responses_from_arrays(competency=[0, 0, 0], student=[7, 7, 7], correct=[1, 0, 1])
    predicted = bkt_fit.predict(data, [p])
    assert first == Fraction(11, 20)
    assert predicted.tolist() == pytest.approx([float(first), float(second), float(third)], abs=1e-15)
    ll = bkt_fit.log_likelihood(data, [p])
    assert ll.tolist() == pytest.approx([math.log(first) + math.log(1 - second) + math.log(third)], abs=1e-13)


def test_vectorized_predictions_equal_the_one_at_a_time_reference_with_forgetting():
    comp, stud, right = random_log(1)
    data = bkt_fit.responses_from_arrays(competency=comp, student=stud, correct=right)
    expected = naive_predictions(comp, stud, right, PARAMS)
    assert np.abs(bkt_fit.predict(data, PARAMS) - expected).max() < 1e-14
    log_likelihood = np.bincount(comp, weights=np.log(np.where(right == 1, expected, 1 - expected)))
    assert np.abs(bkt_fit.log_likelihood(data, PARAMS) - log_likelihood).max() < 1e-11


def test_order_column_orders_each_sequence_and_results_come_back_in_input_order():
    comp, stud, right = random_log(2)
    shuffle = np.random.default_rng(3).permutation(len(right))
    order = np.empty(len(right))
    order[shuffle] = np.arange(len(right))  # the true chronological position of each shuffled row
    rows = np.argsort(order)
    chronological = naive_predictions(comp[rows], stud[rows], right[rows], PARAMS)
    data = bkt_fit.responses_from_arrays(competency=comp, student=stud, correct=right, order=order)
    predicted = bkt_fit.predict(data, PARAMS)
    assert np.abs(predicted[rows] - chronological).max() < 1e-14


def test_time_major_layout():
    # Sequences: (comp 0, student 0) length 3, (0, 1) length 1, (1, 0) length 2.
    data = bkt_fit.responses_from_arrays(
        competency=[0, 0, 0, 0, 1, 1], student=[0, 1, 0, 0, 0, 0], correct=[1, 0, 1, 0, 1, 1]
    )
    assert data.counts.tolist() == [3, 2, 1]
    assert data.offsets.tolist() == [0, 3, 5, 6]
    assert data.seq_competency.tolist() == [0, 1, 0]  # longest first: (0,0), (1,0), (0,1)
    assert data.source.tolist() == [0, 4, 1, 2, 5, 3]
    assert data.cont.tolist() == [0, 1, 3]
    assert data.succ.tolist() == [3, 4, 5]


def test_bad_responses_are_refused():
    with pytest.raises(ValueError, match="correct must be 0 or 1"):
        bkt_fit.responses_from_arrays(competency=[0, 0], student=[0, 0], correct=[1, 2])
    with pytest.raises(ValueError, match="same length"):
        bkt_fit.responses_from_arrays(competency=[0], student=[0, 0], correct=[1, 0])


# --- EM ----------------------------------------------------------------------------------------------


def brute_force_counts(obs, p: FitParams):
    """Expected counts of one sequence by enumerating every path of hidden states."""
    total = 0.0
    sums = dict.fromkeys(("known", "known_correct", "known_cont", "learned", "forgot", "first_known"), 0.0)
    for path in itertools.product((0, 1), repeat=len(obs)):
        prob = p.p_init if path[0] else 1 - p.p_init
        for t, (state, right) in enumerate(zip(path, obs, strict=True)):
            if t:
                before = path[t - 1]
                prob *= (1 - p.p_forget if state else p.p_forget) if before else (p.p_learn if state else 1 - p.p_learn)
            prob *= (1 - p.p_slip if right else p.p_slip) if state else (p.p_guess if right else 1 - p.p_guess)
        total += prob
        sums["known"] += prob * sum(path)
        sums["known_correct"] += prob * sum(s * o for s, o in zip(path, obs, strict=True))
        sums["known_cont"] += prob * sum(path[:-1])
        sums["learned"] += prob * sum((1 - a) * b for a, b in itertools.pairwise(path))
        sums["forgot"] += prob * sum(a * (1 - b) for a, b in itertools.pairwise(path))
        sums["first_known"] += prob * path[0]
    return math.log(total), {name: value / total for name, value in sums.items()}


def test_e_step_counts_equal_enumeration_over_all_hidden_paths():
    comp, stud, right = random_log(4, n=40, competencies=2, students=8)
    params = PARAMS[:2]
    data = bkt_fit.responses_from_arrays(competency=comp, student=stud, correct=right)
    theta = {name: np.array([[getattr(p, name)] for p in params]) for name in bkt_fit.PARAM_NAMES}
    ll, soft = bkt_fit._e_step(data, theta, forgetting=True)
    expected_ll = np.zeros(2)
    expected = {name: np.zeros(2) for name in soft}
    for c, s in itertools.product(range(2), range(8)):
        obs = right[(comp == c) & (stud == s)].tolist()
        if obs:
            seq_ll, counts = brute_force_counts(obs, params[c])
            expected_ll[c] += seq_ll
            for name in expected:
                expected[name][c] += counts[name]
    assert np.abs(ll[:, 0] - expected_ll).max() < 1e-12
    for name in expected:
        assert np.abs(soft[name][:, 0] - expected[name]).max() < 1e-12, name


@pytest.mark.parametrize("forgetting", [False, True])
def test_em_log_likelihood_never_decreases(forgetting):
    comp, stud, right = random_log(5)
    data = bkt_fit.responses_from_arrays(competency=comp, student=stud, correct=right)
    lls = [
        sum(r.log_likelihood for r in bkt_fit.fit(data, restarts=1, seed=9, max_iter=n, tol=0, forgetting=forgetting))
        for n in range(1, 25)
    ]
    assert all(later >= earlier - 1e-9 for earlier, later in itertools.pairwise(lls))
    assert lls[-1] > lls[0]


TRUE_STANDARD = FitParams(p_init=0.3, p_learn=0.12, p_guess=0.2, p_slip=0.08)
TRUE_FORGETTING = FitParams(p_init=0.4, p_learn=0.2, p_guess=0.15, p_slip=0.1, p_forget=0.05)


@pytest.mark.parametrize(("truth", "forgetting"), [(TRUE_STANDARD, False), (TRUE_FORGETTING, True)])
def test_em_recovers_the_parameters_that_generated_the_data(truth, forgetting):
    student, correct = bkt_fit.simulate(truth, n_students=4000, length=12, seed=7)
    data = bkt_fit.responses_from_arrays(competency=np.zeros_like(student), student=student, correct=correct)
    (result,) = bkt_fit.fit(data, forgetting=forgetting, seed=1)
    assert result.converged
    assert result.n_responses == 48000
    assert result.n_sequences == 4000
    for name, value in truth.as_dict().items():
        assert getattr(result.params, name) == pytest.approx(value, abs=0.01), name


def test_several_competencies_are_fitted_together_each_to_its_own_parameters():
    truths = [TRUE_STANDARD, FitParams(0.6, 0.3, 0.1, 0.05)]
    parts = [bkt_fit.simulate(truth, n_students=3000, length=10, seed=11 + i) for i, truth in enumerate(truths)]
    data = bkt_fit.responses_from_arrays(
        competency=np.concatenate([np.full(len(s), i) for i, (s, _) in enumerate(parts)]),
        student=np.concatenate([s for s, _ in parts]),
        correct=np.concatenate([c for _, c in parts]),
    )
    results = bkt_fit.fit(data, seed=2)
    for truth, result in zip(truths, results, strict=True):
        for name, value in truth.as_dict().items():
            assert getattr(result.params, name) == pytest.approx(value, abs=0.015), name


def test_fits_stay_within_the_bounds():
    # Guessing at 0.45 and slipping at 0.35 cannot be represented: the fit stops at the bounds.
    student, correct = bkt_fit.simulate(FitParams(0.2, 0.05, 0.45, 0.35), n_students=2000, length=8, seed=3)
    data = bkt_fit.responses_from_arrays(competency=np.zeros_like(student), student=student, correct=correct)
    (result,) = bkt_fit.fit(data, seed=0)
    for name, (low, high) in bkt_fit.BOUNDS.items():
        assert low <= getattr(result.params, name) <= high
    assert result.params.p_forget == 0.0


def test_the_best_restart_is_kept_even_when_stopped_while_exploring():
    comp, stud, right = random_log(8)
    data = bkt_fit.responses_from_arrays(competency=comp, student=stud, correct=right)
    short = bkt_fit.fit(data, restarts=5, seed=4, max_iter=2)
    starts = bkt_fit._starts(3, 5, np.random.default_rng(4), False, None)
    after_one = bkt_fit._m_step(data, starts, bkt_fit._e_step(data, starts, False)[1], False)
    ll = bkt_fit._e_step(data, after_one, False)[0]
    assert [r.log_likelihood for r in short] == pytest.approx(ll.max(axis=1).tolist(), abs=1e-12)
    assert [r.iterations for r in short] == [2, 2, 2]


def test_fit_is_deterministic_per_seed_and_a_competency_without_data_gets_the_fallback():
    comp, stud, right = random_log(6, competencies=2)
    data = bkt_fit.responses_from_arrays(competency=comp, student=stud, correct=right, n_competencies=3)
    fallback = FitParams(0.25, 0.15, 0.2, 0.1)
    first = bkt_fit.fit(data, seed=5, fallback=fallback)
    assert first == bkt_fit.fit(data, seed=5, fallback=fallback)
    assert first[2] == bkt_fit.FitResult(fallback, 0.0, 0, True, 0, 0)
    assert first[0].n_responses == int((comp == 0).sum())


# --- metrics -----------------------------------------------------------------------------------------


def test_metrics_on_a_hand_made_example():
    correct = [1, 0, 1, 0, 1]
    predicted = [0.9, 0.3, 0.5, 0.5, 0.2]
    # Positive-negative pairs ranked right: (.9,.3) (.9,.5) (.5,.3), the tie (.5,.5) counts half: 3.5 of 6.
    assert bkt_fit.auc(correct, predicted) == pytest.approx(3.5 / 6, abs=1e-15)
    assert bkt_fit.rmse(correct, predicted) == pytest.approx(math.sqrt((0.01 + 0.09 + 0.25 + 0.25 + 0.64) / 5))
    expected_loss = -(math.log(0.9) + math.log(0.7) + math.log(0.5) + math.log(0.5) + math.log(0.2)) / 5
    assert bkt_fit.log_loss(correct, predicted) == pytest.approx(expected_loss, abs=1e-15)


def test_auc_is_undefined_with_one_outcome_and_perfect_ranking_is_one():
    assert bkt_fit.auc([1, 1], [0.2, 0.9]) is None
    assert bkt_fit.auc([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.7]) == 1.0
    assert bkt_fit.auc([0, 1], [0.5, 0.5]) == 0.5


# --- cross-validation -------------------------------------------------------------------------------


def test_fold_split_is_deterministic_per_seed_and_balanced():
    folds = bkt_fit.student_folds(12, 5, seed=42)
    assert folds.tolist() == bkt_fit.student_folds(12, 5, seed=42).tolist()
    assert folds.tolist() != bkt_fit.student_folds(12, 5, seed=43).tolist()
    assert sorted(np.bincount(folds).tolist()) == [2, 2, 2, 3, 3]
    with pytest.raises(ValueError, match="3 students cannot make 5 folds"):
        bkt_fit.student_folds(3, 5, seed=0)


def test_cross_validation_is_by_student_and_predicts_from_training_students_only():
    comp, stud, right = random_log(7, n=600, students=40)
    result = bkt_fit.cross_validate(competency=comp, student=stud, correct=right, folds=4, seed=1)
    for s in range(40):  # every response of a student is in one fold
        assert len(set(result.fold[stud == s].tolist())) <= 1
    # Changing the held-out students' answers of fold 0 changes none of fold 0's fitted parameters.
    flipped = right.copy()
    flipped[result.fold == 0] = 1 - flipped[result.fold == 0]
    again = bkt_fit.cross_validate(competency=comp, student=stud, correct=flipped, folds=4, seed=1)
    assert again.fits[0] == result.fits[0]
    assert again.fits[1] != result.fits[1]
    # Each prediction is the fold's model applied to the student's earlier responses.
    test = result.fold == 2
    data = bkt_fit.responses_from_arrays(competency=comp[test], student=stud[test], correct=right[test])
    params = [r.params for r in result.fits[2]]
    assert np.array_equal(result.predicted[test], bkt_fit.predict(data, params))
    assert result.metrics(right)["n_predictions"] == 600
