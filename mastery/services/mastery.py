"""Mastery states from evidence, and teacher overrides.

`mastery_recompute` is set-based from end to end: per chunk of students (or of pairs) it reads the
evidence with one ordered binary COPY into numpy arrays, evaluates BKT for every pair at once
(`rules.evaluate_bkt_batch`; rubric policies pair by pair through `rules.evaluate_coded`), writes the
outcomes to a temporary table with one binary COPY and upserts the states from it with one
INSERT ... ON CONFLICT whose `WHERE ... IS DISTINCT FROM` leaves unchanged rows alone, so the count
returned is the rows actually inserted or changed and a rerun with nothing new returns 0. Rubric
estimates are stored on the 0-1 scale (`rules.unit_estimate`): MasteryState.estimate must be in [0, 1].
Override columns are never written by a recompute; first_mastered_at, once set, is kept (COALESCE in
the upsert).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from mastery import rules
from mastery.models import Competency, MasteryState, MasteryStatus
from mastery.selectors import (
    mastery_bkt_params,
    mastery_default_bkt_params,
    mastery_latest_policies,
    mastery_method,
    mastery_thresholds,
)

logger = logging.getLogger(__name__)

STUDENTS_PER_CHUNK = 500  # a district's student has ~200 pairs: ~100,000 pairs per chunk
PAIRS_PER_CHUNK = 20_000
_PAIR_KEY_LIMIT = 1 << 31  # ids are packed two to an int64 key

# --- reading: binary COPY straight into numpy ---------------------------------------------------------

# A binary COPY row of fixed-width, non-null fields: int16 field count, then (int32 length, value) per field.
_EVIDENCE_DTYPE = np.dtype(
    [
        ("fields", ">i2"),
        ("l_student", ">i4"),
        ("student", ">i8"),
        ("l_competency", ">i4"),
        ("competency", ">i8"),
        ("l_kind", ">i4"),
        ("kind", ">i2"),
        ("l_value", ">i4"),
        ("value", ">f8"),
        ("l_observed", ">i4"),
        ("observed", ">i8"),  # timestamptz: microseconds since 2000-01-01 UTC
        ("l_id", ">i4"),
        ("id", ">i8"),
    ]
)
_STATE_DTYPE = np.dtype(
    [
        ("fields", ">i2"),
        ("l_student", ">i4"),
        ("student", ">i8"),
        ("l_competency", ">i4"),
        ("competency", ">i8"),
        ("l_ever", ">i4"),
        ("ever", "?"),
    ]
)
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"

_EVIDENCE_COLUMNS = """
    e.student_id, e.competency_id,
    (CASE e.kind WHEN 'score' THEN 0 WHEN 'rating' THEN 1 ELSE 2 END)::int2,
    (CASE e.kind WHEN 'score' THEN e.score WHEN 'rating' THEN e.rating::float8 ELSE 0 END)::float8,
    e.observed_at, e.id
