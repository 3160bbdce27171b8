"""Recording evidence: normalization, validation (nothing stored when refused), idempotency per
(source, external_id) including under concurrency, and the set-based bulk path."""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from mastery.models import Competency, Evidence, Framework
from mastery.services import (
    EVIDENCE_BULK_MAX,
    EvidenceBatchError,
    EvidenceRecorded,
    evidence_record,
    evidence_record_bulk,
    evidence_validate,
)
from mastery.services import evidence as service
from profiles.models import LearnerProfile
from tests.world import World, build_world

UTC = datetime.UTC
OBSERVED = datetime.datetime(2026, 9, 14, 14, 30, tzinfo=UTC)


@dataclass
class Curriculum:
    framework: Framework
    other_framework: Framework
    strand: Competency
    nf1: Competency
    nf2: Competency
    other_nf1: Competency  # the same code in another framework


def make_curriculum() -> Curriculum:
    framework = Framework.objects.create(name="Math", subject="Mathematics", grade_low=3, grade_high=8)
    other = Framework.objects.create(
        name="Math (state)", subject="Mathematics", grade_low=3, grade_high=8, source_identifier="state-math"
    )
    strand = Competency.objects.create(
        framework=framework, code="5.NF", statement="Fractions", grade_level=5, assessable=False
    )
    nf1 = Competency.objects.create(framework=framework, parent=strand, code="5.NF.1", statement="Add", grade_level=5)
    nf2 = Competency.objects.create(framework=framework, parent=strand, code="5.NF.2", statement="Solve", grade_level=5)
    other_nf1 = Competency.objects.create(framework=other, code="5.NF.1", statement="Add (state)", grade_level=5)
    return Curriculum(framework, other, strand, nf1, nf2, other_nf1)


@pytest.fixture
def curriculum(db) -> Curriculum:
    return make_curriculum()


def stored(evidence: Evidence) -> dict[str, Any]:
    row = Evidence.objects.get(pk=evidence.pk)
    return {
        "student": row.student_id,
        "competency": row.competency_id,
        "kind": row.kind,
        "observed_at": row.observed_at,
        "score": row.score,
        "rating": row.rating,
        "source": row.source,
        "external_id": row.external_id,
        "recorded_by": row.recorded_by_id,
        "note": row.note,
        "raw": row.raw,
    }


def base(world: World, curriculum: Curriculum, **fields: Any) -> dict[str, Any]:
    return {
        "student_id": world.users["s_a1_1"].pk,
        "competency_id": curriculum.nf1.pk,
        "observed_at": OBSERVED,
        **fields,
    }


# --- one observation --------------------------------------------------------------------------


def test_a_score_is_stored_as_given(world, curriculum):
    evidence, created = evidence_record(**base(world, curriculum, score=0.5), recorded_by=world.users["t_a1"])
    assert created is True
    assert stored(evidence) == {
        "student": world.users["s_a1_1"].pk,
        "competency": curriculum.nf1.pk,
        "kind": "score",
        "observed_at": OBSERVED,
        "score": 0.5,
        "rating": None,
        "source": "manual",
        "external_id": None,
        "recorded_by": world.users["t_a1"].pk,
        "note": "",
        "raw": {},
    }
    assert Evidence.objects.count() == 1


def test_a_raw_score_is_normalized_and_kept_in_raw(world, curriculum):
    evidence, _ = evidence_record(**base(world, curriculum, raw_score=7, max_score=8))
    row = stored(evidence)
    assert (row["kind"], row["score"], row["raw"]) == ("score", 0.875, {"raw_score": 7.0, "max_score": 8.0})


def test_a_callers_raw_payload_is_kept_as_given(world, curriculum):
    payload = {"statement": {"verb": "answered"}, "attempt": 2}
    evidence, _ = evidence_record(**base(world, curriculum, raw_score="3", max_score="4", raw=payload))
    assert (stored(evidence)["score"], stored(evidence)["raw"]) == (0.75, payload)


