"""`manage.py import_evidence FILE.csv`: the whole file is checked first; any bad row is reported as
FILE:LINE: column: message and nothing from the file is stored."""

from __future__ import annotations

import datetime
import io
import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from mastery.models import Evidence
from mastery.services import evidence as service
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
