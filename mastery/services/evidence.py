"""Recording evidence: one observation, or batches of up to 5,000. Append-only and idempotent.

An item names a student and a competency (by id), when the observation was made, and exactly one
value: a score in [0, 1], a raw score with its maximum (normalized to raw / max), a 1–4 rating, or
no value for an activity completion (`kind="completion"`). `kind` is inferred from the value.

Idempotency: (source, external_id) is unique when external_id is given. Recording the same pair
again stores nothing and answers with the row stored first (created=False), even when the payload
differs and even when identical requests arrive at the same moment. A batch is first tried as a plain
INSERT (the common case: every key is new); if any key is already stored, that INSERT fails on the
unique index, is rolled back to a savepoint, and the batch goes in as
`INSERT ... ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING RETURNING`;
the rows it did not insert are then read back (in READ COMMITTED a conflicting insert waits for the
other transaction, whose row the next statement sees).

A batch is validated whole before anything is written: one bad item refuses the batch with
errors by item index and field, and nothing is stored. A valid batch is sent with one binary COPY
into a session-local staging table and moved into the evidence table by one INSERT ... SELECT,
never a save() per row (bench/ingest.py measures it).

A whole file (`manage.py import_evidence`) is not cut into batches: EvidenceImport stages its rows, each
normalized once as it is read (normalize_text_item), in a temporary table of one transaction, checks them
as a whole there, and stores them all with one INSERT ... SELECT (bench/import_csv.py measures it).

Recording evidence does not recompute mastery; the nightly run picks up rows by `created_at`.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import psycopg
from django.core.exceptions import NON_FIELD_ERRORS, EmptyResultSet, ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from mastery.models import Competency, Evidence
from profiles.models import LearnerProfile, User

logger = logging.getLogger(__name__)

EVIDENCE_BULK_MAX = 5000

# The keys an item may carry: evidence_record's keyword arguments minus `recorded_by` (one per batch).
ITEM_FIELDS = frozenset(
    {
        "student_id",
        "competency_id",
        "observed_at",
        "score",
        "raw_score",
        "max_score",
        "rating",
        "kind",
        "source",
        "external_id",
        "note",
        "raw",
    }
)
DEFAULT_SOURCE = "manual"
KINDS = frozenset(Evidence.Kind.values)
SOURCE_MAX_LENGTH = Evidence._meta.get_field("source").max_length or 100
EXTERNAL_ID_MAX_LENGTH = Evidence._meta.get_field("external_id").max_length or 255
RATING_MIN, RATING_MAX = 1, 4

# Messages, shared with the CSV import and the API (tests compare them exactly).
EVIDENCE_BULK_TOO_MANY = "A batch holds at most {limit:,} items; this one has {count:,}."
REQUIRED = "This field is required."
UNKNOWN_FIELD = "Unknown field."
NOT_AN_OBJECT = "Each item must be an object."
NOT_AN_ID = "A whole number is required."
NO_SUCH_STUDENT = "No such student."
NO_SUCH_COMPETENCY = "No such competency."
NOT_ASSESSABLE = "This competency only groups others; record evidence on one of its competencies."
BAD_DATE = "Not a date or date-time (ISO 8601, e.g. 2026-09-14 or 2026-09-14T10:30:00-04:00)."
NOT_A_NUMBER = "A number is required."
SCORE_RANGE = "A score must be between 0 and 1."
MAX_SCORE_POSITIVE = "The maximum score must be greater than 0."
RAW_SCORE_RANGE = "The raw score must be between 0 and the maximum score."
RAW_NEEDS_MAX = "A raw score needs its max_score."
MAX_NEEDS_RAW = "A max_score needs its raw_score."
RATING_RANGE = "A rating is a whole number from 1 to 4."
BAD_KIND = "Must be one of: score, rating, completion."
NO_VALUE = "Give a score, a raw_score with max_score, or a rating (or kind completion)."
SEVERAL_VALUES = "Give only one of: score, raw_score with max_score, rating."
SCORE_KIND_NEEDS_SCORE = "Kind score needs a score (or a raw_score with max_score)."
RATING_KIND_NEEDS_RATING = "Kind rating needs a rating."
BLANK_SOURCE = "A source cannot be blank."
BLANK_EXTERNAL_ID = "An external id cannot be blank; leave it out instead."
TOO_LONG = "At most {limit} characters."
NOT_TEXT = "Text is required."
RAW_NOT_OBJECT = "Must be a JSON object."
NUL_CHARACTER = "Text cannot contain NUL characters."


class EvidenceRecorded(NamedTuple):
    """What became of one item: the stored row's id, and whether this call stored it."""

    id: int
    created: bool