"""
_EVIDENCE_OF_STUDENTS = f"""
SELECT {_EVIDENCE_COLUMNS} FROM mastery_evidence e WHERE e.student_id = ANY(%s::bigint[]) AND e.voided_at IS NULL
ORDER BY e.student_id, e.competency_id, e.observed_at, e.id
"""
_EVIDENCE_OF_PAIRS = f"""
SELECT {_EVIDENCE_COLUMNS}
FROM unnest(%s::bigint[], %s::bigint[]) AS p(student_id, competency_id)
JOIN mastery_evidence e ON e.student_id = p.student_id AND e.competency_id = p.competency_id
WHERE e.voided_at IS NULL  -- voided by its source (xAPI): no longer counts
ORDER BY e.student_id, e.competency_id, e.observed_at, e.id
"""
_STATES_OF_STUDENTS = """
SELECT s.student_id, s.competency_id, s.first_mastered_at IS NOT NULL
FROM mastery_masterystate s WHERE s.student_id = ANY(%s::bigint[])
"""
_STATES_OF_PAIRS = """
SELECT s.student_id, s.competency_id, s.first_mastered_at IS NOT NULL
FROM unnest(%s::bigint[], %s::bigint[]) AS p(student_id, competency_id)
JOIN mastery_masterystate s ON s.student_id = p.student_id AND s.competency_id = p.competency_id
"""


def _copy_out(query: str, params: Sequence[Any], dtype: np.dtype) -> npt.NDArray[Any]:
    """Rows of a query as a structured array, through COPY ... (FORMAT BINARY)."""
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)", params) as copy:
            for data in copy:
                buffer.write(data)
    data = buffer.getbuffer()
    if bytes(data[: len(_COPY_SIGNATURE)]) != _COPY_SIGNATURE:
        raise RuntimeError("Unexpected COPY output.")
    extension = int.from_bytes(data[15:19], "big")
    body = data[19 + extension : len(data) - 2]  # the trailer is int16 -1
    rows = np.frombuffer(body, dtype=dtype)
    if rows.size and not (rows["fields"] == len(dtype.names or ()) // 2).all():
        raise RuntimeError("Unexpected COPY row layout.")
    return rows


# --- what a chunk needs to know about competencies and policies --------------------------------------


@dataclass
class _Rulebook:
    """Per competency: the method, the policy id and the BKT parameter row, resolved once per call."""

    thresholds: rules.Thresholds
    framework_of: dict[int, int]
    policies: dict[int, Any]
    defaults: rules.BKTParams
    param_rows: list[rules.BKTParams] = field(default_factory=list)
    _row_of: dict[rules.BKTParams, int] = field(default_factory=dict)
    _by_competency: dict[int, tuple[str, int, int]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> _Rulebook:
        return cls(
            thresholds=mastery_thresholds(),
            framework_of=dict(Competency.objects.values_list("id", "framework_id")),
            policies=mastery_latest_policies(),
            defaults=mastery_default_bkt_params(),
        )

    def of(self, competency_id: int) -> tuple[str, int, int]:
        """(method, policy id or 0, BKT parameter row or -1)."""
        known = self._by_competency.get(competency_id)
        if known is None:
            if competency_id not in self.framework_of:  # created after this run started
                self.framework_of[competency_id] = Competency.objects.values_list("framework_id", flat=True).get(
                    pk=competency_id
                )
            policy = self.policies.get(self.framework_of[competency_id])
            method = mastery_method(policy)
            row = -1
            if method == rules.BKT:
                params = mastery_bkt_params(policy, competency_id, defaults=self.defaults)
                row = self._row_of.setdefault(params, len(self.param_rows))
                if row == len(self.param_rows):
                    self.param_rows.append(params)
            known = self._by_competency[competency_id] = (method, policy.pk if policy else 0, row)
        return known


# --- the recompute ---------------------------------------------------------------------------------

_NONE = np.iinfo(np.int64).min  # "no timestamp" in the int64 columns sent to the upsert


def _keys(students: npt.NDArray[np.int64], competencies: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    if students.size and (students.max() >= _PAIR_KEY_LIMIT or competencies.max() >= _PAIR_KEY_LIMIT):
        raise ValueError("Ids beyond 2**31 are not supported by the mastery recompute.")
    return (students.astype(np.int64) << 32) | competencies.astype(np.int64)


def _evaluate_chunk(book: _Rulebook, evidence: npt.NDArray[Any], states: npt.NDArray[Any]) -> dict[str, Any]:
    """Outcomes for every pair with evidence or a stored state in the chunk, as column arrays."""
    n_obs = evidence.size
    ev_student = evidence["student"].astype(np.int64)
    ev_competency = evidence["competency"].astype(np.int64)
    if n_obs:
        change = np.empty(n_obs, dtype=bool)
        change[0] = True
        np.not_equal(ev_student[1:], ev_student[:-1], out=change[1:])
        change[1:] |= ev_competency[1:] != ev_competency[:-1]
        ev_starts = np.flatnonzero(change)
    else:
        ev_starts = np.zeros(0, dtype=np.int64)
    ev_lengths = np.diff(np.append(ev_starts, n_obs))
    ev_keys = _keys(ev_student[ev_starts], ev_competency[ev_starts])
    st_keys = _keys(states["student"].astype(np.int64), states["competency"].astype(np.int64))

    keys = np.union1d(ev_keys, st_keys)  # sorted; evidence rows are in the same (student, competency) order
    n = keys.size
    starts = np.zeros(n, dtype=np.int64)
    lengths = np.zeros(n, dtype=np.int64)
    at = np.searchsorted(keys, ev_keys)
    starts[at] = ev_starts
    lengths[at] = ev_lengths
    ever = np.zeros(n, dtype=bool)
    ever[np.searchsorted(keys, st_keys)] = states["ever"]
    students = keys >> 32
    competencies = keys & 0xFFFFFFFF

    unique_competencies, which = np.unique(competencies, return_inverse=True)
    resolved = [book.of(int(c)) for c in unique_competencies]
    is_bkt = np.array([method == rules.BKT for method, _, _ in resolved], dtype=bool)[which]
    policy_ids = np.array([policy for _, policy, _ in resolved], dtype=np.int64)[which]
    param_rows = np.array([row for _, _, row in resolved], dtype=np.int64)[which]

    status = np.zeros(n, dtype=np.int16)
    estimate = np.full(n, np.nan)
    count = lengths.copy()
    first = np.full(n, -1, dtype=np.int64)

    bkt = np.flatnonzero(is_bkt)
    if bkt.size:
        result = rules.evaluate_bkt_batch(
            starts[bkt],
            lengths[bkt],
            evidence["kind"],
            evidence["value"],
            rules.bkt_parameter_table(book.param_rows),
            book.thresholds,
            param_index=param_rows[bkt],
            ever_mastered=ever[bkt],
        )
        status[bkt] = result.status
        estimate[bkt] = result.estimate
        first[bkt] = result.first_mastered_index

    rubric = np.flatnonzero(~is_bkt)
    if rubric.size:
        kinds = evidence["kind"]
        values = evidence["value"]
        for i in rubric.tolist():
            lo, hi = int(starts[i]), int(starts[i] + lengths[i])
            method = resolved[which[i]][0]
            code, value, counted, first_index = rules.evaluate_coded(
                method,
                None,
                book.thresholds,
                kinds[lo:hi].tolist(),
                values[lo:hi].tolist(),
                ever_mastered=bool(ever[i]),
            )
            status[i] = code
            unit = rules.unit_estimate(method, value)
            estimate[i] = np.nan if unit is None else unit
            count[i] = counted
            first[i] = -1 if first_index is None else lo + first_index

    observed = evidence["observed"].astype(np.int64)
    has_evidence = lengths > 0
    last = np.full(n, _NONE, dtype=np.int64)
    last[has_evidence] = observed[starts[has_evidence] + lengths[has_evidence] - 1]
    first_at = np.full(n, _NONE, dtype=np.int64)
    mastered_here = first >= 0
    first_at[mastered_here] = observed[first[mastered_here]]
    return {
        "student": students,
        "competency": competencies,
        "status": status,
        "estimate": estimate,
        "count": count,
        "first_at": first_at,
        "last_at": last,
        "policy": policy_ids,
    }


# The chunk's outcomes go to a temporary table by binary COPY (built by numpy, no per-row Python), then into
# the states with one INSERT ... ON CONFLICT whose WHERE skips rows that would not change.
_OUTCOMES_TABLE = "mastery_recompute_outcomes"
_CREATE_OUTCOMES = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {_OUTCOMES_TABLE} (
    student_id int8, competency_id int8, code int2, estimate float8, n int4, first_us int8, last_us int8,
    policy_id int8
) ON COMMIT DELETE ROWS
"""
_OUTCOMES_FIELDS = [
    ("student", ">i8"),
    ("competency", ">i8"),
    ("code", ">i2"),
    ("estimate", ">f8"),
    ("n", ">i4"),
    ("first", ">i8"),
    ("last", ">i8"),
    ("policy", ">i8"),
]
_OUTCOMES_DTYPE = np.dtype(
    [("fields", ">i2")] + [part for name, kind in _OUTCOMES_FIELDS for part in ((f"l_{name}", ">i4"), (name, kind))]
)
_UPSERT = f"""
INSERT INTO mastery_masterystate AS s (
    student_id, competency_id, status, estimate, evidence_count, first_mastered_at, last_evidence_at, policy_id,
    override_status, override_note, override_by_id, override_at, updated_at
)
SELECT v.student_id, v.competency_id, (%(labels)s::text[])[v.code + 1], NULLIF(v.estimate, 'NaN'::float8), v.n,
       %(epoch)s::timestamptz + NULLIF(v.first_us, %(none)s) * INTERVAL '1 microsecond',
       %(epoch)s::timestamptz + NULLIF(v.last_us, %(none)s) * INTERVAL '1 microsecond',
       NULLIF(v.policy_id, 0), NULL, '', NULL, NULL, %(now)s::timestamptz
FROM {_OUTCOMES_TABLE} v
ORDER BY v.student_id, v.competency_id
ON CONFLICT (student_id, competency_id) DO UPDATE SET
    status = EXCLUDED.status,
    estimate = EXCLUDED.estimate,
    evidence_count = EXCLUDED.evidence_count,
    first_mastered_at = COALESCE(s.first_mastered_at, EXCLUDED.first_mastered_at),
    last_evidence_at = EXCLUDED.last_evidence_at,
    policy_id = EXCLUDED.policy_id,
    updated_at = EXCLUDED.updated_at
WHERE (s.status, s.estimate, s.evidence_count, s.first_mastered_at, s.last_evidence_at, s.policy_id)
    IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.estimate, EXCLUDED.evidence_count,
                      COALESCE(s.first_mastered_at, EXCLUDED.first_mastered_at), EXCLUDED.last_evidence_at,
                      EXCLUDED.policy_id)
"""


