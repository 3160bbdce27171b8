"""Bayesian Knowledge Tracing fitted to binary response logs: prediction, likelihood, EM, evaluation.

Pure numpy, no Django: `mastery_fit` (stored evidence), `mastery_evaluate` (any CSV log) and the
benchmark in bench/ all call these functions.

The model, per competency: a student either knows it or not. Before the first response P(known) =
p_init; a response is correct with probability 1 - p_slip when known and p_guess when not; between
two responses an unknown competency becomes known with probability p_learn and, with forgetting,
a known one becomes unknown with probability p_forget.

Speed comes from one layout, "time-major". Every student × competency response sequence is a
sequence; sequences are sorted longest first, and step t holds the t-th response of every sequence
that has one. Because of the sort those are the first ``counts[t]`` sequences, stored contiguously
at ``offsets[t] : offsets[t] + counts[t]``. A pass over the positions (53 for as.csv) then handles
every sequence, every competency and every random restart at once: arrays are (responses, restarts)
and each step is a handful of numpy operations on one contiguous block. Everything that does not
need the recursion (emission probabilities, likelihood, posteriors, soft counts) is computed for
all responses in one vectorized operation, and the soft counts per competency are one matrix product.

EM (Baum-Welch): the E-step runs the forward pass (filtered P(known)), then a backward smoothing pass
that for a two-state chain is a linear recursion on P(known | all responses); the M-step turns soft
counts into parameters and clips them to the bounds. Clipping is the exact constrained maximizer
here (each parameter's expected complete-data log-likelihood is concave in it alone), so the
likelihood still never decreases.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

# Bounds (DESIGN.md section 4): guess and slip stay low so that "known" means mostly-correct and the
# model stays identifiable. The small floors keep every probability away from 0 for the logarithms.
BOUNDS: dict[str, tuple[float, float]] = {
    "p_init": (0.01, 0.95),
    "p_learn": (0.01, 0.5),
    "p_guess": (0.001, 0.30),
    "p_slip": (0.001, 0.20),
    "p_forget": (0.0, 0.5),
}
# Random restarts start inside these ranges (p_forget only when fitting with forgetting).
START_RANGES: dict[str, tuple[float, float]] = {
    "p_init": (0.05, 0.9),
    "p_learn": (0.02, 0.4),
    "p_guess": (0.02, 0.3),
    "p_slip": (0.02, 0.2),
    "p_forget": (0.0, 0.1),
}
PARAM_NAMES = ("p_init", "p_learn", "p_guess", "p_slip", "p_forget")
# Predicted probabilities are clipped this far from 0 and 1 for the log-loss.
LOG_LOSS_EPS = 1e-15


@dataclass(frozen=True)
class FitParams:
    """BKT parameters of one competency (the same names as MasteryPolicy.parameters)."""

    p_init: float
    p_learn: float
    p_guess: float
    p_slip: float
    p_forget: float = 0.0

    def as_dict(self, digits: int | None = None) -> dict[str, float]:
        values = asdict(self)
        if digits is None:
            return values
        return {name: round(value, digits) for name, value in values.items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], fallback: FitParams | None = None) -> FitParams:
        """Parameters from a mapping; missing names come from `fallback` (or raise KeyError)."""
        base = asdict(fallback) if fallback is not None else {}
        return cls(**{name: float(values[name] if name in values else base[name]) for name in PARAM_NAMES})


@dataclass(frozen=True)
class FitResult:
    """The best restart's parameters for one competency and what the fit saw."""

    params: FitParams
    log_likelihood: float  # of the training responses under `params`
    iterations: int  # EM iterations of the best restart
    converged: bool
    n_responses: int
    n_sequences: int


# Per-competency sums use a dense one-hot matrix product while it stays this small, else bincount.
DENSE_SUM_LIMIT = 4_000_000