def test_a_rating_and_a_completion(world, curriculum):
    rating, _ = evidence_record(**base(world, curriculum, rating=3, note="Explained it to a peer"))
    completion, _ = evidence_record(**base(world, curriculum, kind="completion", source="lms"))
    assert {key: stored(rating)[key] for key in ("kind", "score", "rating", "note")} == {
        "kind": "rating",
        "score": None,
        "rating": 3,
        "note": "Explained it to a peer",
    }
    assert {key: stored(completion)[key] for key in ("kind", "score", "rating", "source")} == {
        "kind": "completion",
        "score": None,
        "rating": None,
        "source": "lms",
    }


@pytest.mark.parametrize(
    ("observed_at", "expected"),
    [
        # Naive means settings.TIME_ZONE (America/New_York, EDT in September: UTC-4).
        (datetime.datetime(2026, 9, 14, 10, 30), datetime.datetime(2026, 9, 14, 14, 30, tzinfo=UTC)),
        ("2026-09-14T10:30:00", datetime.datetime(2026, 9, 14, 14, 30, tzinfo=UTC)),
        ("2026-09-14", datetime.datetime(2026, 9, 14, 4, 0, tzinfo=UTC)),
        (datetime.date(2026, 12, 1), datetime.datetime(2026, 12, 1, 5, 0, tzinfo=UTC)),  # EST: UTC-5
        ("2026-09-14T10:30:00+02:00", datetime.datetime(2026, 9, 14, 8, 30, tzinfo=UTC)),
        ("2026-09-14T10:30:00Z", datetime.datetime(2026, 9, 14, 10, 30, tzinfo=UTC)),
        (" 2026-09-14 10:30 ", datetime.datetime(2026, 9, 14, 14, 30, tzinfo=UTC)),
    ],
)
def test_observed_at_forms(world, curriculum, observed_at, expected):
    evidence, _ = evidence_record(**base(world, curriculum, score=1.0, observed_at=observed_at))
    assert stored(evidence)["observed_at"] == expected


# --- idempotency ------------------------------------------------------------------------------


def test_the_same_external_id_twice_returns_the_first_row(world, curriculum):
    first, created_first = evidence_record(**base(world, curriculum, score=0.25, source="lms", external_id="a-1"))
    again, created_again = evidence_record(
        **base(world, curriculum, rating=4, source="lms", external_id="a-1", note="a different payload")
    )
    assert (created_first, created_again) == (True, False)
    assert again.pk == first.pk
    assert (again.kind, again.score, again.rating, again.note) == ("score", 0.25, None, "")
    assert Evidence.objects.count() == 1


def test_external_ids_are_unique_per_source_only(world, curriculum):
    lms, _ = evidence_record(**base(world, curriculum, score=0.5, source="lms", external_id="7"))
    quiz, created = evidence_record(**base(world, curriculum, score=0.5, source="quiz", external_id="7"))
    assert created is True
    assert lms.pk != quiz.pk
    assert Evidence.objects.count() == 2


def test_without_external_id_every_record_is_new(world, curriculum):
    evidence_record(**base(world, curriculum, score=0.5))
    _, created = evidence_record(**base(world, curriculum, score=0.5))
    assert created is True
    assert Evidence.objects.count() == 2


def test_numeric_external_ids_are_text(world, curriculum):
    first, _ = evidence_record(**base(world, curriculum, score=0.5, external_id=42))  # type: ignore[arg-type]
    again, created = evidence_record(**base(world, curriculum, score=0.5, external_id="42"))
    assert (first.external_id, again.pk, created) == ("42", first.pk, False)