class EvidenceBatchError(Exception):
    """A batch was refused; nothing was stored. `errors` maps item index → field → messages."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} invalid evidence item(s); nothing was stored.")


# One validated item, in the column order of the staging table below (after its id).
_Row = tuple[int, int, str, datetime.datetime, float | None, int | None, str, str | None, str, str]
# What makes two items with the same (source, external_id) "the same observation".
_Payload = tuple[int, int, str, datetime.datetime, float | None, int | None, str]


# --- validation -------------------------------------------------------------------------------


def _school_time_zone() -> datetime.tzinfo:
    return timezone.get_default_timezone()  # settings.TIME_ZONE


def parse_observed_at(value: Any, tz: datetime.tzinfo | None = None) -> datetime.datetime | None:
    """A datetime, a date or an ISO 8601 string as an aware datetime; naive means settings.TIME_ZONE.

    A date alone is the start of that day. Returns None when the value is none of these.
    """
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    elif isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time.min)
    if not isinstance(value, datetime.datetime):
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=tz or _school_time_zone())
    return value


ID_MAX = 2**63 - 1  # bigint


def _as_id(value: Any) -> int | None:
    """A positive whole number from an int or a string of digits; None when it is not one."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ID_MAX:
        return value
    return None


def _as_number(value: Any) -> float | None:
    """A finite number from an int, a float or a numeric string; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _as_rating(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and RATING_MIN <= value <= RATING_MAX:
        return value
    return None


def _text(value: Any, errors: dict[str, list[str]], field: str, *, limit: int | None) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and field == "external_id":
        value = str(value)  # numeric ids from JSON clients
    if not isinstance(value, str):
        errors[field] = [NOT_TEXT]
        return None
    if limit is not None and len(value) > limit:
        errors[field] = [TOO_LONG.format(limit=limit)]
        return None
    if "\x00" in value:
        errors[field] = [NUL_CHARACTER]
        return None
    return value


def _is_plain_text(value: str, limit: int) -> bool:
    """A source or external id the short paths accept as it is: not blank, not too long, no NUL."""
    return 0 < len(value) <= limit and not value.isspace() and "\x00" not in value


def _raw_score_json(raw_score: float, max_score: float) -> str:
    """The `raw` of a raw score, as json.dumps (compact) writes it for two finite floats."""
    return f'{{"raw_score":{raw_score!r},"max_score":{max_score!r}}}'


def _normalize(item: Any, tz: datetime.tzinfo) -> tuple[tuple | None, dict[str, list[str]]]:
    """Check one item without the database. Returns (row, {}) or (None, errors by field).

    The common shape of a machine-made item (int ids, a datetime or ISO string, a number score,
    numeric raw and max scores or an int rating, plain strings) is checked on a short path; anything else takes
    the general path, which gives the same row for the same valid item (tested) and explains what is
    wrong with an invalid one.
    """
    if type(item) is dict and ITEM_FIELDS.issuperset(item):
        get = item.get
        student_id, competency_id, observed_at = get("student_id"), get("competency_id"), get("observed_at")
        score, rating = get("score"), get("rating")
        raw_score: Any = get("raw_score")
        max_score: Any = get("max_score")
        source, external_id, note = get("source"), get("external_id"), get("note")
        source = DEFAULT_SOURCE if source is None else source
        note = "" if note is None else note
        kind = None
        raw_json = "{}"
        if type(observed_at) is not datetime.datetime or observed_at.tzinfo is None:
            observed_at = parse_observed_at(observed_at, tz)  # an ISO string (JSON), a naive datetime, a date
        if raw_score is None and max_score is None:
            if type(score) is float and 0.0 <= score <= 1.0 and rating is None:
                kind = "score"
            elif type(score) is int and 0 <= score <= 1 and rating is None:
                kind, score = "score", float(score)
            elif score is None and type(rating) is int and RATING_MIN <= rating <= RATING_MAX:
                kind = "rating"
        elif (
            score is None
            and rating is None
            and type(raw_score) in (int, float)
            and type(max_score) in (int, float)
            and 0 < max_score < math.inf
            and 0 <= raw_score <= max_score
        ):
            raw_number, max_number = float(raw_score), float(max_score)
            kind, score = "score", raw_number / max_number
            raw_json = _raw_score_json(raw_number, max_number)
        if (
            kind is not None
            and type(student_id) is int
            and type(competency_id) is int
            and 0 < student_id <= ID_MAX
            and 0 < competency_id <= ID_MAX
            and observed_at is not None
            and observed_at.utcoffset() is not None
            and get("kind") is None
            and get("raw") is None
            and type(source) is str
            and _is_plain_text(source, SOURCE_MAX_LENGTH)
            and (
                external_id is None
                or (type(external_id) is str and _is_plain_text(external_id, EXTERNAL_ID_MAX_LENGTH))
            )
            and type(note) is str
            and "\x00" not in note
        ):
            row = (student_id, competency_id, kind, observed_at, score, rating, source, external_id, note, raw_json)
            return row, {}
    return _normalize_general(item, tz)


def _normalize_general(item: Any, tz: datetime.tzinfo) -> tuple[tuple | None, dict[str, list[str]]]:
    if not isinstance(item, Mapping):
        return None, {NON_FIELD_ERRORS: [NOT_AN_OBJECT]}
    errors: dict[str, list[str]] = {}
    for key in item.keys() - ITEM_FIELDS:
        errors[str(key)] = [UNKNOWN_FIELD]
    get = item.get

    student_id = competency_id = None
    for field in ("student_id", "competency_id"):
        value = get(field)
        if value is None or value == "":
            errors[field] = [REQUIRED]
            continue
        number = _as_id(value)
        if number is None:
            errors[field] = [NOT_AN_ID]
        elif field == "student_id":
            student_id = number
        else:
            competency_id = number

    observed_at = None
    value = get("observed_at")
    if value is None or value == "":
        errors["observed_at"] = [REQUIRED]
    else:
        observed_at = parse_observed_at(value, tz)
        if observed_at is None:
            errors["observed_at"] = [BAD_DATE]

    # The value: exactly one of score, raw_score with max_score, rating; or none for a completion.
    score: float | None = None
    rating: int | None = None
    given = []
    raw_extra: dict[str, Any] | None = None
    value = get("score")
    if value is not None and value != "":
        given.append("score")
        score = _as_number(value)
        if score is None:
            errors["score"] = [NOT_A_NUMBER]
        elif not 0.0 <= score <= 1.0:
            errors["score"] = [SCORE_RANGE]
            score = None
    raw_value, max_value = get("raw_score"), get("max_score")
    has_raw = raw_value is not None and raw_value != ""
    has_max = max_value is not None and max_value != ""
    if has_raw or has_max:
        given.append("raw_score")
        raw_number = _as_number(raw_value) if has_raw else None
        max_number = _as_number(max_value) if has_max else None
        if not has_raw:
            errors["raw_score"] = [MAX_NEEDS_RAW]
        elif raw_number is None:
            errors["raw_score"] = [NOT_A_NUMBER]
        if not has_max:
            errors["max_score"] = [RAW_NEEDS_MAX]
        elif max_number is None:
            errors["max_score"] = [NOT_A_NUMBER]
        elif max_number <= 0:
            errors["max_score"] = [MAX_SCORE_POSITIVE]
            max_number = None
        if raw_number is not None and max_number is not None:
            if 0 <= raw_number <= max_number:
                score = raw_number / max_number
                raw_extra = {"raw_score": raw_number, "max_score": max_number}
            else:
                errors["raw_score"] = [RAW_SCORE_RANGE]
    value = get("rating")
    if value is not None and value != "":
        given.append("rating")
        rating = _as_rating(value)
        if rating is None:
            errors["rating"] = [RATING_RANGE]

    kind = get("kind")
    if kind == "":
        kind = None
    inferred = {"score": "score", "raw_score": "score", "rating": "rating"}[given[0]] if len(given) == 1 else None
    if kind is not None and kind not in KINDS:
        errors["kind"] = [BAD_KIND]
    elif len(given) > 1:
        errors[NON_FIELD_ERRORS] = [SEVERAL_VALUES]
    elif not given:
        if kind is None:
            errors[NON_FIELD_ERRORS] = [NO_VALUE]
        elif kind == "score":
            errors["score"] = [SCORE_KIND_NEEDS_SCORE]
        elif kind == "rating":
            errors["rating"] = [RATING_KIND_NEEDS_RATING]
    elif kind is not None and kind != inferred:
        errors["kind"] = [f"Must be {inferred} for the value given."]
    kind = kind or inferred

    source = get("source")
    if source is None:
        source = DEFAULT_SOURCE
    else:
        source = _text(source, errors, "source", limit=SOURCE_MAX_LENGTH)
        if source is not None and not source.strip():
            errors["source"] = [BLANK_SOURCE]
    external_id = get("external_id")
    if external_id is not None:
        external_id = _text(external_id, errors, "external_id", limit=EXTERNAL_ID_MAX_LENGTH)
        if external_id is not None and not external_id.strip():
            errors["external_id"] = [BLANK_EXTERNAL_ID]
    note = get("note")
    note = "" if note is None else _text(note, errors, "note", limit=None)

    raw = get("raw")
    raw_json = "{}"
    if raw is not None and not isinstance(raw, dict):
        errors["raw"] = [RAW_NOT_OBJECT]
    elif raw or raw_extra:
        try:
            raw_json = json.dumps(raw if raw is not None else raw_extra, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError):
            errors["raw"] = [RAW_NOT_OBJECT]
        else:
            if "\\u0000" in raw_json:  # PostgreSQL's jsonb refuses NUL
                errors["raw"] = [NUL_CHARACTER]

    if errors:
        return None, errors
    return (student_id, competency_id, kind, observed_at, score, rating, source, external_id, note, raw_json), errors


_RATINGS_AS_TEXT = {str(rating): rating for rating in range(RATING_MIN, RATING_MAX + 1)}


def _value_from_text(
    score: str, raw_score: str, max_score: str, rating: str
) -> tuple[str, float | None, int | None, str] | None:
    """(kind, score, rating, raw) of a plain score, raw score with its maximum or rating given as text; None
    for anything else (no value, several, out of range, not a number), which the general path explains."""
    if score and not (raw_score or max_score or rating):
        number = _as_number(score)
        if number is not None and 0.0 <= number <= 1.0:
            return "score", number, None, "{}"
    elif rating and not (score or raw_score or max_score):
        if rating in _RATINGS_AS_TEXT:
            return "rating", None, _RATINGS_AS_TEXT[rating], "{}"
    elif raw_score and max_score and not (score or rating):
        raw_number, max_number = _as_number(raw_score), _as_number(max_score)
        if raw_number is not None and max_number is not None and 0 <= raw_number <= max_number and max_number > 0:
            return "score", raw_number / max_number, None, _raw_score_json(raw_number, max_number)
    return None


def normalize_text_item(
    student_id: int | None,
    competency_id: int | None,
    observed_at: str,
    score: str,
    raw_score: str,
    max_score: str,
    rating: str,
    kind: str,
    source: str,
    external_id: str,
    note: str,
    tz: datetime.tzinfo,
) -> tuple[_Row | None, dict[str, list[str]]]:
    """One item as a file gives it: ids already looked up (None: not found), every other value text ("" for
    none). Returns (row, {}) as _normalize gives it for the same item, or (None, errors by field).

    A plain score, raw score with its maximum, or rating "1" to "4" without `kind` is checked on a short path
    (no dict); anything else goes through the general path as the item it stands for, so that every caller
    meets the same rules and messages (tested: the same row for the same valid item).
    """
    observed = parse_observed_at(observed_at, tz) if observed_at else None
    if (
        observed is not None
        and student_id is not None
        and competency_id is not None
        and not kind
        and _is_plain_text(source, SOURCE_MAX_LENGTH)
        and (not external_id or _is_plain_text(external_id, EXTERNAL_ID_MAX_LENGTH))
        and "\x00" not in note
    ):
        value = _value_from_text(score, raw_score, max_score, rating)
        if value is not None:
            kind, number, rating_value, raw_json = value
            return (student_id, competency_id, kind, observed, number, rating_value, source, external_id or None,
                    note, raw_json), {}  # fmt: skip
    item = {
        "student_id": student_id,
        "competency_id": competency_id,
        "observed_at": observed_at or None,
        "score": score or None,
        "raw_score": raw_score or None,
        "max_score": max_score or None,
        "rating": rating or None,
        "kind": kind or None,
        "source": source,
        "external_id": external_id or None,
        "note": note,
    }
    return _normalize_general(item, tz)


def _add_error(errors: dict[int, dict[str, list[str]]], index: int, field: str, message: str) -> None:
    errors.setdefault(index, {}).setdefault(field, []).append(message)


def _named_ids(item: Any) -> tuple[int | None, int | None]:
    """The student and competency ids an item names, if well-formed (also for an otherwise bad item)."""
    if not isinstance(item, Mapping):
        return None, None
    return _as_id(item.get("student_id")), _as_id(item.get("competency_id"))


def _id_array(ids: set[int]) -> RawSQL:
    # One array parameter instead of an IN list of thousands: far cheaper to send and to plan.
    return RawSQL("SELECT unnest(%s::bigint[])", [sorted(ids)])


def _known_students(ids: set[int], scope: QuerySet[LearnerProfile]) -> set[int]:
    """Which of the ids are students in the scope. One probe of the scope per id (a LATERAL subquery
    with LIMIT 1 is never turned into a join), so the cost follows the batch, not the size of the scope:
    a district admin's scope is the whole district."""
    if not ids:
        return set()
    probe = scope.filter(pk=RawSQL('"probe"."id"', ())).order_by().values("pk")[:1]
    try:
        sql, params = probe.query.sql_with_params()
    except EmptyResultSet:  # a scope that can hold nobody
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.pk FROM unnest(%s::bigint[]) AS probe(id) CROSS JOIN LATERAL ({sql}) AS s(pk)",
            [sorted(ids), *params],
        )
        return {row[0] for row in cursor.fetchall()}