@dataclass(frozen=True)
class Responses:
    """Binary responses grouped into sequences (student × competency), in the time-major layout.

    Build it with `responses_from_arrays`. Arrays indexed by "slot" are in the time-major layout;
    `source[slot]` is the index of that response in the arrays the caller passed.
    """

    n_competencies: int
    correct: NDArray[np.bool_]  # per slot
    competency: Ints  # per slot
    source: Ints  # per slot: index in the caller's arrays
    seq_competency: Ints  # per sequence, longest sequence first
    offsets: Ints  # slot where step t starts; len = max length + 1
    counts: Ints  # sequences with a t-th response
    cont: Ints  # slots that have a next response in their sequence, step by step
    succ: Ints  # the slot of that next response
    cont_offsets: Ints  # where step t's continuing slots start in `cont`
    _cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_responses(self) -> int:
        return int(self.correct.shape[0])

    @property
    def n_sequences(self) -> int:
        return int(self.seq_competency.shape[0])

    def _cached(self, name: str, build):  # type: ignore[no-untyped-def]
        value = self._cache.get(name)
        if value is None:
            value = self._cache[name] = build()
        return value

    @property
    def emission_code(self) -> Ints:
        """2 × competency + correct, per slot: the row of a (K × 2) emission table."""
        return self._cached("emission_code", lambda: self.competency * 2 + self.correct)  # type: ignore[no-any-return]

    @property
    def cont_competency(self) -> Ints:
        return self._cached("cont_competency", lambda: self.competency[self.cont])  # type: ignore[no-any-return]

    def _members(self, where: str) -> Ints:
        return {"all": self.competency, "cont": self.cont_competency, "first": self.seq_competency}[where]

    def total(self, where: str, *, correct_only: bool = False) -> Floats:
        """How many slots of each competency: all, continuing (followed by another), first; or correct."""

        def build() -> Floats:
            weights = self.correct.astype(np.float64) if correct_only else None
            return np.bincount(self._members(where), weights=weights, minlength=self.n_competencies).astype(float)

        return self._cached(f"total-{where}-{correct_only}", build)  # type: ignore[no-any-return]

    def sum_by_competency(self, values: Floats, where: str, *, correct_only: bool = False) -> Floats:
        """Per-competency sums (K, R) of per-slot values (m, R); `where` says which slots they are."""
        members = self._members(where)
        k, m, r = self.n_competencies, values.shape[0], values.shape[1]
        if k * m <= DENSE_SUM_LIMIT:

            def build() -> Floats:
                one_hot = np.zeros((k, m))
                one_hot[members, np.arange(m)] = self.correct if correct_only else 1.0
                return one_hot

            return self._cached(f"one-hot-{where}-{correct_only}", build) @ values  # type: ignore[no-any-return]
        weights = values * self.correct[:, None] if correct_only else values
        index = (members[:, None] * r + np.arange(r)).ravel()
        return np.bincount(index, weights=weights.ravel(), minlength=k * r).reshape(k, r)


