"""Our BKT (mastery/bkt_fit.py) against pyBKT 1.4.3 with its C++ core, on the same folds of as.csv.

    .venv/bin/python bench/pybkt_compare.py --install   # once: builds pyBKT into bench/.venv-pybkt (~20 s)
    .venv/bin/python bench/pybkt_compare.py             # prints the side-by-side table

Both models see the same 5 folds by student (seed 42, mastery.bkt_fit.student_folds, as
`manage.py mastery_evaluate --seed 42` uses them): per fold, fit on the other students, predict every
response of the held-out students from their earlier ones. AUC and RMSE are computed by the same
function over all pooled predictions. Fit time is summed over the 5 folds, the fastest of --repeats
runs; pyBKT's is its `Model.fit` call (`Model(seed=42, num_fits=5, parallel=False)`), and its EM alone
(the `_fit` calls, without its pandas data preparation) is shown beside it. Ours counts building the
sequences and EM (5 restarts).

pyBKT runs in its own virtual environment (it needs numpy 2.4, scikit-learn < 1.8 and Python 3.11;
see ../shared/data/PYBKT.md): this script calls that environment's python on itself with --worker.
Data: ASSISTments 2009-2010 skill builder subset (see ../shared/data/SOURCES.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "as.csv"
VENV = ROOT / "bench" / ".venv-pybkt"
VENV_PYTHON = VENV / "bin" / "python"
PINS = ["numpy==2.4.6", "pandas==3.1.1", "scikit-learn==1.7.2", "wheel"]
COLUMNS = {"student": "user_id", "competency": "skill_name", "correct": "correct", "order": "order_id"}
FOLDS = 5
SEED = 42
NUM_FITS = 5


def install_commands(python: str) -> list[list[str]]:
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--disable-pip-version-check"]
    return [
        [python, "-m", "venv", str(VENV)],
        [*pip, *PINS],
        [*pip, "--no-cache-dir", "--no-build-isolation", "--no-binary", "pybkt", "pybkt==1.4.3"],
        [str(VENV_PYTHON), "-c", "from pyBKT.fit import E_step; print(E_step.__file__)"],
    ]


def install(python: str | None) -> None:
    interpreter = python or shutil.which("python3.11")
    if interpreter is None:
        sys.exit("pyBKT 1.4.3 builds with Python 3.11: none found on PATH (give one with --python).")
    for command in install_commands(interpreter):
        print("+", " ".join(command), flush=True)
        subprocess.run(command, check=True)


# --- inside pyBKT's environment --------------------------------------------------------------------------


def worker(job_path: str) -> None:
    """Fit and predict with pyBKT on the folds of the job; write predictions and times as JSON."""
    import numpy as np
    import pandas as pd
    from pyBKT.fit import E_step
    from pyBKT.models import Model

    if not E_step.__file__.endswith(".so"):
        sys.exit(f"pyBKT is the pure-Python build ({E_step.__file__}); rebuild it with --install.")
    job = json.loads(Path(job_path).read_text())
    df = pd.read_csv(job["csv"], dtype={COLUMNS["student"]: str}).drop(columns=["Unnamed: 0"])
    fold = df[COLUMNS["student"]].map(job["fold_of_student"]).to_numpy()
    core_seconds = [0.0]
    original_fit = Model._fit

    def timed_fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return original_fit(self, *args, **kwargs)
        finally:
            core_seconds[0] += time.perf_counter() - started

    Model._fit = timed_fit
    results = {}
    for forgetting in (False, True):
        best_fit = best_core = float("inf")
        predicted = np.full(len(df), np.nan)
        for repeat in range(job["repeats"]):
            fit_seconds = 0.0
            core_seconds[0] = 0.0
            for index in range(job["folds"]):
                model = Model(seed=job["seed"], num_fits=job["num_fits"], parallel=False)
                started = time.perf_counter()
                model.fit(data=df[fold != index], forgets=forgetting)
                fit_seconds += time.perf_counter() - started
                if repeat == 0:
                    out = model.predict(data=df[fold == index])
                    predicted[out.index.to_numpy()] = out["correct_predictions"].to_numpy()
            best_fit, best_core = min(best_fit, fit_seconds), min(best_core, core_seconds[0])
        results["forgetting" if forgetting else "standard"] = {
            "predicted": predicted.tolist(),
            "fit_seconds": best_fit,
            "core_seconds": best_core,
        }
    Path(job["out"]).write_text(json.dumps(results))


# --- in the project's environment -------------------------------------------------------------------------


def ours(log: dict, fold_of_student, repeats: int) -> dict:  # type: ignore[no-untyped-def]
    from mastery import bkt_fit

    results = {}
    for forgetting in (False, True):
        runs = [
            bkt_fit.cross_validate(
                competency=log["competency"],
                student=log["student"],
                correct=log["correct"],
                order=log["order"],
                seed=SEED,
                forgetting=forgetting,
                restarts=NUM_FITS,
                fold_of_student=fold_of_student,
            )
            for _ in range(repeats)
        ]
        results["forgetting" if forgetting else "standard"] = {
            "predicted": runs[0].predicted,
            "fit_seconds": min(run.fit_seconds for run in runs),
        }
    return results


def compare(repeats: int, as_json: bool) -> None:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from mastery import bkt_fit
    from mastery.management.commands.mastery_evaluate import read_response_log

    log = read_response_log(
        DATA,
        student_col=COLUMNS["student"],
        competency_col=COLUMNS["competency"],
        correct_col=COLUMNS["correct"],
        order_col=COLUMNS["order"],
    )
    fold_of_student = bkt_fit.student_folds(len(log["student_names"]), FOLDS, SEED)
    with tempfile.TemporaryDirectory() as tmp:
        job = {
            "csv": str(DATA),
            "fold_of_student": dict(zip(log["student_names"].tolist(), fold_of_student.tolist(), strict=True)),
            "folds": FOLDS,
            "seed": SEED,
            "num_fits": NUM_FITS,
            "repeats": repeats,
            "out": str(Path(tmp) / "pybkt.json"),
        }
        (Path(tmp) / "job.json").write_text(json.dumps(job))
        subprocess.run([str(VENV_PYTHON), __file__, "--worker", str(Path(tmp) / "job.json")], check=True)
        theirs = json.loads(Path(job["out"]).read_text())
    mine = ours(log, fold_of_student, repeats)
    correct = log["correct"]
    rows = []
    for setting in ("standard", "forgetting"):
        for name, result in (("pyBKT 1.4.3 (C++)", theirs[setting]), ("ours (numpy)", mine[setting])):
            predicted = np.asarray(result["predicted"], dtype=float)
            if np.isnan(predicted).any():
                sys.exit(f"{name} left responses without a prediction")
            rows.append(
                {
                    "model": name,
                    "setting": setting,
                    "auc": bkt_fit.auc(correct, predicted),
                    "rmse": bkt_fit.rmse(correct, predicted),
                    "fit_seconds": result["fit_seconds"],
                    "em_seconds": result.get("core_seconds"),
                }
            )
    targets = []
    for setting in ("standard", "forgetting"):
        pybkt, us = (row for row in rows if row["setting"] == setting)
        targets.append(
            {
                "setting": setting,
                "auc_met": us["auc"] >= pybkt["auc"] - 0.005,
                "time_met": us["fit_seconds"] <= pybkt["fit_seconds"],
                "speedup": pybkt["fit_seconds"] / us["fit_seconds"],
            }
        )
    if as_json:
        print(json.dumps({"rows": rows, "targets": targets}))
        return
    print(
        f"as.csv: {len(correct)} responses, {len(log['student_names'])} students, "
        f"{len(log['competency_names'])} skills; {FOLDS}-fold cross-validation by student, seed {SEED}; "
        f"{NUM_FITS} EM restarts; fit time = sum over folds, fastest of {repeats}"
    )
    print(f"{'setting':<11} {'model':<18} {'AUC':>7} {'RMSE':>7} {'fit time':>10} {'(EM only)':>10}")
    for row in rows:
        em = f"{row['em_seconds']:.3f} s" if row["em_seconds"] is not None else ""
        print(
            f"{row['setting']:<11} {row['model']:<18} {row['auc']:>7.4f} {row['rmse']:>7.4f} "
            f"{row['fit_seconds']:>8.3f} s {em:>10}"
        )
    for target in targets:
        print(
            f"{target['setting']}: AUC >= pyBKT - 0.005 {'met' if target['auc_met'] else 'NOT MET'}; "
            f"fit time <= pyBKT {'met' if target['time_met'] else 'NOT MET'} ({target['speedup']:.1f}x faster)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--install", action="store_true", help="build pyBKT with its C++ core into bench/.venv-pybkt")
    parser.add_argument("--python", help="the Python 3.11 for --install (default: python3.11 on PATH)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each model; the fastest counts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    if args.install:
        install(args.python)
    if not VENV_PYTHON.exists():
        print("pyBKT is not installed. Run this script with --install, or:")
        for command in install_commands(args.python or "python3.11"):
            print("  " + " ".join(command))
        sys.exit(1)
    compare(args.repeats, args.json)


if __name__ == "__main__":
    main()