def _validate(
    items: Sequence[Any], students: QuerySet[LearnerProfile] | None
) -> tuple[list[_Row], dict[int, dict[str, list[str]]]]:
    """Every item checked, the database asked twice (students, competencies). Rows are in item order."""
    tz = _school_time_zone()
    rows: list[Any] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        row, item_errors = _normalize(item, tz)
        rows.append(row)
        if item_errors:
            errors[index] = item_errors

    # The ids every item names, valid or not, so that a bad item also hears that its student is unknown.
    named = [(row[0], row[1]) if row is not None else _named_ids(item) for row, item in zip(rows, items, strict=True)]
    student_ids = {student for student, _ in named if student is not None}
    competency_ids = {competency for _, competency in named if competency is not None}
    known_students = _known_students(student_ids, LearnerProfile.objects.all() if students is None else students)
    # order_by(): no sort by the model's ordering, only ids are wanted.
    assessable = dict(
        Competency.objects.filter(pk__in=_id_array(competency_ids)).order_by().values_list("pk", "assessable")
    )
    if student_ids - known_students or not all(assessable.get(pk) for pk in competency_ids):
        for index, (student, competency) in enumerate(named):
            if student is not None and student not in known_students:
                _add_error(errors, index, "student_id", NO_SUCH_STUDENT)
            if competency is not None and competency not in assessable:
                _add_error(errors, index, "competency_id", NO_SUCH_COMPETENCY)
            elif competency is not None and not assessable[competency]:
                _add_error(errors, index, "competency_id", NOT_ASSESSABLE)

    # The same (source, external_id) twice in a batch: fine when it is the same observation.
    first_of_key: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows):
        if row is None or row[7] is None:
            continue
        first = first_of_key.setdefault((row[6], row[7]), index)
        if first != index and _payload(rows[first]) != _payload(row):
            _add_error(
                errors, index, "external_id", f"Same source and external_id as item {first}, with different values."
            )
    return rows, errors