def responses_from_arrays(
    *,
    competency: ArrayLike,
    student: ArrayLike,
    correct: ArrayLike,
    order: ArrayLike | None = None,
    n_competencies: int | None = None,
) -> Responses:
    """Group responses into sequences. `competency` and `student` are integer codes (0..K-1 for
    competencies); within a sequence responses follow `order` (ties and `order=None`: input order)."""
    comp = np.asarray(competency, dtype=np.int64).ravel()
    stud = np.asarray(student, dtype=np.int64).ravel()
    y = np.asarray(correct).ravel()
    n = y.shape[0]
    if comp.shape[0] != n or stud.shape[0] != n:
        raise ValueError("competency, student and correct must have the same length")
    if n and not np.isin(y, (0, 1)).all():
        raise ValueError("correct must be 0 or 1")
    if n and comp.min() < 0:
        raise ValueError("competency codes must be >= 0")
    k = int(n_competencies if n_competencies is not None else (comp.max() + 1 if n else 0))
    if n and comp.max() >= k:
        raise ValueError("a competency code is >= n_competencies")
    rank_key = np.arange(n) if order is None else np.asarray(order).ravel()
    if rank_key.shape[0] != n:
        raise ValueError("order must have the same length as correct")
    # Stable: equal (competency, student, order) keep their input order.
    idx = np.lexsort((np.arange(n), rank_key, stud, comp)) if n else np.zeros(0, dtype=np.int64)
    sorted_comp, sorted_stud = comp[idx], stud[idx]
    new_seq = np.ones(n, dtype=bool)
    new_seq[1:] = (sorted_comp[1:] != sorted_comp[:-1]) | (sorted_stud[1:] != sorted_stud[:-1])
    seq_start = np.flatnonzero(new_seq)
    seq_len = np.diff(np.append(seq_start, n))
    seq_of = np.cumsum(new_seq) - 1
    position = np.arange(n) - seq_start[seq_of]
    by_length = np.argsort(-seq_len, kind="stable")
    rank = np.empty_like(by_length)
    rank[by_length] = np.arange(by_length.shape[0])
    counts = np.bincount(position, minlength=int(seq_len.max()) if n else 0).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    slot = offsets[position] + rank[seq_of]
    source = np.empty(n, dtype=np.int64)
    source[slot] = idx
    # Continuing slots of step t are the first counts[t + 1] slots of its block.
    cont_parts = [np.arange(offsets[t], offsets[t] + counts[t + 1]) for t in range(len(counts) - 1)]
    cont = np.concatenate(cont_parts).astype(np.int64) if cont_parts else np.zeros(0, dtype=np.int64)
    shift = np.repeat(offsets[1:-1] - offsets[:-2], counts[1:]) if len(counts) > 1 else np.zeros(0, np.int64)
    return Responses(
        n_competencies=k,
        correct=y[source].astype(bool),
        competency=comp[source],
        source=source,
        seq_competency=sorted_comp[seq_start][by_length],
        offsets=offsets,
        counts=counts,
        cont=cont,
        succ=cont + shift,
        cont_offsets=np.concatenate(([0], np.cumsum(counts[1:]))).astype(np.int64),
    )


# --- the forward pass ------------------------------------------------------------------------------


def _stack(params: Sequence[FitParams]) -> dict[str, Floats]:
    """Per-competency parameters as (K, 1) arrays, the shape the passes take (K × restarts)."""
    return {name: np.array([[getattr(p, name)] for p in params], dtype=np.float64) for name in PARAM_NAMES}


def _forward(data: Responses, theta: dict[str, Floats]) -> tuple[Floats, Floats, Floats, Floats]:
    """P(known) before each response (predictive), and the emission probabilities of each response:
    a = P(response | known), b = P(response | unknown), d = a - b.

    theta: arrays (K, R), R parameter sets per competency (restarts). Returns (slots, R) arrays.
    """
    n, r = data.n_responses, theta["p_init"].shape[1]
    slip, guess, learn = theta["p_slip"], theta["p_guess"], theta["p_learn"]
    stay = 1.0 - theta["p_forget"] - learn  # next P(known) = learn + stay * P(known | this response)
    # Emission tables (K × [wrong, right], R), one gather per slot.
    known = np.stack((slip, 1.0 - slip), axis=1)
    unknown = np.stack((1.0 - guess, guess), axis=1)
    code = data.emission_code
    a = np.take(known.reshape(-1, r), code, axis=0)
    b = np.take(unknown.reshape(-1, r), code, axis=0)
    d = a - b
    a_stay = np.take((known * stay[:, None, :]).reshape(-1, r), code, axis=0)
    seq_learn = np.take(learn, data.seq_competency, axis=0)
    pred = np.empty((n, r))
    n_seq = data.n_sequences
    np.take(theta["p_init"], data.seq_competency, axis=0, out=pred[:n_seq])
    den_buffer = np.empty((n_seq, r))
    num_buffer = np.empty((n_seq, r))
    offsets, counts = data.offsets.tolist(), data.counts.tolist()
    # Step t -> t + 1 for the sequences that go on: the first counts[t + 1] of step t's block.
    for t in range(len(counts) - 1):
        o, o1, m = offsets[t], offsets[t + 1], counts[t + 1]
        p = pred[o : o + m]
        den = den_buffer[:m]
        np.multiply(p, d[o : o + m], out=den)
        den += b[o : o + m]  # P(response)
        num = num_buffer[:m]
        np.multiply(p, a_stay[o : o + m], out=num)
        num /= den  # stay * P(known | response)
        np.add(num, seq_learn[:m], out=pred[o1 : o1 + m])
    return pred, a, b, d


