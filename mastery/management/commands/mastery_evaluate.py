"""Cross-validate BKT on any response log: `python manage.py mastery_evaluate FILE.csv`.

Student-level k-fold: each fold's students are held out, every competency is fitted on the other
students, and each held-out response is predicted from the earlier responses of its student on that
competency (the first from P(L0)). Prints AUC, RMSE, log-loss, the number of predictions and the
summed fit time; --json prints the same as one JSON object.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mastery import bkt_fit

CORRECT_VALUES = {"0": 0, "1": 1, "0.0": 0, "1.0": 1}


def read_response_log(
    path: Path, *, student_col: str, competency_col: str, correct_col: str, order_col: str
) -> dict[str, Any]:
    """Columns of a CSV response log as arrays, validated; CommandError names the column and line."""
    students: list[str] = []
    competencies: list[str] = []
    correct: list[int] = []
    order: list[float] = []
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise CommandError(f"{path} is empty.")
        names = [name.strip() for name in header]
        index = {}
        for role, column in (
            ("student", student_col),
            ("competency", competency_col),
            ("correct", correct_col),
            ("order", order_col),
        ):
            if column not in names:
                raise CommandError(
                    f"{path}: no column '{column}' (the {role} column; use --{role}-col to name another). "
                    f"Columns: {', '.join(name or '(unnamed)' for name in names)}."
                )
            index[role] = names.index(column)
        width = max(index.values()) + 1
        for row in reader:
            line = reader.line_num
            if not any(field.strip() for field in row):
                continue
            if len(row) < width:
                raise CommandError(f"{path}, line {line}: {len(row)} fields, expected {len(names)}.")
            student = row[index["student"]].strip()
            competency = row[index["competency"]].strip()
            for column, value in ((student_col, student), (competency_col, competency)):
                if not value:
                    raise CommandError(f"{path}, line {line}: column '{column}' is empty.")
            raw_correct = row[index["correct"]].strip()
            if raw_correct not in CORRECT_VALUES:
                raise CommandError(f"{path}, line {line}: column '{correct_col}' must be 0 or 1, not {raw_correct!r}.")
            raw_order = row[index["order"]].strip()
            try:
                position = float(raw_order)
            except ValueError:
                position = math.nan
            if not math.isfinite(position):
                raise CommandError(f"{path}, line {line}: column '{order_col}' must be a number, not {raw_order!r}.")
            students.append(student)
            competencies.append(competency)
            correct.append(CORRECT_VALUES[raw_correct])
            order.append(position)
    if not correct:
        raise CommandError(f"{path} has no responses.")
    student_names, student_codes = np.unique(np.array(students), return_inverse=True)
    competency_names, competency_codes = np.unique(np.array(competencies), return_inverse=True)
    return {
        "student": student_codes.astype(np.int64),
        "competency": competency_codes.astype(np.int64),
        "correct": np.array(correct, dtype=np.int8),
        "order": np.array(order, dtype=np.float64),
        "student_names": student_names,
        "competency_names": competency_names,
    }


def _rounded(value: float | int | None, digits: int) -> float | int | None:
    if value is None or isinstance(value, int):
        return value
    return None if not math.isfinite(value) else round(value, digits)


class Command(BaseCommand):
    help = (
        "Student-level k-fold cross-validation of BKT on a CSV response log (columns student, competency, "
        "correct 0/1, order): prints AUC, RMSE, log-loss, the number of predictions and the fit time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV response log with a header row")
        parser.add_argument("--student-col", default="student")
        parser.add_argument("--competency-col", default="competency")
        parser.add_argument("--correct-col", default="correct", help="0 or 1")
        parser.add_argument("--order-col", default="order", help="numeric; responses are ordered by it")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--seed", type=int, default=0, help="seeds the fold split and the EM restarts")
        parser.add_argument("--restarts", type=int, default=5, help="random EM restarts per fit")
        parser.add_argument("--forgetting", action="store_true", help="fit P(forget) too (default: 0)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        log = read_response_log(
            path,
            student_col=options["student_col"],
            competency_col=options["competency_col"],
            correct_col=options["correct_col"],
            order_col=options["order_col"],
        )
        n_students = len(log["student_names"])
        folds = options["folds"]
        if folds < 2 or folds > n_students:
            raise CommandError(f"--folds must be between 2 and the number of students ({n_students}), not {folds}.")
        if options["restarts"] < 1:
            raise CommandError("--restarts must be at least 1.")
        conf: dict[str, Any] = settings.PLPLATFORM
        fallback = bkt_fit.FitParams.from_dict(conf["BKT_DEFAULTS"])
        result = bkt_fit.cross_validate(
            competency=log["competency"],
            student=log["student"],
            correct=log["correct"],
            order=log["order"],
            folds=folds,
            seed=options["seed"],
            forgetting=options["forgetting"],
            restarts=options["restarts"],
            fallback=fallback,
        )
        metrics = result.metrics(log["correct"])
        summary = {
            "file": str(path),
            "responses": int(log["correct"].shape[0]),
            "students": n_students,
            "competencies": len(log["competency_names"]),
            "folds": folds,
            "seed": options["seed"],
            "forgetting": options["forgetting"],
            "restarts": options["restarts"],
            "auc": _rounded(metrics["auc"], 6),
            "rmse": _rounded(metrics["rmse"], 6),
            "log_loss": _rounded(metrics["log_loss"], 6),
            "n_predictions": metrics["n_predictions"],
            "fit_seconds": round(result.fit_seconds, 4),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        model = "BKT with forgetting" if options["forgetting"] else "standard BKT"

        def shown(value: float | int | None, digits: int = 4) -> str:
            return "n/a (one outcome only)" if value is None else f"{value:.{digits}f}"

        self.stdout.write(
            f"{path}: {summary['responses']} responses, {n_students} students, "
            f"{summary['competencies']} competencies\n"
            f"{folds}-fold cross-validation by student (seed {options['seed']}), {model}, "
            f"{options['restarts']} EM restarts\n"
            f"  AUC          {shown(summary['auc'])}\n"
            f"  RMSE         {shown(summary['rmse'])}\n"
            f"  log-loss     {shown(summary['log_loss'])}\n"
            f"  predictions  {summary['n_predictions']}\n"
            f"  fit time     {result.fit_seconds:.3f} s (all folds)"
        )