def _payload(row: _Row) -> _Payload:
    return (*row[:6], row[8])


def evidence_validate(
    *, items: Sequence[Any], students: QuerySet[LearnerProfile] | None = None
) -> dict[int, dict[str, list[str]]]:
    """The errors a batch would be refused with (index → field → messages); empty when it is valid."""
    return _validate(items, students)[1]


# --- storing ----------------------------------------------------------------------------------

_TABLE = Evidence._meta.db_table

# The sequence is looked up once (a scalar subquery), not once per id.
_NEXT_ID = f"nextval((SELECT pg_get_serial_sequence('{_TABLE}', 'id'))::regclass)"
_ALLOCATE_IDS = f"SELECT array_agg({_NEXT_ID}) FROM generate_series(1, %b)"

# A batch travels to the server with binary COPY into a session-local staging table (psycopg writes COPY
# rows in C, several times faster than it encodes the same values as array parameters), then moves into
# the evidence table in one INSERT. Created on first use in a session; emptied at every commit.
_INCOMING = "mastery_evidence_incoming"
_INCOMING_COLUMNS = ("id", "student_id", "competency_id", "kind", "observed_at", "score", "rating", "source",
                     "external_id", "note", "raw")  # fmt: skip
_INCOMING_TYPES = ("int8", "int8", "int8", "text", "timestamptz", "float8", "int2", "text", "text", "text", "text")