def predict(data: Responses, params: Sequence[FitParams]) -> Floats:
    """P(correct) of each response from the earlier responses of its sequence (the first one from
    p_init), in the caller's order. `params[k]` is competency k's."""
    if data.n_responses == 0:
        return np.zeros(0)
    theta = _stack(params)
    pred = _forward(data, theta)[0][:, 0]
    comp = data.competency
    p_correct = pred * (1.0 - theta["p_slip"][comp, 0]) + (1.0 - pred) * theta["p_guess"][comp, 0]
    out = np.empty(data.n_responses)
    out[data.source] = p_correct
    return out


def log_likelihood(data: Responses, params: Sequence[FitParams]) -> Floats:
    """Log-likelihood of the responses of each competency (an array of K values)."""
    if data.n_responses == 0:
        return np.zeros(data.n_competencies)
    pred, _, b, d = _forward(data, _stack(params))
    return data.sum_by_competency(np.log(pred * d + b), "all")[:, 0]


# --- EM -------------------------------------------------------------------------------------------


def _e_step(data: Responses, theta: dict[str, Floats], forgetting: bool) -> tuple[Floats, dict[str, Floats]]:
    """Log-likelihood (K, R) of `theta` and the expected counts the M-step needs, each (K, R)."""
    pred, a, b, d = _forward(data, theta)
    den = pred * d
    den += b  # P(response | earlier responses)
    ll = data.sum_by_competency(np.log(den), "all")
    post = pred * a
    post /= den  # filtered P(known | responses up to and including this one)
    cont, succ, comp_c = data.cont, data.succ, data.cont_competency
    post_c = np.take(post, cont, axis=0)
    nxt = np.take(pred, succ, axis=0)  # predictive P(known) of the next response
    # Smoothed P(known | all responses): gamma_t = coef_a + coef_b * gamma_(t+1), backwards.
    coef_b = post_c / nxt
    if forgetting:
        forget_c = np.take(theta["p_forget"], comp_c, axis=0)
        coef_a = post_c * forget_c / (1.0 - nxt)
        coef_b *= 1.0 - forget_c
        coef_b -= coef_a
    gamma = post  # the last response of each sequence is already smoothed
    offsets, counts, cont_offsets = data.offsets.tolist(), data.counts.tolist(), data.cont_offsets.tolist()
    for t in range(len(counts) - 2, -1, -1):
        o, o1, m, c = offsets[t], offsets[t + 1], counts[t + 1], cont_offsets[t]
        g = gamma[o : o + m]
        np.multiply(coef_b[c : c + m], gamma[o1 : o1 + m], out=g)
        if forgetting:
            g += coef_a[c : c + m]
    g_next = np.take(gamma, succ, axis=0)
    learned = 1.0 - post_c
    learned *= np.take(theta["p_learn"], comp_c, axis=0)
    learned *= g_next
    learned /= nxt  # P(unknown here, known at the next response | all responses)
    soft = {
        "known": data.sum_by_competency(gamma, "all"),
        "known_correct": data.sum_by_competency(gamma, "all", correct_only=True),
        "known_cont": data.sum_by_competency(np.take(gamma, cont, axis=0), "cont"),
        "learned": data.sum_by_competency(learned, "cont"),
        "first_known": data.sum_by_competency(gamma[: data.n_sequences], "first"),
    }
    if forgetting:
        forgot = post_c * forget_c
        forgot *= 1.0 - g_next
        forgot /= 1.0 - nxt  # P(known here, unknown at the next response | all responses)
        soft["forgot"] = data.sum_by_competency(forgot, "cont")
    return ll, soft