# --- refused input: exact messages, nothing stored --------------------------------------------


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, {"__all__": [service.NO_VALUE]}),
        ({"score": 1.5}, {"score": [service.SCORE_RANGE]}),
        ({"score": -0.01}, {"score": [service.SCORE_RANGE]}),
        ({"score": "abc"}, {"score": [service.NOT_A_NUMBER]}),
        ({"score": float("nan")}, {"score": [service.NOT_A_NUMBER]}),
        ({"score": True}, {"score": [service.NOT_A_NUMBER]}),
        ({"score": 0.5, "rating": 3}, {"__all__": [service.SEVERAL_VALUES]}),
        ({"score": 0.5, "raw_score": 1, "max_score": 2}, {"__all__": [service.SEVERAL_VALUES]}),
        ({"raw_score": 3}, {"max_score": [service.RAW_NEEDS_MAX]}),
        ({"max_score": 3}, {"raw_score": [service.MAX_NEEDS_RAW]}),
        ({"raw_score": 11, "max_score": 10}, {"raw_score": [service.RAW_SCORE_RANGE]}),
        ({"raw_score": -1, "max_score": 10}, {"raw_score": [service.RAW_SCORE_RANGE]}),
        ({"raw_score": 0, "max_score": 0}, {"max_score": [service.MAX_SCORE_POSITIVE]}),
        (
            {"raw_score": "x", "max_score": "y"},
            {"raw_score": [service.NOT_A_NUMBER], "max_score": [service.NOT_A_NUMBER]},
        ),
        ({"rating": 5}, {"rating": [service.RATING_RANGE]}),
        ({"rating": 0}, {"rating": [service.RATING_RANGE]}),
        ({"rating": 2.5}, {"rating": [service.RATING_RANGE]}),
        ({"rating": True}, {"rating": [service.RATING_RANGE]}),
        ({"kind": "quiz", "score": 0.5}, {"kind": [service.BAD_KIND]}),
        ({"kind": "rating", "score": 0.5}, {"kind": ["Must be score for the value given."]}),
        ({"kind": "completion", "rating": 2}, {"kind": ["Must be rating for the value given."]}),
        ({"kind": "score"}, {"score": [service.SCORE_KIND_NEEDS_SCORE]}),
        ({"kind": "rating"}, {"rating": [service.RATING_KIND_NEEDS_RATING]}),
        ({"score": 0.5, "observed_at": "yesterday"}, {"observed_at": [service.BAD_DATE]}),
        ({"score": 0.5, "observed_at": "2026-02-30"}, {"observed_at": [service.BAD_DATE]}),
        ({"score": 0.5, "observed_at": None}, {"observed_at": [service.REQUIRED]}),
        ({"score": 0.5, "observed_at": 1_700_000_000}, {"observed_at": [service.BAD_DATE]}),
        ({"score": 0.5, "source": ""}, {"source": [service.BLANK_SOURCE]}),
        ({"score": 0.5, "source": "   "}, {"source": [service.BLANK_SOURCE]}),
        ({"score": 0.5, "source": "s" * 101}, {"source": ["At most 100 characters."]}),
        ({"score": 0.5, "external_id": " "}, {"external_id": [service.BLANK_EXTERNAL_ID]}),
        ({"score": 0.5, "external_id": "x" * 256}, {"external_id": ["At most 255 characters."]}),
        ({"score": 0.5, "note": "a\x00b"}, {"note": [service.NUL_CHARACTER]}),
        ({"score": 0.5, "note": 12}, {"note": [service.NOT_TEXT]}),
        ({"score": 0.5, "raw": ["not", "an", "object"]}, {"raw": [service.RAW_NOT_OBJECT]}),
        ({"score": 0.5, "raw": {"when": datetime.date(2026, 9, 1)}}, {"raw": [service.RAW_NOT_OBJECT]}),
        ({"score": 0.5, "raw": {"bad": "\x00"}}, {"raw": [service.NUL_CHARACTER]}),
    ],
)
def test_refused_values(world, curriculum, fields, errors):
    with pytest.raises(ValidationError) as refused:
        evidence_record(**{**base(world, curriculum), **fields})
    assert refused.value.message_dict == errors
    assert Evidence.objects.count() == 0


@pytest.mark.parametrize(
    ("who", "errors"),
    [
        ("unknown", {"student_id": [service.NO_SUCH_STUDENT]}),
        ("teacher", {"student_id": [service.NO_SUCH_STUDENT]}),  # a user without a learner profile
        ("text", {"student_id": [service.NOT_AN_ID]}),
        ("zero", {"student_id": [service.NOT_AN_ID]}),
        ("huge", {"student_id": [service.NOT_AN_ID]}),
        ("missing", {"student_id": [service.REQUIRED]}),
    ],
)
def test_refused_students(world, curriculum, who, errors):
    value = {
        "unknown": 10**9,
        "teacher": world.users["t_a1"].pk,
        "text": "s_a1_1",
        "zero": 0,
        "huge": 2**63,
        "missing": None,
    }[who]
    with pytest.raises(ValidationError) as refused:
        evidence_record(**base(world, curriculum, score=0.5, student_id=value))
    assert refused.value.message_dict == errors
    assert Evidence.objects.count() == 0


