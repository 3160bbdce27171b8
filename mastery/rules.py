"""Mastery rules: pure functions from a student's observations on one competency to a status.

No Django and no database here: callers pass the observations, the policy's parameters and the
thresholds (built from ``settings.PLPLATFORM``). DESIGN.md section 4 defines the rules:

- **BKT** (Bayesian Knowledge Tracing) for scored evidence. Each scored response updates the chance
  the student knows the competency by Bayes' rule (partial credit s in [0, 1] through the mixture
  likelihood P(s | known) = s(1 - S) + (1 - s)S, P(s | unknown) = sG + (1 - s)(1 - G)), then the
  learning step P(L') = P(L | obs)(1 - F) + (1 - P(L | obs))T. A teacher rating is a "meets"
  (rating >= 3, s = 1) or "not yet" (s = 0) observation with its own guess and slip. A completed
  activity is a learning opportunity only: L <- L + (1 - L)c. Mastered when P(L) >= 0.95 after at
  least 3 scored observations (scores and ratings; completions never count); a mastered pair stays
  mastered down to the retention threshold 0.80 (hysteresis) and goes to needs_review below it.
- **Rubric policies** on the 1-4 scale (a score s counts as the rating 1 + 3s), ordered by
  observed_at: decaying average, n-times, most recent, highest, mean. A pair mastered once goes to
  needs_review when the rule no longer holds.

``evaluate`` gives one pair's outcome; ``evaluate_bkt_batch`` runs BKT over many pairs at once with
numpy (one step per observation position across all pairs) and gives the same numbers, bit for bit:
both use the same floating-point operations in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

# Statuses. The batch returns them as codes: the index in STATUSES.
NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
MASTERED = "mastered"
NEEDS_REVIEW = "needs_review"
STATUSES: tuple[str, ...] = (NOT_STARTED, IN_PROGRESS, MASTERED, NEEDS_REVIEW)
_NOT_STARTED, _IN_PROGRESS, _MASTERED, _NEEDS_REVIEW = range(4)

# Evidence kinds. The batch takes them as codes: the index in KINDS.
SCORE = "score"
RATING = "rating"
COMPLETION = "completion"
KINDS: tuple[str, ...] = (SCORE, RATING, COMPLETION)
KIND_SCORE, KIND_RATING, KIND_COMPLETION = range(3)

# Methods (the values of MasteryPolicy.method).
BKT = "bkt"
DECAYING_AVERAGE = "decaying_average"
N_TIMES = "n_times"
MOST_RECENT = "most_recent"
HIGHEST = "highest"
MEAN = "mean"
RUBRIC_METHODS = frozenset({DECAYING_AVERAGE, N_TIMES, MOST_RECENT, HIGHEST, MEAN})
METHODS = frozenset({BKT, *RUBRIC_METHODS})

BKT_PARAMETER_NAMES: tuple[str, ...] = ("p_init", "p_learn", "p_guess", "p_slip", "p_forget")


@dataclass(frozen=True)
class Observation:
    kind: str  # "score" | "rating" | "completion"
    observed_at: datetime
    score: float | None = None  # in [0,1] for kind "score"
    rating: int | None = None  # 1..4 for kind "rating"
    evidence_id: int | None = None


@dataclass(frozen=True)
class BKTParams:
    p_init: float
    p_learn: float
    p_guess: float
    p_slip: float
    p_forget: float = 0.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], fallback: BKTParams | None = None) -> BKTParams:
        """Parameters from a mapping (policy JSON); keys it lacks come from ``fallback``."""
        merged: dict[str, float] = {}
        for name in BKT_PARAMETER_NAMES:
            if name in values and values[name] is not None:
                merged[name] = float(values[name])
            elif fallback is not None:
                merged[name] = getattr(fallback, name)
            elif name == "p_forget":
                merged[name] = 0.0
            else:
                raise ValueError(f"BKT parameter {name} is missing.")
        return cls(**merged)

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in BKT_PARAMETER_NAMES}


@dataclass(frozen=True)
class Thresholds:
    """The numbers of the rules, built by the caller from ``settings.PLPLATFORM``."""

    mastery: float
    min_scored: int
    retention: float
    rating_guess_slip: float
    rating_meets: int
    completion_learn: float
    decaying_weight: float
    decaying_min_ratings: int
    rubric_level: float
    n_times: int

    @classmethod
    def from_settings(cls, conf: Mapping[str, Any]) -> Thresholds:
        """From the ``PLPLATFORM`` settings mapping (passed in: this module does not read settings)."""
        return cls(
            mastery=float(conf["BKT_MASTERY_THRESHOLD"]),
            min_scored=int(conf["BKT_MIN_SCORED_OBSERVATIONS"]),
            retention=float(conf["BKT_RETENTION_THRESHOLD"]),
            rating_guess_slip=float(conf["BKT_RATING_GUESS_SLIP"]),
            rating_meets=int(conf["BKT_RATING_MEETS"]),
            completion_learn=float(conf["BKT_COMPLETION_LEARN"]),
            decaying_weight=float(conf["DECAYING_AVERAGE_WEIGHT"]),
            decaying_min_ratings=int(conf["DECAYING_AVERAGE_MIN_RATINGS"]),
            rubric_level=float(conf["RUBRIC_MASTERY_LEVEL"]),
            n_times=int(conf["N_TIMES_N"]),
        )


@dataclass(frozen=True)
class Outcome:
    status: str  # "not_started" | "in_progress" | "mastered" | "needs_review"
    estimate: float | None  # P(known) for BKT; the policy's score (1-4 scale) for rubric policies
    evidence_count: int  # observations the rule used (BKT: all; rubric policies: ratings and scores)
    first_mastered_at: datetime | None
    last_evidence_at: datetime | None
    trajectory: tuple[tuple[datetime, float], ...]  # estimate after each observation used, in order
    counted: tuple[Observation, ...] = ()  # the observations the rule used, in order


# --- one pair ---------------------------------------------------------------------------------------


def _bkt_step(estimate: float, kind: int, value: float, params: BKTParams, th: Thresholds) -> float:
    """One BKT update. Mirrors the vectorized kernel operation for operation (same rounding)."""
    if kind == KIND_COMPLETION:
        return estimate + (1.0 - estimate) * th.completion_learn
    if kind == KIND_RATING:
        s = 1.0 if value >= th.rating_meets else 0.0
        guess = slip = th.rating_guess_slip
    else:
        s = value
        guess, slip = params.p_guess, params.p_slip
    known = s * (1.0 - slip) + (1.0 - s) * slip
    unknown = s * guess + (1.0 - s) * (1.0 - guess)
    joint = estimate * known
    total = joint + (1.0 - estimate) * unknown
    posterior = joint / total if total > 0.0 else estimate
    return posterior * (1.0 - params.p_forget) + (1.0 - posterior) * params.p_learn


def _next_status(previous: int, mastered_now: bool, estimate: float, ever: bool, retention: float | None) -> int:
    if mastered_now:
        return _MASTERED
    if previous == _MASTERED and retention is not None and estimate >= retention:
        return _MASTERED  # hysteresis: mastered stays mastered down to the retention threshold
    return _NEEDS_REVIEW if ever else _IN_PROGRESS


def _rubric_value(kind: int, value: float) -> float:
    """A rating as is; a score s in [0, 1] as 1 + 3s on the 1-4 scale."""
    return float(value) if kind == KIND_RATING else 1.0 + 3.0 * value


@dataclass
class _Replay:
    status: int
    estimate: float | None
    counted: list[int]  # indices of the observations used
    trajectory: list[float]  # estimate after each counted observation
    first_mastered: int | None  # index of the observation at which mastery was first reached


def _replay(
    method: str,
    params: BKTParams | None,
    th: Thresholds,
    kinds: Sequence[int],
    values: Sequence[float],
    *,
    ever_mastered: bool,
) -> _Replay:
    """Run a rule over one pair's observations (already in order). kinds are codes; values are the
    score for scores, the rating for ratings (ignored for completions)."""
    if method not in METHODS:
        raise ValueError(f"Unknown mastery method {method!r}.")
    status = _NOT_STARTED
    ever = ever_mastered
    counted: list[int] = []
    trajectory: list[float] = []
    first: int | None = None
    estimate: float | None = None
    if method == BKT:
        if params is None:
            raise ValueError("BKT needs its parameters.")
        current = params.p_init
        scored = 0
        for i, (kind, value) in enumerate(zip(kinds, values, strict=True)):
            current = _bkt_step(current, kind, value, params, th)
            if kind != KIND_COMPLETION:
                scored += 1
            mastered_now = current >= th.mastery and scored >= th.min_scored
            status = _next_status(status, mastered_now, current, ever, th.retention)
            if mastered_now:
                ever = True
                if first is None:
                    first = i
            counted.append(i)
            trajectory.append(current)
            estimate = current
    else:
        level = th.rubric_level
        count = 0
        total = 0.0
        best = 0.0
        hits = 0
        top: list[float] = []  # the n highest values so far, highest first
        for i, (kind, raw) in enumerate(zip(kinds, values, strict=True)):
            if kind == KIND_COMPLETION:
                continue
            value = _rubric_value(kind, raw)
            count += 1
            if method == DECAYING_AVERAGE:
                current = value if count == 1 else (1.0 - th.decaying_weight) * current + th.decaying_weight * value
                mastered_now = current >= level and count >= th.decaying_min_ratings
            elif method == N_TIMES:
                if value >= level:
                    hits += 1
                top = sorted([*top, value], reverse=True)[: th.n_times]
                current = top[-1]  # the n-th highest (the lowest while fewer than n)
                mastered_now = hits >= th.n_times and count >= th.n_times
            elif method == MOST_RECENT:
                current = value
                mastered_now = current >= level
            elif method == HIGHEST:
                best = value if count == 1 else max(best, value)
                current = best
                mastered_now = current >= level
            else:  # MEAN
                total += value
                current = total / count
                mastered_now = current >= level
            status = _next_status(status, mastered_now, current, ever, None)
            if mastered_now:
                ever = True
                if first is None:
                    first = i
            counted.append(i)
            trajectory.append(current)
            estimate = current
    if status == _NOT_STARTED and len(kinds):
        # Evidence the rule does not use (completions under a rubric policy) still means started.
        status = _NEEDS_REVIEW if ever else _IN_PROGRESS
    return _Replay(status, estimate, counted, trajectory, first)


def evaluate_coded(
    method: str,
    params: BKTParams | None,
    thresholds: Thresholds,
    kinds: Sequence[int],
    values: Sequence[float],
    *,
    ever_mastered: bool = False,
) -> tuple[int, float | None, int, int | None]:
    """``evaluate`` on one pair's observations given as codes, already in order (for callers holding
    arrays). Returns (status code, estimate, evidence count, index of the first mastery or None)."""
    replay = _replay(method, params, thresholds, kinds, values, ever_mastered=ever_mastered)
    return replay.status, replay.estimate, len(replay.counted), replay.first_mastered


def _ordered(observations: Sequence[Observation]) -> list[Observation]:
    return sorted(observations, key=lambda o: (o.observed_at, -1 if o.evidence_id is None else o.evidence_id))


def _kind_and_value(observation: Observation) -> tuple[int, float]:
    if observation.kind == SCORE:
        if observation.score is None:
            raise ValueError("A score observation needs its score.")
        return KIND_SCORE, float(observation.score)
    if observation.kind == RATING:
        if observation.rating is None:
            raise ValueError("A rating observation needs its rating.")
        return KIND_RATING, float(observation.rating)
    if observation.kind == COMPLETION:
        return KIND_COMPLETION, 0.0
    raise ValueError(f"Unknown evidence kind {observation.kind!r}.")


def evaluate(
    method: str,
    params: BKTParams | None,
    thresholds: Thresholds,
    observations: Sequence[Observation],
    *,
    first_mastered_at: datetime | None = None,
) -> Outcome:
    """The outcome of one student on one competency.

    Observations may come in any order; they are sorted by (observed_at, evidence_id).
    ``first_mastered_at`` comes from the stored state: it is kept as is, and a pair mastered before
    that no longer meets the rule is ``needs_review`` rather than ``in_progress``.
    """
    ordered = _ordered(observations)
    pairs = [_kind_and_value(o) for o in ordered]
    replay = _replay(
        method,
        params,
        thresholds,
        [kind for kind, _ in pairs],
        [value for _, value in pairs],
        ever_mastered=first_mastered_at is not None,
    )
    if first_mastered_at is None and replay.first_mastered is not None:
        first_mastered_at = ordered[replay.first_mastered].observed_at
    return Outcome(
        status=STATUSES[replay.status],
        estimate=replay.estimate,
        evidence_count=len(replay.counted),
        first_mastered_at=first_mastered_at,
        last_evidence_at=ordered[-1].observed_at if ordered else None,
        trajectory=tuple(
            (ordered[i].observed_at, estimate) for i, estimate in zip(replay.counted, replay.trajectory, strict=True)
        ),
        counted=tuple(ordered[i] for i in replay.counted),
    )


def unit_estimate(method: str, estimate: float | None) -> float | None:
    """The estimate on the 0-1 scale stored in MasteryState.estimate: P(known) for BKT as is; a rubric
    score r on the 1-4 scale as (r - 1) / 3, the inverse of the score mapping 1 + 3s (kept inside [0, 1]
    against rounding at the ends)."""
    if estimate is None or method == BKT:
        return estimate
    return min(1.0, max(0.0, (estimate - 1.0) / 3.0))


# --- the rule in words ------------------------------------------------------------------------------


def _pct(value: float) -> str:
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def describe(method: str, params: BKTParams | None, thresholds: Thresholds) -> str:
    """The rule in words, with its numbers, for teachers, students and families."""
    th = thresholds
    scores = (
        "Scores count on the same 1–4 scale as 1 + 3 × score (a full score counts as 4, two thirds as 3); "
        "completed activities do not count. A competency mastered before needs review when the rule no "
        "longer holds."
    )
    level = _num(th.rubric_level)
    if method == BKT:
        if params is None:
            raise ValueError("BKT needs its parameters.")
        forgetting = (
            f"a {_pct(params.p_forget)} chance of forgetting after each response"
            if params.p_forget > 0
            else "no forgetting"
        )
        return (
            f"Bayesian Knowledge Tracing: mastered when the estimated chance the student knows it reaches "
            f"{_pct(th.mastery)} after at least {th.min_scored} scored responses; starts at {_pct(params.p_init)}, "
            f"each response is a chance to learn it ({_pct(params.p_learn)}), a right answer without knowing "
            f"it (a guess) is {_pct(params.p_guess)} likely and a wrong answer while knowing it (a slip) "
            f"{_pct(params.p_slip)}, with {forgetting}. Partial credit counts in proportion to the score. "
            f"Teacher ratings of {th.rating_meets} or more count as “meets”, lower ratings as “not yet” "
            f"(guess and slip {_pct(th.rating_guess_slip)}). A completed activity raises the chance by "
            f"{_pct(th.completion_learn)} of what is left and never gives mastery on its own. A mastered "
            f"competency stays mastered down to {_pct(th.retention)} and needs review below it."
        )
    if method == DECAYING_AVERAGE:
        return (
            f"Decaying average of ratings on the 1–4 scale, in date order: each new rating counts "
            f"{_pct(th.decaying_weight)} and the average before it {_pct(1 - th.decaying_weight)}; mastered "
            f"when the average is at least {level} after at least {th.decaying_min_ratings} ratings. {scores}"
        )
    if method == N_TIMES:
        return (
            f"N times: mastered once {th.n_times} ratings are at {level} or above (at least {th.n_times} "
            f"ratings in all); the score shown is the {_ordinal(th.n_times)} highest rating. {scores}"
        )
    if method == MOST_RECENT:
        return f"Most recent rating: mastered when the latest rating is at least {level}. {scores}"
    if method == HIGHEST:
        return f"Highest rating: mastered when any rating reaches {level}. {scores}"
    if method == MEAN:
        return f"Mean rating: mastered when the average of all ratings is at least {level}. {scores}"
    raise ValueError(f"Unknown mastery method {method!r}.")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- many pairs at once -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BKTBatchResult:
    """Per pair, in the order given."""

    status: npt.NDArray[np.int8]  # index into STATUSES
    estimate: npt.NDArray[np.float64]  # P(known) after the last observation; NaN without observations
    first_mastered_index: npt.NDArray[np.int64]  # observation index where mastery was first reached; -1 if never
    scored_count: npt.NDArray[np.int64]  # scores and ratings (completions excluded)


def bkt_parameter_table(params: Sequence[BKTParams]) -> npt.NDArray[np.float64]:
    """Rows of (p_init, p_learn, p_guess, p_slip, p_forget), for ``evaluate_bkt_batch``."""
    return np.array([[getattr(p, name) for name in BKT_PARAMETER_NAMES] for p in params], dtype=np.float64)


def evaluate_bkt_batch(
    starts: npt.ArrayLike,
    lengths: npt.ArrayLike,
    kinds: npt.ArrayLike,
    values: npt.ArrayLike,
    params: BKTParams | npt.ArrayLike,
    thresholds: Thresholds,
    *,
    param_index: npt.ArrayLike | None = None,
    ever_mastered: npt.ArrayLike | None = None,
    block_size: int = 1 << 20,
) -> BKTBatchResult:
    """BKT for many pairs at once; the same statuses and estimates as ``evaluate`` (bit for bit).

    Observations are flat arrays: ``kinds`` (codes, index in KINDS) and ``values`` (the score for a
    score, the rating for a rating, anything finite for a completion). Pair i owns observations
    ``starts[i] : starts[i] + lengths[i]``, already in order (observed_at, evidence id).
    ``params`` is one BKTParams for all pairs, or a table (rows from ``bkt_parameter_table``) with
    ``param_index`` giving each pair's row. ``ever_mastered``: the pair has a stored first_mastered_at
    (so falling short means needs_review). ``first_mastered_index`` reports this run's first mastery;
    the caller keeps a stored first_mastered_at over it.

    Pairs are processed in blocks of ``block_size``; inside a block, sorted longest first, so the
    pairs that still have a k-th observation are a prefix and step k works on slices, not masks.
    """
    starts_a = np.asarray(starts, dtype=np.int64)
    lengths_a = np.asarray(lengths, dtype=np.int64)
    kinds_a = np.asarray(kinds)
    values_a = np.asarray(values, dtype=np.float64)
    n = starts_a.shape[0]
    if lengths_a.shape != (n,):
        raise ValueError("starts and lengths must have the same length.")
    table = bkt_parameter_table([params]) if isinstance(params, BKTParams) else np.asarray(params, np.float64)
    if table.ndim != 2 or table.shape[1] != len(BKT_PARAMETER_NAMES):
        raise ValueError("params must be a BKTParams or a table with one row of 5 parameters per set.")
    if param_index is None:
        if table.shape[0] != 1:
            raise ValueError("param_index is needed with more than one parameter set.")
        index_a = None
    else:
        index_a = np.asarray(param_index, dtype=np.int64)
    ever_a = np.zeros(n, dtype=bool) if ever_mastered is None else np.asarray(ever_mastered, dtype=bool)

    status = np.zeros(n, dtype=np.int8)
    estimate = np.full(n, np.nan)
    first = np.full(n, -1, dtype=np.int64)
    scored = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, block_size):
        hi = min(n, lo + block_size)
        block = slice(lo, hi)
        _bkt_block(
            starts_a[block],
            lengths_a[block],
            kinds_a,
            values_a,
            table,
            None if index_a is None else index_a[block],
            ever_a[block],
            thresholds,
            out=(status[block], estimate[block], first[block], scored[block]),
        )
    return BKTBatchResult(status=status, estimate=estimate, first_mastered_index=first, scored_count=scored)


def _bkt_block(
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    kinds: npt.NDArray[Any],
    values: npt.NDArray[np.float64],
    table: npt.NDArray[np.float64],
    param_index: npt.NDArray[np.int64] | None,
    ever_mastered: npt.NDArray[np.bool_],
    th: Thresholds,
    *,
    out: tuple[npt.NDArray[np.int8], npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]],
) -> None:
    out_status, out_estimate, out_first, out_scored = out
    order = np.argsort(-lengths, kind="stable")  # longest first
    lens = lengths[order]
    first_obs = starts[order]
    # active[k]: how many pairs have a k-th observation (a prefix, since lengths are descending).
    max_len = int(lens[0]) if lens.size else 0
    active = np.searchsorted(-lens, -np.arange(max_len), side="left")

    if param_index is None:
        p_init, p_learn, p_guess, p_slip, p_forget = (float(x) for x in table[0])
        estimate = np.full(order.size, p_init)
        per_pair = None
    else:
        rows = param_index[order]
        estimate = table[rows, 0].copy()
        per_pair = rows
    status = np.zeros(order.size, dtype=np.int8)
    ever = ever_mastered[order].copy()
    first = np.full(order.size, -1, dtype=np.int64)
    scored = np.zeros(order.size, dtype=np.int64)
    gs = th.rating_guess_slip
    for k in range(max_len):
        m = int(active[k])
        idx = first_obs[:m] + k
        kind = kinds[idx]
        value = values[idx]
        current = estimate[:m]
        if per_pair is not None:
            rows_k = per_pair[:m]
            learn, guess_s, slip_s, forget = (table[rows_k, c] for c in (1, 2, 3, 4))
        else:
            learn, guess_s, slip_s, forget = p_learn, p_guess, p_slip, p_forget
        is_rating = kind == KIND_RATING
        is_completion = kind == KIND_COMPLETION
        s = np.where(is_rating, np.where(value >= th.rating_meets, 1.0, 0.0), value)
        s[is_completion] = 0.0
        guess = np.where(is_rating, gs, guess_s)
        slip = np.where(is_rating, gs, slip_s)
        one_minus_s = 1.0 - s
        known = s * (1.0 - slip) + one_minus_s * slip
        unknown = s * guess + one_minus_s * (1.0 - guess)
        joint = current * known
        total = joint + (1.0 - current) * unknown
        posterior = np.divide(joint, total, out=current.copy(), where=total > 0.0)
        learned = posterior * (1.0 - forget) + (1.0 - posterior) * learn
        completed = current + (1.0 - current) * th.completion_learn
        new = np.where(is_completion, completed, learned)
        estimate[:m] = new
        scored_k = scored[:m]
        scored_k += ~is_completion
        mastered_now = (new >= th.mastery) & (scored_k >= th.min_scored)
        keep = (status[:m] == _MASTERED) & (new >= th.retention)
        ever_k = ever[:m]
        status[:m] = np.where(mastered_now | keep, _MASTERED, np.where(ever_k, _NEEDS_REVIEW, _IN_PROGRESS))
        newly = mastered_now & (first[:m] < 0)
        first[:m][newly] = idx[newly]
        ever_k |= mastered_now

    out_status[order] = status
    out_estimate[order] = np.where(lens > 0, estimate, np.nan)
    out_first[order] = first
    out_scored[order] = scored