def _m_step(data: Responses, theta: dict[str, Floats], soft: dict[str, Floats], forgetting: bool) -> dict[str, Floats]:
    """New parameters from the expected counts, clipped to BOUNDS; a parameter whose count is 0
    (e.g. p_learn of a competency whose sequences all have one response) keeps its value."""
    n_all, n_correct = data.total("all")[:, None], data.total("all", correct_only=True)[:, None]
    n_cont, n_first = data.total("cont")[:, None], data.total("first")[:, None]
    known, known_correct, known_cont = soft["known"], soft["known_correct"], soft["known_cont"]

    def ratio(num: Floats, den: Floats, old: Floats) -> Floats:
        out = old.copy()
        np.divide(num, den, out=out, where=den > 1e-12)
        return out

    new = {
        "p_init": ratio(soft["first_known"], np.broadcast_to(n_first, known.shape), theta["p_init"]),
        "p_learn": ratio(soft["learned"], n_cont - known_cont, theta["p_learn"]),
        "p_guess": ratio(n_correct - known_correct, n_all - known, theta["p_guess"]),
        "p_slip": ratio(known - known_correct, known, theta["p_slip"]),
        "p_forget": ratio(soft["forgot"], known_cont, theta["p_forget"]) if forgetting else theta["p_forget"],
    }
    for name, (low, high) in BOUNDS.items():
        if name != "p_forget" or forgetting:
            np.clip(new[name], low, high, out=new[name])
    return new


def _starts(
    k: int, restarts: int, rng: np.random.Generator, forgetting: bool, first: FitParams | Sequence[FitParams] | None
) -> dict[str, Floats]:
    """Random starting points (K, restarts), drawn in START_RANGES; `first` (one for all competencies or
    one per competency) replaces restart 0."""
    if isinstance(first, FitParams):
        first = [first] * k
    if first is not None and len(first) != k:
        raise ValueError(f"first_start: {len(first)} parameter sets for {k} competencies")
    theta = {}
    for name in PARAM_NAMES:
        values = rng.uniform(*START_RANGES[name], size=(k, restarts))
        if first is not None:
            values[:, 0] = [getattr(params, name) for params in first]
        if name == "p_forget" and not forgetting:
            values[:] = 0.0
        theta[name] = np.clip(values, *BOUNDS[name])
    return theta


