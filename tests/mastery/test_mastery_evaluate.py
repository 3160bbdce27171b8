"""`manage.py mastery_evaluate`: reading a response log, student-level cross-validation, the figures."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.shared_data import shared_path

AS_COLUMNS = ["--student-col", "user_id", "--competency-col", "skill_name", "--order-col", "order_id"]

# Two students, each on a competency of their own, rows out of order. With 2 folds each fold's
# training student has no response on the held-out student's competency, so every prediction comes
# from settings BKT_DEFAULTS (P(L0) .25, learn .15, guess .2, slip .1) and can be worked by hand:
#   s1 on A, by `when`: wrong, right, right, right -> P(correct) .375, .3288, .604672, .816970
#   s2 on B: right, wrong, wrong                   -> P(correct) .375, .662, .421183
TINY = """learner,skill,right,when
s1,A,1,3
s1,A,0,1
s2,B,1,10
s1,A,1,2
s2,B,0,11
s1,A,1,4
s2,B,0,12
"""
TINY_COLUMNS = [
    "--student-col",
    "learner",
    "--competency-col",
    "skill",
    "--correct-col",
    "right",
    "--order-col",
    "when",
]


def run(*args: str) -> str:
    out = StringIO()
    call_command("mastery_evaluate", *args, stdout=out)
    return out.getvalue()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "log.csv"
    path.write_text(text)
    return str(path)


def test_exact_figures_on_a_hand_made_log(tmp_path):
    result = json.loads(run(write(tmp_path, TINY), *TINY_COLUMNS, "--folds", "2", "--json"))
    assert result == {
        "file": str(tmp_path / "log.csv"),
        "responses": 7,
        "students": 2,
        "competencies": 2,
        "folds": 2,
        "seed": 0,
        "forgetting": False,
        "restarts": 5,
        # Positive-negative pairs ranked right: 5.5 of 12 (the two first responses tie at .375).
        "auc": 0.458333,
        "rmse": 0.505284,
        "log_loss": 0.699977,
        "n_predictions": 7,
        "fit_seconds": result["fit_seconds"],
    }


def test_text_report(tmp_path):
    text = run(write(tmp_path, TINY), *TINY_COLUMNS, "--folds", "2", "--seed", "3")
    lines = text.splitlines()
    assert lines[0] == f"{tmp_path / 'log.csv'}: 7 responses, 2 students, 2 competencies"
    assert lines[1] == "2-fold cross-validation by student (seed 3), standard BKT, 5 EM restarts"
    assert lines[2:7] == [
        "  AUC          0.4583",
        "  RMSE         0.5053",
        "  log-loss     0.7000",
        "  predictions  7",
        lines[6],
    ]
    assert lines[6].startswith("  fit time     ") and lines[6].endswith(" s (all folds)")


def test_real_response_log_default_and_forgetting():
    as_csv = shared_path("data", "as.csv")
    standard = json.loads(run(str(as_csv), *AS_COLUMNS, "--seed", "42", "--json"))
    assert (standard["responses"], standard["students"], standard["competencies"]) == (10791, 902, 2)
    assert standard["n_predictions"] == 10791
    assert (standard["auc"], standard["rmse"], standard["log_loss"]) == (0.636133, 0.419885, 0.535697)
    forgetting = json.loads(run(str(as_csv), *AS_COLUMNS, "--seed", "42", "--forgetting", "--json"))
    assert (forgetting["auc"], forgetting["rmse"], forgetting["log_loss"]) == (0.656737, 0.416942, 0.529221)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("learner,skill,right\ns1,A,1\n", "no column 'when' (the order column; use --order-col to name another)"),
        ("learner,skill,right,when\ns1,A,1,1\ns1,A,2,2\n", "line 3: column 'right' must be 0 or 1, not '2'"),
        ("learner,skill,right,when\ns1,A,,1\n", "line 2: column 'right' must be 0 or 1, not ''"),
        ("learner,skill,right,when\ns1,A,1,1\ns1,A,1,soon\n", "line 3: column 'when' must be a number, not 'soon'"),
        ("learner,skill,right,when\ns1,A,1,nan\n", "line 2: column 'when' must be a number, not 'nan'"),
        ("learner,skill,right,when\ns1,,1,1\n", "line 2: column 'skill' is empty"),
        ("learner,skill,right,when\ns1,A,1\n", "line 2: 3 fields, expected 4"),
        ("learner,skill,right,when\n", "has no responses"),
        ("", "is empty"),
    ],
)
def test_bad_input_names_the_column_and_line(tmp_path, text, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(write(tmp_path, text), *TINY_COLUMNS)


def test_more_folds_than_students_and_a_missing_file_are_refused(tmp_path):
    with pytest.raises(CommandError, match=r"--folds must be between 2 and the number of students \(2\), not 3"):
        run(write(tmp_path, TINY), *TINY_COLUMNS, "--folds", "3")
    with pytest.raises(CommandError, match="Cannot read"):
        run(str(tmp_path / "missing.csv"))