def _create_staging(table: str, columns: Sequence[str], types: Sequence[str], *, on_commit: str) -> str:
    pairs = ", ".join(f"{name} {type_}" for name, type_ in zip(columns, types, strict=True))
    return f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({pairs}) ON COMMIT {on_commit}"


def _copy_into(table: str, columns: Sequence[str]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"


def _insert_from(staged: str) -> str:
    """Every staged row (the columns of _INCOMING_COLUMNS, id included) into the evidence table, in key order:
    concurrent writers then take their unique-index locks in the same order, so two sharing keys in
    different orders wait for each other instead of deadlocking."""
    values = ", ".join(f"{name}::jsonb" if name == "raw" else name for name in _INCOMING_COLUMNS)
    return f"""
INSERT INTO {_TABLE} ({", ".join(_INCOMING_COLUMNS)}, recorded_by_id, created_at)
SELECT {values}, %b::bigint, %b::timestamptz
FROM {staged}
ORDER BY source, external_id
"""


_CREATE_INCOMING = _create_staging(_INCOMING, _INCOMING_COLUMNS, _INCOMING_TYPES, on_commit="DELETE ROWS")
_COPY_INCOMING = _copy_into(_INCOMING, _INCOMING_COLUMNS)
# Ids are allocated first, so every item knows its row.
_INSERT_ALL = _insert_from(_INCOMING)
# The idempotent form: RETURNING tells which rows this call stored.
_INSERT_NEW_ONLY = f"""{_INSERT_ALL}
ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING
RETURNING id
"""
_SAVEPOINT = "evidence_batch_all_new"

# The rows stored before, for the keys whose insert met a conflict: one probe of the unique index per
# key (LIMIT 1 keeps the planner from hashing the whole table, which it prefers for an unnest join).
_EXISTING = f"""
SELECT e.id, e.source, e.external_id
FROM unnest(%b::text[], %b::text[]) AS k(source, external_id)
CROSS JOIN LATERAL (
    SELECT id, source, external_id FROM {_TABLE}
    WHERE source = k.source AND external_id = k.external_id AND external_id IS NOT NULL
    LIMIT 1
) AS e
"""


def _insert_all_or_new_only(
    cursor: psycopg.Cursor, insert_all: str, insert_new_only: str, params: list[Any]
) -> int | None:
    """Run insert_all, and return how many rows it stored; or, if it meets a key already stored, run
    insert_new_only instead and return None (its result is on the cursor).

    Most batches are new observations, and a plain INSERT skips the speculative insertion that ON
    CONFLICT makes per row (about a tenth of the database's work per row at district scale; a sixth for a
    whole file). When a key is already stored (a retry, an overlapping re-send, a concurrent duplicate that
    committed first), that INSERT fails on the unique index; the savepoint undoes it and the idempotent
    form runs instead.
    """
    cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        cursor.execute(insert_all, params)
    except psycopg.errors.UniqueViolation:
        cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        cursor.execute(insert_new_only, params)
        return None
    stored = cursor.rowcount
    cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    return stored


def _insert_staged(cursor: psycopg.Cursor, params: list[Any], *, ids: Iterable[int]) -> set[int]:
    """Move the staged batch into the evidence table; the ids of the rows this call stored."""
    if _insert_all_or_new_only(cursor, _INSERT_ALL, _INSERT_NEW_ONLY, params) is not None:
        return set(ids)
    return {row[0] for row in cursor.fetchall()}


@contextmanager
def _raw_cursor() -> Iterator[psycopg.Cursor]:
    """A plain psycopg cursor on Django's connection (same transaction): binary COPY and parameters;
    database errors still arrive as Django's (OperationalError, IntegrityError, ...)."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _store(rows: list[_Row], recorded_by_id: int | None) -> list[EvidenceRecorded]:
    # An identical repeat inside the batch (validation refused differing ones) is stored once.
    first_of_key: dict[tuple[str, str], int] = {}
    first_of: list[int] = []
    for index, row in enumerate(rows):
        first_of.append(index if row[7] is None else first_of_key.setdefault((row[6], row[7]), index))
    unique = [index for index, first in enumerate(first_of) if first == index]

    with _raw_cursor() as cursor:
        cursor.execute(_ALLOCATE_IDS, [len(unique)])
        ids: dict[int, int] = dict(zip(unique, cursor.fetchone()[0], strict=True))  # type: ignore[index]
        cursor.execute(_CREATE_INCOMING)
        cursor.execute(f"TRUNCATE {_INCOMING}")  # an earlier batch of the same transaction may be there
        with cursor.copy(_COPY_INCOMING) as copy:
            copy.set_types(_INCOMING_TYPES)
            for index in unique:
                copy.write_row((ids[index], *rows[index]))
        inserted = _insert_staged(cursor, [recorded_by_id, timezone.now()], ids=ids.values())
        stored = {index: EvidenceRecorded(ids[index], True) for index in unique if ids[index] in inserted}
        conflicts = [index for index in unique if index not in stored]
        if conflicts:
            # Stored before (or by a concurrent request that committed first): answer with that row.
            cursor.execute(_EXISTING, [[rows[i][6] for i in conflicts], [rows[i][7] for i in conflicts]])
            existing = {(source, external_id): pk for pk, source, external_id in cursor.fetchall()}
            for index in conflicts:
                stored[index] = EvidenceRecorded(existing[rows[index][6], rows[index][7]], False)
    return [
        stored[index] if first == index else EvidenceRecorded(stored[first].id, False)
        for index, first in enumerate(first_of)
    ]


# --- a whole file: staged, checked as a whole, stored at once ------------------------------------

# A file's rows, each normalized on its own (normalize_text_item) and numbered by its line, go by binary COPY
# into a temporary table as they are read: the caller's Python checks the next rows while the server takes
# these, and no row is kept in Python. Nothing reaches the evidence table until the whole file has been
# checked; then one INSERT ... SELECT moves every staged row, in the caller's transaction. Ids follow the
# lines (as a batch's follow its items: same-time observations keep the file's order), rows go in key order.
_IMPORT = "mastery_evidence_import"
_IMPORT_COLUMNS = ("line", *_INCOMING_COLUMNS[1:])
_IMPORT_TYPES = ("int4", *_INCOMING_TYPES[1:])
_CREATE_IMPORT = _create_staging(_IMPORT, _IMPORT_COLUMNS, _IMPORT_TYPES, on_commit="DROP")
_COPY_IMPORT = _copy_into(_IMPORT, _IMPORT_COLUMNS)
_INSERT_IMPORTED = _insert_from(f"(SELECT {_NEXT_ID} AS id, * FROM {_IMPORT} ORDER BY line) AS numbered")
_INSERT_IMPORTED_NEW_ONLY = f"""{_INSERT_IMPORTED}
ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING
"""
# What makes two rows with the same key "the same observation": as _payload.
_PAYLOAD = "(student_id, competency_id, kind, observed_at, score, rating, note)"
# A hash aggregate: cheap enough to run always; the sort below only when a key repeats at all.
_ANY_REPEATED_KEY = f"""
SELECT EXISTS (SELECT FROM {_IMPORT} WHERE external_id IS NOT NULL GROUP BY source, external_id HAVING count(*) > 1)
"""
_DIFFERING_REPEATS = f"""
SELECT line, first_line FROM (
    SELECT line, {_PAYLOAD} AS payload, first_value(line) OVER by_key AS first_line,
           first_value({_PAYLOAD}) OVER by_key AS first_payload
    FROM {_IMPORT}
    WHERE external_id IS NOT NULL
    WINDOW by_key AS (PARTITION BY source, external_id ORDER BY line)
) AS keyed
WHERE line <> first_line AND payload IS DISTINCT FROM first_payload
ORDER BY line
"""
_LEARNERS = LearnerProfile._meta.db_table
_LEARNER_ID = LearnerProfile._meta.pk.column  # type: ignore[union-attr]
_NOT_A_LEARNER = f"NOT EXISTS (SELECT FROM {_LEARNERS} p WHERE p.{_LEARNER_ID} = s.student_id)"
_CHANGED_SINCE_LOOKED_UP = f"""
SELECT s.line, {_NOT_A_LEARNER}, c.assessable
FROM {_IMPORT} s LEFT JOIN {Competency._meta.db_table} c ON c.id = s.competency_id
WHERE {_NOT_A_LEARNER} OR c.assessable IS NOT TRUE
ORDER BY s.line
"""


class EvidenceImport:
    """The rows of one file, staged in the current transaction (see above); store() stores them all at once.

    Create it inside transaction.atomic(): the staging table lives until the transaction ends, and a
    rollback (an error anywhere in the file) leaves nothing behind.
    """

    def __init__(self) -> None:
        if not connection.in_atomic_block:
            raise TransactionManagementError("EvidenceImport works inside transaction.atomic().")
        self._key_repeats: bool | None = None  # whether two staged rows share a key, once asked
        with _raw_cursor() as cursor:
            cursor.execute(_CREATE_IMPORT)
            cursor.execute(f"TRUNCATE {_IMPORT}")  # an earlier import in the same transaction

    def stage(self, rows: Iterable[tuple[int, _Row]]) -> None:
        """Stage (line, row) pairs with one COPY. `rows` may be a generator that checks each row as it goes:
        the server takes the rows already sent meanwhile."""
        self._key_repeats = None
        with _raw_cursor() as cursor, cursor.copy(_COPY_IMPORT) as copy:
            copy.set_types(_IMPORT_TYPES)
            for line, row in rows:
                copy.write_row((line, *row))

    def differing_repeats(self) -> list[tuple[int, int]]:
        """(line, first line) of every staged row whose source and external_id an earlier staged row has, with
        other values. Identical repeats are fine: store() stores the first and counts the others present."""
        if not self._any_key_repeats():
            return []
        with _raw_cursor() as cursor:
            cursor.execute(_DIFFERING_REPEATS)
            return cursor.fetchall()

    def _any_key_repeats(self) -> bool:
        if self._key_repeats is None:
            with _raw_cursor() as cursor:
                cursor.execute(_ANY_REPEATED_KEY)
                self._key_repeats = bool(cursor.fetchone()[0])  # type: ignore[index]
        return self._key_repeats

    def store(self, recorded_by_id: int | None) -> int:
        """Move every staged row into the evidence table; how many were new (the others' key was stored).

        First checks the staged rows' students and competencies again: one that changed since the caller
        looked it up (no longer a learner, removed, no longer assessable) raises EvidenceBatchError with the
        errors by line, and nothing is stored. Then a plain INSERT, unless two staged rows share a key (the
        idempotent form stores the first); see _insert_all_or_new_only.
        """
        with _raw_cursor() as cursor:
            cursor.execute(_CHANGED_SINCE_LOOKED_UP)
            changed = cursor.fetchall()
            if changed:
                raise EvidenceBatchError(
                    {line: _changed_errors(gone, assessable) for line, gone, assessable in changed}
                )
            params = [recorded_by_id, timezone.now()]
            if self._any_key_repeats():  # a plain INSERT would fail on the file's own repeats
                cursor.execute(_INSERT_IMPORTED_NEW_ONLY, params)
                stored = None
            else:
                stored = _insert_all_or_new_only(cursor, _INSERT_IMPORTED, _INSERT_IMPORTED_NEW_ONLY, params)
            created = cursor.rowcount if stored is None else stored
        logger.info("evidence import: %d rows stored", created)
        return created


def _changed_errors(student_gone: bool, assessable: bool | None) -> dict[str, list[str]]:
    errors = {"student_id": [NO_SUCH_STUDENT]} if student_gone else {}
    if assessable is None:
        errors["competency_id"] = [NO_SUCH_COMPETENCY]
    elif not assessable:
        errors["competency_id"] = [NOT_ASSESSABLE]
    return errors


# --- services ---------------------------------------------------------------------------------


@transaction.atomic
def evidence_record_bulk(
    *,
    items: Sequence[Mapping[str, Any]],
    recorded_by: User | None = None,
    students: QuerySet[LearnerProfile] | None = None,
) -> list[EvidenceRecorded]:
    """Record up to 5,000 items (dicts with evidence_record's keyword arguments) at once.

    Returns one result per item, in order. An item whose (source, external_id) is already stored, or
    repeats an earlier item of the batch, gets that row's id with created=False. Raises
    EvidenceBatchError (nothing stored) if any item is invalid. `students` restricts which students
    are accepted (the API passes those the user may record for); others are "No such student.".
    """
    if len(items) > EVIDENCE_BULK_MAX:
        raise ValidationError({"items": [EVIDENCE_BULK_TOO_MANY.format(limit=EVIDENCE_BULK_MAX, count=len(items))]})
    if not items:
        return []
    rows, errors = _validate(items, students)
    if errors:
        logger.info("evidence batch refused: %d of %d items invalid", len(errors), len(items))
        raise EvidenceBatchError(errors)
    results = _store(rows, recorded_by.pk if recorded_by is not None else None)
    created = sum(result.created for result in results)
    logger.info(
        "evidence batch: %d items, %d stored, %d already present, recorded_by=%s",
        len(results),
        created,
        len(results) - created,
        recorded_by.pk if recorded_by is not None else None,
    )
    return results


@transaction.atomic
def evidence_record(
    *,
    student_id: int,
    competency_id: int,
    observed_at: datetime.datetime | datetime.date | str,
    score: float | None = None,
    raw_score: float | None = None,
    max_score: float | None = None,
    rating: int | None = None,
    kind: str | None = None,
    source: str = DEFAULT_SOURCE,
    external_id: str | None = None,
    recorded_by: User | None = None,
    note: str = "",
    raw: dict[str, Any] | None = None,
    students: QuerySet[LearnerProfile] | None = None,
) -> tuple[Evidence, bool]:
    """Record one observation; returns (the stored row, whether this call stored it).

    With an external_id already stored for the source, nothing is stored and the first stored row is
    returned with created=False, whatever this call's values. Raises ValidationError with field errors.
    """
    item = {
        "student_id": student_id,
        "competency_id": competency_id,
        "observed_at": observed_at,
        "score": score,
        "raw_score": raw_score,
        "max_score": max_score,
        "rating": rating,
        "kind": kind,
        "source": source,
        "external_id": external_id,
        "note": note,
        "raw": raw,
    }
    try:
        (result,) = evidence_record_bulk(items=[item], recorded_by=recorded_by, students=students)
    except EvidenceBatchError as refused:
        raise ValidationError(refused.errors[0]) from None
    return Evidence.objects.get(pk=result.id), result.created