def _upsert(columns: dict[str, Any]) -> int:
    """Insert new states and update changed ones; returns how many rows were inserted or changed."""
    total = columns["student"].size
    if not total:
        return 0
    rows = np.empty(total, dtype=_OUTCOMES_DTYPE)
    rows["fields"] = len(_OUTCOMES_FIELDS)
    sources = {"code": "status", "n": "count", "first": "first_at", "last": "last_at"}
    for name, kind in _OUTCOMES_FIELDS:
        rows[f"l_{name}"] = np.dtype(kind).itemsize
        rows[name] = columns[sources.get(name, name)]
    payload = _COPY_SIGNATURE + bytes(8) + rows.tobytes() + b"\xff\xff"
    with connection.cursor() as cursor:
        cursor.execute(_CREATE_OUTCOMES)
        cursor.execute(f"TRUNCATE {_OUTCOMES_TABLE}")
        with cursor.cursor.copy(f"COPY {_OUTCOMES_TABLE} FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(payload)
        cursor.execute(
            _UPSERT,
            {
                "labels": list(rules.STATUSES),
                "none": int(_NONE),
                "epoch": "2000-01-01T00:00:00+00:00",
                "now": timezone.now(),
            },
        )
        return max(cursor.rowcount, 0)


def _recompute_students(book: _Rulebook, student_ids: list[int]) -> int:
    with transaction.atomic():
        evidence = _copy_out(_EVIDENCE_OF_STUDENTS, [student_ids], _EVIDENCE_DTYPE)
        states = _copy_out(_STATES_OF_STUDENTS, [student_ids], _STATE_DTYPE)
        return _upsert(_evaluate_chunk(book, evidence, states))


def _recompute_pairs(book: _Rulebook, pairs: list[tuple[int, int]]) -> int:
    students = [student for student, _ in pairs]
    competencies = [competency for _, competency in pairs]
    with transaction.atomic():
        evidence = _copy_out(_EVIDENCE_OF_PAIRS, [students, competencies], _EVIDENCE_DTYPE)
        states = _copy_out(_STATES_OF_PAIRS, [students, competencies], _STATE_DTYPE)
        return _upsert(_evaluate_chunk(book, evidence, states))


def _chunks[T](items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _students_in_scope(school_id: int | None) -> list[int]:
    with connection.cursor() as cursor:
        if school_id is not None:
            cursor.execute(
                "SELECT user_id FROM profiles_learnerprofile WHERE school_id = %s ORDER BY user_id", [school_id]
            )
        else:
            cursor.execute(
                "SELECT student_id FROM mastery_evidence UNION SELECT student_id FROM mastery_masterystate ORDER BY 1"
            )
        return [row[0] for row in cursor.fetchall()]


def mastery_recompute(
    *, pairs: Iterable[tuple[int, int]] | None = None, school_id: int | None = None, full: bool = False
) -> int:
    """Recompute mastery states from evidence; returns the rows inserted or changed.

    pairs: (student id, competency id) to recompute, e.g. those with new evidence; None (or full=True
    without pairs) means every pair in scope: every pair with evidence or a stored state. A given list
    of pairs is never widened by `full`. school_id: only students whose learner profile is at that
    school. Each framework's latest MasteryPolicy decides (BKT with settings defaults without one).
    Each chunk commits on its own; a rerun converges on the same rows and writes 0 when nothing is new.
    """
    book = _Rulebook.load()
    written = 0
    if pairs is None:
        for student_ids in _chunks(_students_in_scope(school_id), STUDENTS_PER_CHUNK):
            written += _recompute_students(book, student_ids)
        scope = "full" if full else "all"
    else:
        wanted = sorted({(int(student), int(competency)) for student, competency in pairs})
        if school_id is not None and wanted:
            in_school = set(_students_in_scope(school_id))
            wanted = [pair for pair in wanted if pair[0] in in_school]
        for part in _chunks(wanted, PAIRS_PER_CHUNK):
            written += _recompute_pairs(book, part)
        scope = f"{len(wanted)} pairs"
    logger.info("mastery recompute (school %s, %s): %d rows written", school_id, scope, written)
    return written


# --- teacher overrides -------------------------------------------------------------------------------


def _check_pair(student_id: int, competency_id: int) -> None:
    errors = {}
    if not get_user_model().objects.filter(pk=student_id).exists():
        errors["student"] = f"No student {student_id}."
    if not Competency.objects.filter(pk=competency_id).exists():
        errors["competency"] = f"No competency {competency_id}."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def mastery_override_set(*, student_id: int, competency_id: int, status: str, note: str, author: Any) -> MasteryState:
    """A teacher sets the status by hand, with a required note. Kept, with its author and time, until a
    teacher lifts it; every recompute leaves it alone (the computed status still updates underneath).
    Creates the state (computed from the evidence) when the pair has none yet."""
    errors = {}
    note = (note or "").strip()
    if not note:
        errors["note"] = "Say why: an override needs a note."
    if status not in MasteryStatus.values:
        errors["status"] = f"“{status}” is not a mastery status."
    if errors:
        raise ValidationError(errors)
    _check_pair(student_id, competency_id)
    state, created = MasteryState.objects.select_for_update().get_or_create(
        student_id=student_id, competency_id=competency_id
    )
    if created:
        mastery_recompute(pairs=[(student_id, competency_id)])
    state.override_status = status
    state.override_note = note
    state.override_by = author
    state.override_at = timezone.now()
    state.save(update_fields=["override_status", "override_note", "override_by", "override_at", "updated_at"])
    logger.info("mastery override set: student %s competency %s by user %s", student_id, competency_id, author.pk)
    state.refresh_from_db()
    return state


@transaction.atomic
def mastery_override_lift(*, student_id: int, competency_id: int, author: Any) -> MasteryState:
    """Lift a teacher's override: the status follows the evidence again (recomputed for the pair now).
    Lifting a pair without an override changes nothing."""
    state = MasteryState.objects.select_for_update().filter(student_id=student_id, competency_id=competency_id).first()
    if state is None:
        raise ValidationError({"competency": "There is no mastery status to lift an override from."})
    if state.override_status is None:
        return state
    state.override_status = None
    state.override_note = ""
    state.override_by = None
    state.override_at = None
    state.save(update_fields=["override_status", "override_note", "override_by", "override_at", "updated_at"])
    mastery_recompute(pairs=[(student_id, competency_id)])
    logger.info("mastery override lifted: student %s competency %s by user %s", student_id, competency_id, author.pk)
    state.refresh_from_db()
    return state