def test_refused_competencies(world, curriculum):
    for value, message in ((10**9, service.NO_SUCH_COMPETENCY), (curriculum.strand.pk, service.NOT_ASSESSABLE)):
        with pytest.raises(ValidationError) as refused:
            evidence_record(**base(world, curriculum, score=0.5, competency_id=value))
        assert refused.value.message_dict == {"competency_id": [message]}
    assert Evidence.objects.count() == 0


def test_every_error_of_an_item_is_reported_at_once(world, curriculum):
    with pytest.raises(ValidationError) as refused:
        evidence_record(student_id=10**9, competency_id=10**9, observed_at="soon", score=7, source="")
    assert refused.value.message_dict == {
        "student_id": [service.NO_SUCH_STUDENT],
        "competency_id": [service.NO_SUCH_COMPETENCY],
        "observed_at": [service.BAD_DATE],
        "score": [service.SCORE_RANGE],
        "source": [service.BLANK_SOURCE],
    }
    assert Evidence.objects.count() == 0


def test_a_scope_of_students_refuses_the_others_like_unknown_ones(world, curriculum):
    scope = LearnerProfile.objects.filter(pk=world.users["s_a1_2"].pk)
    with pytest.raises(ValidationError) as refused:
        evidence_record(**base(world, curriculum, score=0.5), students=scope)
    assert refused.value.message_dict == {"student_id": [service.NO_SUCH_STUDENT]}
    assert Evidence.objects.count() == 0
    _, created = evidence_record(**base(world, curriculum, score=0.5, student_id=world.users["s_a1_2"].pk))
    assert created is True


# --- batches ----------------------------------------------------------------------------------


def test_a_batch_answers_item_by_item_in_order(world, curriculum):
    s1, s2 = world.users["s_a1_1"].pk, world.users["s_a1_2"].pk
    before = evidence_record(**base(world, curriculum, score=0.1, source="lms", external_id="old"))[0]
    items = [
        {"student_id": s1, "competency_id": curriculum.nf1.pk, "observed_at": OBSERVED, "score": 0.9},
        {"student_id": s2, "competency_id": curriculum.nf2.pk, "observed_at": "2026-09-15", "rating": 2},
        {"student_id": s1, "competency_id": curriculum.nf1.pk, "observed_at": OBSERVED, "score": 0.3,
         "source": "lms", "external_id": "old"},
        {"student_id": s2, "competency_id": curriculum.nf1.pk, "observed_at": OBSERVED, "kind": "completion",
         "source": "lms", "external_id": "new"},
        {"student_id": s2, "competency_id": curriculum.nf1.pk, "observed_at": OBSERVED, "kind": "completion",
         "source": "lms", "external_id": "new"},  # an identical repeat inside the batch
    ]  # fmt: skip
    results = evidence_record_bulk(items=items, recorded_by=world.users["t_a1"])
    assert [result.created for result in results] == [True, True, False, True, False]
    assert results[2].id == before.pk
    assert results[4].id == results[3].id
    assert len({result.id for result in results}) == 4
    assert Evidence.objects.count() == 4
    rows = {row.pk: row for row in Evidence.objects.all()}
    assert [(rows[r.id].student_id, rows[r.id].kind, rows[r.id].score, rows[r.id].rating) for r in results] == [
        (s1, "score", 0.9, None),
        (s2, "rating", None, 2),
        (s1, "score", 0.1, None),
        (s2, "completion", None, None),
        (s2, "completion", None, None),
    ]
    assert {rows[r.id].recorded_by_id for r in results if r.created} == {world.users["t_a1"].pk}