def fit(
    data: Responses,
    *,
    forgetting: bool = False,
    restarts: int = 5,
    seed: int = 0,
    explore_iter: int = 5,
    tol: float = 1e-6,
    max_iter: int = 100,
    first_start: FitParams | Sequence[FitParams] | None = None,
    fallback: FitParams | None = None,
) -> list[FitResult]:
    """Fit every competency by EM from `restarts` random starting points (seeded; `first_start`, one
    for all or one per competency, replaces the first) and return one FitResult per competency 0..K-1.

    The restarts run side by side for `explore_iter` iterations; then only the best of each
    competency (highest log-likelihood) goes on ("short runs, then the best to convergence", the
    small-EM strategy of Biernacki, Celeux & Govaert 2003). A competency has converged when its
    log-likelihood per response grows by less than `tol` in an iteration, or after `max_iter`.
    Competencies without responses get `fallback` (default: the middle of START_RANGES), 0 iterations.
    """
    if restarts < 1:
        raise ValueError("at least one restart")
    k = data.n_competencies
    theta = _starts(k, restarts, np.random.default_rng(seed), forgetting, first_start)
    n_all = data.total("all")
    per_response = (1.0 / np.maximum(n_all, 1.0))[:, None]
    previous = np.full((k, restarts), -np.inf)
    ll = np.zeros((k, restarts))
    done = np.zeros(k, dtype=bool)
    done[n_all == 0] = True
    iterations = np.zeros(k, dtype=np.int64)
    converged = done.copy()
    for iteration in range(1, max_iter + 1):
        if done.all():
            break
        ll, soft = _e_step(data, theta, forgetting)
        running = ~done
        iterations[running] = iteration
        exploring = ll.shape[1] > 1
        gain = (ll - previous) * per_response
        previous = ll
        if exploring and (iteration >= min(explore_iter, max_iter) or (gain < tol).all()):
            best = np.argmax(ll, axis=1)
            rows = np.arange(k)
            theta = {name: values[rows, best][:, None] for name, values in theta.items()}
            soft = {name: values[rows, best][:, None] for name, values in soft.items()}
            gain, ll, previous = gain[rows, best][:, None], ll[rows, best][:, None], previous[rows, best][:, None]
            exploring = False
        if not exploring:
            newly = running & (gain[:, 0] < tol)
            converged |= newly
            done |= newly
        if iteration == max_iter or done.all():
            break
        new = _m_step(data, theta, soft, forgetting)
        frozen = done[:, None]
        theta = {name: np.where(frozen, theta[name], new[name]) for name in PARAM_NAMES}
    if fallback is None:
        fallback = FitParams(**{name: sum(START_RANGES[name]) / 2 for name in PARAM_NAMES})
    if not forgetting:
        fallback = FitParams(**{**asdict(fallback), "p_forget": 0.0})
    n_seq = np.bincount(data.seq_competency, minlength=k)
    results = []
    for comp in range(k):
        if n_all[comp] == 0:
            results.append(FitResult(fallback, 0.0, 0, True, 0, 0))
            continue
        results.append(
            FitResult(
                params=FitParams(**{name: float(theta[name][comp, 0]) for name in PARAM_NAMES}),
                log_likelihood=float(ll[comp, 0]),
                iterations=int(iterations[comp]),
                converged=bool(converged[comp]),
                n_responses=int(n_all[comp]),
                n_sequences=int(n_seq[comp]),
            )
        )
    return results


# --- metrics --------------------------------------------------------------------------------------


