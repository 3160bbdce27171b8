"""`manage.py import_evidence FILE.csv`: the whole file is checked first; any bad row is reported as
FILE:LINE: column: message and nothing from the file is stored. Also the pieces it is made of: a row of
text normalized as the service normalizes the same item, and the staged rows checked again before they are
stored."""

from __future__ import annotations

import datetime
import io
import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from mastery import evidence_csv
from mastery.evidence_csv import StagedEvidence, stage_evidence_csv
from mastery.models import Competency, Evidence
from mastery.services import EvidenceBatchError, EvidenceImport
from mastery.services import evidence as service
from profiles.models import LearnerProfile
from tests.mastery.test_evidence_service import Curriculum, make_curriculum
from tests.world import World

UTC = datetime.UTC
MISSING_VALUE = "Missing column: give score, raw_score with max_score, rating, or kind."


@pytest.fixture
def curriculum(db) -> Curriculum:
    return make_curriculum()


def write(tmp_path: Path, text: str, *, bom: bool = False, name: str = "evidence.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def run(path: Path, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_evidence", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(path: Path, *args: str) -> tuple[str, list[str]]:
    """(the command's error, the lines it wrote to stderr); asserts nothing was stored."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_evidence", str(path), *args, stdout=out, stderr=err)
    assert Evidence.objects.count() == 0
    assert out.getvalue() == ""
    return str(failure.value), err.getvalue().splitlines()


def rows() -> list[tuple[Any, ...]]:
    return list(
        Evidence.objects.order_by("pk").values_list(
            "student__username", "competency__code", "kind", "observed_at", "score", "rating", "source", "external_id",
            "note", "recorded_by__username",
        )
    )  # fmt: skip


GOOD = """student,competency,framework,observed_at,score,raw_score,max_score,rating,kind,source,external_id,note
s_a1_1,5.NF.1,Math,2026-09-14,0.5,,,,,,q-1,
s_a1_1,5.NF.2,,2026-09-14T10:30:00,,7,10,,,,q-2,from the quiz
s_a1_2,5.NF.2,,2026-09-15T10:30:00-05:00,,,,3,,teacher,,"Explained, clearly"
s_a1_2,5.NF.1,Math (state),2026-09-16 08:00,,,,,completion,lms,c-1,
"""


def test_a_good_file_is_stored_whole(world, curriculum, tmp_path):
    path = write(tmp_path, GOOD, bom=True)
    out, err = run(path, "--recorded-by", "t_a1")
    assert (out, err) == (f"{path}: 4 rows: 4 stored, 0 already present.\n", "")
    assert rows() == [
        ("s_a1_1", "5.NF.1", "score", datetime.datetime(2026, 9, 14, 4, 0, tzinfo=UTC), 0.5, None, "csv", "q-1", "",
         "t_a1"),
        ("s_a1_1", "5.NF.2", "score", datetime.datetime(2026, 9, 14, 14, 30, tzinfo=UTC), 0.7, None, "csv", "q-2",
         "from the quiz", "t_a1"),
        ("s_a1_2", "5.NF.2", "rating", datetime.datetime(2026, 9, 15, 15, 30, tzinfo=UTC), None, 3, "teacher", None,
         "Explained, clearly", "t_a1"),
        ("s_a1_2", "5.NF.1", "completion", datetime.datetime(2026, 9, 16, 12, 0, tzinfo=UTC), None, None, "lms", "c-1",
         "", "t_a1"),
    ]  # fmt: skip
    assert Evidence.objects.get(external_id="q-2").raw == {"raw_score": 7.0, "max_score": 10.0}
    assert Evidence.objects.get(external_id="c-1").competency_id == curriculum.other_nf1.pk


def test_importing_the_same_file_again_stores_only_rows_without_external_id(world, curriculum, tmp_path):
    path = write(tmp_path, GOOD)
    run(path)
    out, _ = run(path, "--source", "ignored-for-rows-with-a-source")
    # Rows 1, 2 have no source: the --source option now gives them another key, so they are new.
    assert out == f"{path}: 4 rows: 3 stored, 1 already present.\n"
    out, _ = run(path, "--source", "csv")
    assert out == f"{path}: 4 rows: 1 stored, 3 already present.\n"  # only the row without external_id
    assert Evidence.objects.count() == 8


def test_source_option_and_identical_repeats(world, curriculum, tmp_path):
    path = write(
        tmp_path,
        "Student , Competency,Observed_At,Score,External_ID\n"
        "s_a1_1,5.NF.2,2026-09-14,1,x-1\n"
        "s_a1_1,5.NF.2,2026-09-14,1,x-1\n"
        "\n"
        "s_a1_2,5.NF.2,2026-09-14,0,x-2\n",
    )
    out, _ = run(path, "--source", "quiz-export")
    assert out == f"{path}: 3 rows: 2 stored, 1 already present.\n"
    assert sorted(Evidence.objects.values_list("source", "external_id", "score")) == [
        ("quiz-export", "x-1", 1.0),
        ("quiz-export", "x-2", 0.0),
    ]


BAD = """student,competency,observed_at,score,rating,external_id,note
s_a1_1,5.NF.2,2026-09-14,0.5,,e-1,fine
nobody,5.NF.2,2026-09-14,0.5,,,
s_a1_1,9.ZZ.9,2026-09-14,0.5,,,
s_a1_1,5.NF.2,14/09/2026,0.5,,,
s_a1_1,5.NF.2,2026-09-14,1.5,,,
s_a1_1,5.NF.2,2026-09-14,,5,,
s_a1_1,5.NF.2,2026-09-14,0.5,3,,
s_a1_1,5.NF.2,2026-09-14,0.25,,e-1,changed
s_a1_1,5.NF.2,2026-09-14,0.5,
t_a1,5.NF.1,2026-09-14,,,,"a note
over two lines"
,,,0.5,,,
s_a1_1,5.NF,2026-09-14,0.5,,,
"""


def test_every_bad_row_is_reported_and_nothing_is_stored(world, curriculum, tmp_path):
    path = write(tmp_path, BAD)
    message, lines = refused(path)
    assert lines == [
        f"{path}:3: student: No student with this username.",
        f"{path}:4: competency: No competency with code '9.ZZ.9'.",
        f"{path}:5: observed_at: {service.BAD_DATE}",
        f"{path}:6: score: A score must be between 0 and 1.",
        f"{path}:7: rating: A rating is a whole number from 1 to 4.",
        f"{path}:8: (row): Give only one of: score, raw_score with max_score, rating.",
        f"{path}:9: external_id: Same source and external_id as line 2, with different values.",
        f"{path}:10: (row): 5 values, but the header has 7 columns.",
        f"{path}:11: student: No student with this username.",  # a teacher: no learner profile
        f"{path}:11: competency: Code '5.NF.1' is used in several frameworks; add a framework column or option.",
        f"{path}:11: (row): Give a score, a raw_score with max_score, or a rating (or kind completion).",
        f"{path}:13: student: This field is required.",
        f"{path}:13: competency: This field is required.",
        f"{path}:13: observed_at: This field is required.",
        f"{path}:14: competency: {service.NOT_ASSESSABLE}",
    ]
    assert message == f"15 error(s) on 11 line(s) of {path}; nothing was stored."


@pytest.mark.parametrize(
    ("header", "errors"),
    [
        ("student,competency,score", ["1: observed_at: Missing column."]),
        ("student,competency,observed_at,note", [f"1: score: {MISSING_VALUE}"]),
        ("student,competency,observed_at,raw_score", ["1: max_score: Missing column (needed with raw_score)."]),
        ("student,competency,observed_at,score,scor", ["1: scor: Unknown column."]),
        ("student,competency,observed_at,score,score", ["1: score: This column appears more than once."]),
        ("student,competency,observed_at,score,", ["1: (blank): Unknown column."]),
    ],
)  # fmt: skip
def test_header_errors(world, curriculum, tmp_path, header, errors):
    path = write(tmp_path, header + "\ns_a1_1,5.NF.2,2026-09-14,0.5\n")
    _, lines = refused(path)
    assert lines == [f"{path}:{error}" for error in errors]


def test_framework_option_and_column(world, curriculum, tmp_path):
    body = "student,competency,observed_at,score\ns_a1_1,5.NF.1,2026-09-14,0.5\n"
    ambiguous = write(tmp_path, body, name="a.csv")
    _, lines = refused(ambiguous)
    assert lines == [
        f"{ambiguous}:2: competency: Code '5.NF.1' is used in several frameworks; add a framework column or option."
    ]
    _, lines = refused(ambiguous, "--framework", "Nope")
    assert lines == [f"{ambiguous}:1: --framework: No such framework."]
    for framework in ("state-math", str(curriculum.other_framework.pk), "Math (state)"):
        Evidence.objects.all().delete()
        run(ambiguous, "--framework", framework)
        assert Evidence.objects.get().competency_id == curriculum.other_nf1.pk

    Evidence.objects.all().delete()
    column = write(
        tmp_path,
        "student,competency,framework,observed_at,score\n"
        "s_a1_1,5.NF.1,Math,2026-09-14,0.5\n"
        "s_a1_1,5.NF.2,Math (state),2026-09-14,0.5\n"
        "s_a1_1,5.NF.1,Physics,2026-09-14,0.5\n",
        name="b.csv",
    )
    _, lines = refused(column, "--framework", "state-math")
    assert lines == [
        f"{column}:3: competency: No competency with code '5.NF.2' in this framework.",
        f"{column}:4: framework: No such framework.",
    ]


def test_files_that_are_not_utf8_csv(world, curriculum, tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(b"student,competency,observed_at,score,note\ns_a1_1,5.NF.2,2026-09-14,0.5,caf\xe9\n")
    _, lines = refused(latin1)
    assert lines == [f"{latin1}:2: (file): Not UTF-8 text."]
    empty = write(tmp_path, "\n\n", name="empty.csv")
    _, lines = refused(empty)
    assert lines == [f"{empty}:1: (file): The file is empty: a header line is required."]
    broken = write(tmp_path, 'student,competency,observed_at,score\ns_a1_1,"5.NF.2"x,2026-09-14,0.5\n', name="q.csv")
    _, lines = refused(broken)
    assert lines == [f"{broken}:2: (file): Not readable as CSV: ',' expected after '\"'."]


def test_command_errors(world, curriculum, tmp_path):
    with pytest.raises(CommandError) as missing:
        run(tmp_path / "missing.csv")
    assert str(missing.value) == f"Cannot read {tmp_path / 'missing.csv'}: No such file or directory."
    path = write(tmp_path, GOOD)
    with pytest.raises(CommandError) as nobody:
        run(path, "--recorded-by", "nobody")
    assert str(nobody.value) == "--recorded-by: no user with this username."
    assert Evidence.objects.count() == 0


def test_more_rows_than_a_batch_are_stored_in_one_go(world, curriculum, tmp_path):
    lines = ["student,competency,observed_at,score,external_id"]
    lines += [f"s_a1_{1 + n % 2},5.NF.2,2026-09-14,{n % 11 / 10},r{n}" for n in range(6001)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    out, _ = run(path)
    assert out == f"{path}: 6001 rows: 6001 stored, 0 already present.\n"
    assert Evidence.objects.count() == 6001
    bad = write(tmp_path, "\n".join([*lines, "s_a1_1,5.NF.2,2026-09-14,2,r-last"]) + "\n", name="bad.csv")
    Evidence.objects.all().delete()
    _, errors = refused(bad)
    assert errors == [f"{bad}:6003: score: A score must be between 0 and 1."]


def test_logs_name_no_student(world: World, curriculum, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    run(write(tmp_path, GOOD, name="good.csv"))
    with pytest.raises(CommandError):
        run(write(tmp_path, BAD, name="bad.csv"))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "import_evidence: 4 rows, 4 stored, 0 already present" in logged
    assert "import_evidence refused: 15 errors on 11 lines" in logged
    for username in world.users:
        assert username not in logged


# --- files of more than one chunk (names first seen late, repeats and errors across chunks) -------


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(evidence_csv, "ROWS_PER_CHUNK", 3)


def test_a_file_read_in_chunks_is_checked_and_stored_whole(world, curriculum, tmp_path, small_chunks):
    path = write(
        tmp_path,
        "student,competency,framework,observed_at,score,external_id\n"
        "s_a1_1,5.NF.2,,2026-09-14,0.5,k-1\n"
        "\n"
        "s_a1_1,5.NF.2,,2026-09-14,0.6,k-2\n"
        "s_a1_1,5.NF.2,,2026-09-14,0.7,\n"
        "s_a1_2,5.NF.1,Math,2026-09-14,0.8,k-3\n"  # a student and a framework first named in the second chunk
        "s_a1_1,5.NF.2,,2026-09-14,0.5,k-1\n"  # the same observation as line 2: stored once
        "s_a1_2,5.NF.1,state-math,2026-09-15,1,k-4\n",
    )
    out, _ = run(path)
    assert out == f"{path}: 6 rows: 5 stored, 1 already present.\n"
    assert list(Evidence.objects.order_by("pk").values_list("student__username", "competency_id", "score",
                                                            "external_id")) == [
        ("s_a1_1", curriculum.nf2.pk, 0.5, "k-1"),
        ("s_a1_1", curriculum.nf2.pk, 0.6, "k-2"),
        ("s_a1_1", curriculum.nf2.pk, 0.7, None),
        ("s_a1_2", curriculum.nf1.pk, 0.8, "k-3"),
        ("s_a1_2", curriculum.other_nf1.pk, 1.0, "k-4"),
    ]  # fmt: skip


def test_errors_in_every_chunk_are_reported(world, curriculum, tmp_path, small_chunks):
    path = write(
        tmp_path,
        "student,competency,observed_at,score,external_id\n"
        "s_a1_1,5.NF.2,2026-09-14,0.5,k-1\n"
        "s_a1_1,5.NF.2,2026-09-14,0.5,k-2\n"
        "s_a1_1,5.NF.2,2026-09-14,7,k-3\n"
        "s_a1_1,5.NF.2,2026-09-14,0.5,k-4\n"
        "nobody,5.NF.2,2026-09-14,0.5,k-5\n"
        "s_a1_1,5.NF.2,2026-09-14,0.5\n"
        "s_a1_2,5.NF.2,2026-09-14,0.9,k-1\n"  # line 2's key, other values
        "s_a1_2,5.NF.2,2026-09-14,0.5,k-4\n",  # line 5's key, other values
    )
    message, lines = refused(path)
    assert lines == [
        f"{path}:4: score: A score must be between 0 and 1.",
        f"{path}:6: student: No student with this username.",
        f"{path}:7: (row): 4 values, but the header has 5 columns.",
        f"{path}:8: external_id: Same source and external_id as line 2, with different values.",
        f"{path}:9: external_id: Same source and external_id as line 5, with different values.",
    ]
    assert message == f"5 error(s) on 5 line(s) of {path}; nothing was stored."


def test_a_file_larger_than_a_chunk(world, curriculum, tmp_path):
    count = evidence_csv.ROWS_PER_CHUNK + 2
    lines = ["student,competency,observed_at,score,external_id"]
    lines += [f"s_a1_1,5.NF.2,2026-09-14,{n % 11 / 10},r{n}" for n in range(count - 1)]
    lines.append("s_a1_2,5.NF.1,2026-09-14,1,r-last")  # names the second chunk alone has, and an ambiguous code
    path = write(tmp_path, "\n".join(lines) + "\n")
    _, errors = refused(path)
    assert errors == [f"{path}:{count + 1}: competency: {evidence_csv.AMBIGUOUS_CODE.format(code='5.NF.1')}"]
    out, _ = run(path, "--framework", "Math")
    assert out == f"{path}: {count} rows: {count} stored, 0 already present.\n"
    assert Evidence.objects.filter(student__username="s_a1_2", competency=curriculum.nf1).count() == 1
    assert Evidence.objects.count() == count


# --- importing again: only what is new is stored ---------------------------------------------------


def test_a_file_overlapping_one_imported_before_stores_only_its_new_rows(world, curriculum, tmp_path):
    header = "student,competency,observed_at,score,external_id\n"
    first = write(tmp_path, header + "".join(f"s_a1_1,5.NF.2,2026-09-14,0.5,k-{n}\n" for n in range(10)), name="a.csv")
    run(first)
    second = write(
        tmp_path,
        header + "".join(f"s_a1_2,5.NF.2,2026-09-15,1,k-{n}\n" for n in range(5, 15)) + "s_a1_2,5.NF.2,2026-09-15,1,\n",
        name="b.csv",
    )
    out, _ = run(second)
    assert out == f"{second}: 11 rows: 6 stored, 5 already present.\n"
    # The rows stored first stay as they were (first stored wins, whatever the new file says).
    assert list(Evidence.objects.order_by("pk").values_list("external_id", "student__username", "score")) == [
        *((f"k-{n}", "s_a1_1", 0.5) for n in range(10)),
        *((f"k-{n}", "s_a1_2", 1.0) for n in range(10, 15)),
        (None, "s_a1_2", 1.0),
    ]


# --- files that are not UTF-8: the line of the first bad byte, however far into the file ---------


def test_a_bad_byte_late_in_a_long_file(world, curriculum, tmp_path):
    good = "".join(f"s_a1_1,5.NF.2,2026-09-14,0.5,k-{n}\n" for n in range(30_000))
    path = tmp_path / "late.csv"
    path.write_bytes(
        b"student,competency,observed_at,score,external_id\n"
        + b"s_a1_1,5.NF.2,2026-09-14,3,k-bad\n"
        + good.encode()
        + b"s_a1_1,5.NF.2,2026-09-14,0.5,caf\xe9\n"
    )
    _, lines = refused(path)
    # Rows read before the bad byte were checked; nothing after it could be.
    assert lines == [f"{path}:2: score: A score must be between 0 and 1.", f"{path}:30003: (file): Not UTF-8 text."]


def test_the_line_of_a_bad_byte_after_a_character_split_between_blocks():
    block = 1 << 20
    head = b"x" * (block - 5) + b"\n\n\n\n"  # four lines end before the block boundary ...
    data = head + "é".encode() + b"\nok\n\xff\n"  # ... "é" spans it (2 bytes), the bad byte is on line 7
    assert data.index("é".encode()) == block - 1
    assert evidence_csv._line_of_first_bad_byte(io.BytesIO(data)) == 7
    assert evidence_csv._line_of_first_bad_byte(io.BytesIO(b"a\nb\xff\n")) == 2
    assert evidence_csv._line_of_first_bad_byte(io.BytesIO(b"a\nb\n\xc3")) == 3  # ends inside a character


# --- a row of text: the service's rules, and its row -----------------------------------------------

TEXT = {"observed_at": "2026-09-14", "score": "", "raw_score": "", "max_score": "", "rating": "", "kind": "",
        "source": "csv", "external_id": "", "note": ""}  # fmt: skip


def normalized_text(student_id: int | None, competency_id: int | None, **cells: str) -> tuple[Any, Any]:
    text = {**TEXT, **cells}
    return service.normalize_text_item(
        student_id, competency_id, text["observed_at"], text["score"], text["raw_score"], text["max_score"],
        text["rating"], text["kind"], text["source"], text["external_id"], text["note"], service._school_time_zone()
    )  # fmt: skip


def normalized_item(student_id: int | None, competency_id: int | None, **cells: str) -> tuple[Any, Any]:
    """The same item as a JSON client sends it: text values, and no key for an empty cell."""
    text = {**TEXT, **cells}
    item = {name: value for name, value in text.items() if value or name == "note"}
    return service._normalize({**item, "student_id": student_id, "competency_id": competency_id},
                              service._school_time_zone())  # fmt: skip


@pytest.mark.parametrize(
    "cells",
    [
        {"score": "0.5"},
        {"score": "1", "external_id": "e-1", "note": "fine"},
        {"score": "0", "observed_at": "2026-09-14T10:30:00-05:00"},
        {"score": "1e-1", "observed_at": "2026-09-14 08:00"},
        {"raw_score": "7", "max_score": "10"},
        {"raw_score": "0", "max_score": "0.5"},
        {"rating": "4"},
        {"rating": "04"},
        {"kind": "completion"},
        {"kind": "score", "score": "0.25"},
        {"kind": "rating", "rating": "2"},
        {"score": " 0.5 "},
        # Not valid: the same errors as for the item.
        {"score": "1.5"},
        {"score": "nan"},
        {"score": "0.5", "rating": "2"},
        {"rating": "5"},
        {"raw_score": "11", "max_score": "10"},
        {"raw_score": "1", "max_score": "0"},
        {"raw_score": "1", "max_score": "inf"},
        {},
        {"kind": "rating"},
        {"kind": "score", "rating": "2"},
        {"score": "0.5", "observed_at": "14/09/2026"},
        {"score": "0.5", "source": " "},
        {"score": "0.5", "source": "s" * 101},
        {"score": "0.5", "external_id": "e" * 256},
        {"score": "0.5", "note": "a\x00b"},
    ],
)
def test_a_row_of_text_is_normalized_as_the_item_it_stands_for(world, curriculum, cells):
    ids = (world.users["s_a1_1"].pk, curriculum.nf2.pk)
    assert normalized_text(*ids, **cells) == normalized_item(*ids, **cells)


def test_a_row_of_text_exactly(world, curriculum):
    student, competency = world.users["s_a1_1"].pk, curriculum.nf2.pk
    midnight = datetime.datetime(2026, 9, 14, 4, 0, tzinfo=UTC)
    row, errors = normalized_text(student, competency, raw_score="7", max_score="10", external_id="e-1")
    assert (errors, row[:3], row[4:], row[3] == midnight) == (
        {}, (student, competency, "score"), (0.7, None, "csv", "e-1", "", '{"raw_score":7.0,"max_score":10.0}'), True
    )  # fmt: skip
    row, errors = normalized_text(student, competency, rating="3", note="ok")
    assert (errors, row[:3], row[4:]) == ({}, (student, competency, "rating"), (None, 3, "csv", None, "ok", "{}"))
    assert normalized_text(None, competency, score="2") == (
        None, {"student_id": [service.REQUIRED], "score": [service.SCORE_RANGE]}
    )  # fmt: skip


# --- staged rows are checked again before they are stored ------------------------------------------


def test_staged_rows_whose_student_or_competency_changed_are_not_stored(world, curriculum, tmp_path):
    path = write(
        tmp_path,
        "student,competency,observed_at,score\n"
        "s_a1_1,5.NF.2,2026-09-14,0.5\n"
        "s_a1_2,5.NF.2,2026-09-14,0.5\n"
        "s_a1_1,5.NF.1,2026-09-14,0.5\n",
    )
    with pytest.raises(EvidenceBatchError) as refused_now, transaction.atomic():
        staging = EvidenceImport()
        with path.open("rb") as file:
            staged = stage_evidence_csv(file, staging, framework="Math")
        assert staged == StagedEvidence(rows=3, errors=[])
        LearnerProfile.objects.filter(user=world.users["s_a1_2"]).delete()
        Competency.objects.filter(pk=curriculum.nf1.pk).update(assessable=False)
        staging.store(None)
    assert refused_now.value.errors == {
        3: {"student_id": [service.NO_SUCH_STUDENT]},
        4: {"competency_id": [service.NOT_ASSESSABLE]},
    }
    assert Evidence.objects.count() == 0
    assert LearnerProfile.objects.filter(user=world.users["s_a1_2"]).exists()  # rolled back with the rest