def test_one_bad_item_refuses_the_batch_with_errors_by_index(world, curriculum):
    good = base(world, curriculum, score=0.5, external_id="g1")
    items: list[Any] = [
        good,
        {**good, "external_id": "g2", "score": 2, "colour": "red"},
        "not an object",
        {**good, "external_id": "g1", "score": 0.6},  # same key as item 0, different payload
        {**good, "external_id": "g3", "student_id": world.users["t_a1"].pk},
    ]
    with pytest.raises(EvidenceBatchError) as refused:
        evidence_record_bulk(items=items)
    assert refused.value.errors == {
        1: {"colour": [service.UNKNOWN_FIELD], "score": [service.SCORE_RANGE]},
        2: {"__all__": [service.NOT_AN_OBJECT]},
        3: {"external_id": ["Same source and external_id as item 0, with different values."]},
        4: {"student_id": [service.NO_SUCH_STUDENT]},
    }
    assert str(refused.value) == "4 invalid evidence item(s); nothing was stored."
    assert Evidence.objects.count() == 0
    assert evidence_validate(items=items) == refused.value.errors


def test_a_batch_holds_at_most_5000_items(world, curriculum):
    items = [base(world, curriculum, score=0.5)] * (EVIDENCE_BULK_MAX + 1)
    with pytest.raises(ValidationError) as refused:
        evidence_record_bulk(items=items)
    assert refused.value.message_dict == {"items": ["A batch holds at most 5,000 items; this one has 5,001."]}
    assert Evidence.objects.count() == 0
    assert evidence_record_bulk(items=[]) == []