def auc(correct: ArrayLike, predicted: ArrayLike) -> float | None:
    """Area under the ROC curve by ranks (Mann-Whitney U, tied predictions get their average rank).
    None when all responses are correct or all wrong."""
    y = np.asarray(correct).astype(bool).ravel()
    p = np.asarray(predicted, dtype=np.float64).ravel()
    n_pos = int(y.sum())
    n_neg = y.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    _, inverse, tie_counts = np.unique(p, return_inverse=True, return_counts=True)
    ends = np.cumsum(tie_counts)
    average_rank = ends - (tie_counts - 1) / 2.0  # ranks start at 1
    rank_sum = float(average_rank[inverse][y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def rmse(correct: ArrayLike, predicted: ArrayLike) -> float | None:
    y = np.asarray(correct, dtype=np.float64).ravel()
    if y.shape[0] == 0:
        return None
    return float(np.sqrt(np.mean((y - np.asarray(predicted, dtype=np.float64).ravel()) ** 2)))


def log_loss(correct: ArrayLike, predicted: ArrayLike) -> float | None:
    y = np.asarray(correct, dtype=np.float64).ravel()
    if y.shape[0] == 0:
        return None
    p = np.clip(np.asarray(predicted, dtype=np.float64).ravel(), LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


# --- cross-validation ------------------------------------------------------------------------------


def student_folds(n_students: int, folds: int, seed: int) -> Ints:
    """Fold of each student 0..n-1: a seeded permutation cut into `folds` near-equal parts."""
    if folds < 2:
        raise ValueError("at least 2 folds")
    if n_students < folds:
        raise ValueError(f"{n_students} students cannot make {folds} folds")
    order = np.random.default_rng(seed).permutation(n_students)
    fold = np.empty(n_students, dtype=np.int64)
    for index, part in enumerate(np.array_split(order, folds)):
        fold[part] = index
    return fold


@dataclass(frozen=True)
class CrossValidation:
    predicted: Floats  # P(correct) of every response, from the fold where its student was held out
    fold: Ints  # fold of every response
    fit_seconds: float  # summed over folds
    fits: list[list[FitResult]]  # per fold, per competency

    def metrics(self, correct: ArrayLike) -> dict[str, float | int | None]:
        return {
            "auc": auc(correct, self.predicted),
            "rmse": rmse(correct, self.predicted),
            "log_loss": log_loss(correct, self.predicted),
            "n_predictions": int(self.predicted.shape[0]),
        }


def cross_validate(
    *,
    competency: ArrayLike,
    student: ArrayLike,
    correct: ArrayLike,
    order: ArrayLike | None = None,
    folds: int = 5,
    seed: int = 0,
    forgetting: bool = False,
    restarts: int = 5,
    tol: float = 1e-6,
    max_iter: int = 100,
    fallback: FitParams | None = None,
    fold_of_student: Ints | None = None,
) -> CrossValidation:
    """Student-level k-fold cross-validation: per fold, fit every competency on the other folds'
    students, then predict each response of the held-out students from their earlier responses.

    `student` are codes 0..S-1 (the fold split is by these codes); `fold_of_student` overrides the
    seeded split. The fit time counts building the training sequences and EM.
    """
    comp = np.asarray(competency, dtype=np.int64).ravel()
    stud = np.asarray(student, dtype=np.int64).ravel()
    y = np.asarray(correct).ravel()
    ordering = None if order is None else np.asarray(order).ravel()
    k = int(comp.max()) + 1 if comp.shape[0] else 0
    n_students = int(stud.max()) + 1 if stud.shape[0] else 0
    student_fold = fold_of_student if fold_of_student is not None else student_folds(n_students, folds, seed)
    n_folds = int(student_fold.max()) + 1 if student_fold.shape[0] else folds
    response_fold = student_fold[stud]
    predicted = np.zeros(y.shape[0])
    fit_seconds = 0.0
    all_fits = []
    for index in range(n_folds):
        test = response_fold == index
        train = ~test
        started = time.perf_counter()
        training = responses_from_arrays(
            competency=comp[train],
            student=stud[train],
            correct=y[train],
            order=None if ordering is None else ordering[train],
            n_competencies=k,
        )
        fits = fit(
            training,
            forgetting=forgetting,
            restarts=restarts,
            seed=seed + index,
            tol=tol,
            max_iter=max_iter,
            fallback=fallback,
        )
        fit_seconds += time.perf_counter() - started
        all_fits.append(fits)
        testing = responses_from_arrays(
            competency=comp[test],
            student=stud[test],
            correct=y[test],
            order=None if ordering is None else ordering[test],
            n_competencies=k,
        )
        predicted[test] = predict(testing, [result.params for result in fits])
    return CrossValidation(predicted=predicted, fold=response_fold, fit_seconds=fit_seconds, fits=all_fits)


def simulate(
    params: FitParams, *, n_students: int, length: int | Sequence[int], seed: int
) -> tuple[Ints, NDArray[np.int8]]:
    """Responses of `n_students` students on one competency drawn from the model (for tests and
    benchmarks): returns (student code, correct) per response, students' responses in order."""
    rng = np.random.default_rng(seed)
    lengths = np.full(n_students, length) if isinstance(length, int) else np.asarray(length)
    students, answers = [], []
    known = rng.random(n_students) < params.p_init
    for t in range(int(lengths.max())):
        active = lengths > t
        draw = rng.random(n_students)
        right = np.where(known, draw >= params.p_slip, draw < params.p_guess)
        students.append(np.flatnonzero(active))
        answers.append(right[active])
        change = rng.random(n_students)
        known = np.where(known, change >= params.p_forget, change < params.p_learn)
    student = np.concatenate(students)
    correct = np.concatenate(answers).astype(np.int8)
    order = np.argsort(student, kind="stable")
    return student[order], correct[order]


def finite_or_none(value: float | None) -> float | None:
    """JSON-friendly: NaN and infinities become None."""
    return None if value is None or not math.isfinite(value) else value