class StatementSpy:
    """Counts the statements the service sends through its psycopg cursor, by first word."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.statements: list[str] = []
        original = psycopg.Cursor.execute

        def execute(cursor: psycopg.Cursor, query: Any, params: Any = None, **kwargs: Any) -> Any:
            self.statements.append(str(query).split()[0].upper())
            return original(cursor, query, params, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", execute)
        original_copy = psycopg.Cursor.copy

        def copy(cursor: psycopg.Cursor, statement: Any, *args: Any, **kwargs: Any) -> Any:
            self.statements.append(str(statement).split()[0].upper())
            return original_copy(cursor, statement, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "copy", copy)


def test_a_full_batch_is_one_insert_statement(world, curriculum, monkeypatch):
    spy = StatementSpy(monkeypatch)
    items = [
        base(world, curriculum, score=n / EVIDENCE_BULK_MAX, source="lms", external_id=f"x{n}")
        for n in range(EVIDENCE_BULK_MAX)
    ]
    results = evidence_record_bulk(items=items)
    assert sum(result.created for result in results) == EVIDENCE_BULK_MAX
    # In its savepoint: the students, the competencies, the ids; the rows into the session's staging table
    # (made if missing, emptied), then into the evidence table in one plain INSERT, in a savepoint of its own.
    staged = ["SAVEPOINT", "SELECT", "SELECT", "SELECT", "CREATE", "TRUNCATE", "COPY", "SAVEPOINT", "INSERT"]
    assert spy.statements == [*staged, "RELEASE", "RELEASE"]
    assert Evidence.objects.count() == EVIDENCE_BULK_MAX

    spy.statements.clear()
    again = evidence_record_bulk(items=items)
    # Every key is stored already: the plain INSERT fails and is undone, the idempotent INSERT stores
    # nothing, and the rows stored before are read back in one more statement.
    assert spy.statements == [*staged, "ROLLBACK", "INSERT", "SELECT", "RELEASE"]
    assert again == [EvidenceRecorded(result.id, False) for result in results]
    assert Evidence.objects.count() == EVIDENCE_BULK_MAX


def test_a_batch_with_one_stored_key_stores_the_new_ones_and_answers_the_stored_one(world, curriculum):
    (stored,) = evidence_record_bulk(items=[base(world, curriculum, score=0.2, source="lms", external_id="k2")])
    items = [base(world, curriculum, score=n / 10, source="lms", external_id=f"k{n}") for n in range(5)]
    results = evidence_record_bulk(items=items)
    assert [result.created for result in results] == [True, True, False, True, True]
    assert results[2].id == stored.id
    assert len({result.id for result in results}) == 5
    scores = dict(Evidence.objects.filter(source="lms").values_list("external_id", "score"))
    assert scores == {"k0": 0.0, "k1": 0.1, "k2": 0.2, "k3": 0.3, "k4": 0.4}


@pytest.mark.parametrize(
    "fields",
    [
        {"score": 0.75},
        {"score": 0.0, "external_id": "e-1", "source": "lms", "note": "n"},
        {"rating": 4, "note": ""},
        {"rating": 1, "source": "s", "external_id": None, "note": None},
        {"raw_score": 7, "max_score": 8},
        {"raw_score": 0.5, "max_score": 3, "external_id": "r"},
        {"raw_score": 1e-300, "max_score": 1e300},
        {"score": 1, "observed_at": "2026-09-14T10:30:00-04:00"},
        {"score": 0, "observed_at": "2026-09-14T10:30:00"},
        {"rating": 2, "observed_at": "2026-09-14"},
        {"rating": 2, "observed_at": datetime.datetime(2026, 9, 14, 10, 30)},
        {"rating": 2, "observed_at": datetime.date(2026, 9, 14)},
    ],
)
def test_the_short_path_gives_the_general_paths_row(world, curriculum, fields):
    item = base(world, curriculum, **fields)
    tz = service._school_time_zone()
    short_row, short_errors = service._normalize(item, tz)
    general_row, general_errors = service._normalize_general(item, tz)
    assert (short_row, short_errors) == (general_row, general_errors)
    assert short_row is not None


@pytest.mark.parametrize(
    "fields",
    [
        {"score": 2},
        {"score": 0.5, "observed_at": "2026-09-14T25:00"},
        {"score": 0.5, "observed_at": 1_700_000_000},
        {"raw_score": 3, "max_score": float("inf")},
        {"raw_score": float("nan"), "max_score": 3},
        {"raw_score": True, "max_score": 3},
        {"score": 0.5, "raw_score": 1, "max_score": 2},
        {"score": 0.5, "external_id": ""},
    ],
)
def test_unusual_items_take_the_general_path(world, curriculum, fields, monkeypatch):
    calls = []
    general = service._normalize_general
    monkeypatch.setattr(service, "_normalize_general", lambda *args: calls.append(1) or general(*args))
    service._normalize(base(world, curriculum, **fields), service._school_time_zone())
    assert calls == [1]


# --- concurrency: against the live database, each thread its own connection ------------------


def run_together(count: int, work: Any) -> list[Any]:
    """Run work(n) in `count` threads released at the same moment; each closes its own connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(n: int) -> None:
        try:
            barrier.wait()
            results[n] = work(n)
        except Exception as exc:  # reported by the assertion below
            results[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [result for result in results if isinstance(result, Exception)], results
    return results


@pytest.mark.django_db(transaction=True)
def test_eight_identical_requests_at_once_store_one_row():
    world = build_world()
    curriculum = make_curriculum()
    fields = base(world, curriculum, score=0.8, source="lms", external_id="attempt-1")

    results = run_together(8, lambda n: evidence_record(**fields))
    assert Evidence.objects.filter(source="lms", external_id="attempt-1").count() == 1
    assert Evidence.objects.count() == 1
    assert {evidence.pk for evidence, _ in results} == {Evidence.objects.get().pk}
    assert sorted(created for _, created in results) == [False] * 7 + [True]


@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_batches_store_each_key_once_without_deadlock():
    world = build_world()
    curriculum = make_curriculum()
    items = [base(world, curriculum, score=n / 100, source="lms", external_id=f"k{n}") for n in range(100)]
    # Half the clients send the batch reversed: keys are locked in one order whatever the item order.
    batches = [items if n % 2 == 0 else items[::-1] for n in range(8)]

    results = run_together(8, lambda n: evidence_record_bulk(items=batches[n]))
    assert Evidence.objects.count() == 100
    ids_by_key = dict(Evidence.objects.values_list("external_id", "pk"))
    for n, batch_results in enumerate(results):
        assert [result.id for result in batch_results] == [ids_by_key[item["external_id"]] for item in batches[n]]
    created = [0] * 100
    for n, batch_results in enumerate(results):
        for item, result in zip(batches[n], batch_results, strict=True):
            created[int(item["external_id"][1:])] += result.created
    assert created == [1] * 100
