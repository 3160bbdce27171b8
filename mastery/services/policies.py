"""Mastery policy versions, including BKT parameters fitted to a framework's own evidence.

A policy is never edited: every change is a new version. `bkt_policy_fit` estimates BKT per
competency from the stored scored evidence (EM in mastery/bkt_fit.py), keeps a fit only where it
predicts held-out students better than the parameters in force, and stores the kept ones as a new
version with `policy_version_create`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from mastery import bkt_fit
from mastery.bkt_fit import FitParams
from mastery.models import Competency, Framework, MasteryMethod, MasteryPolicy
from mastery.selectors import evidence_responses_for_fit

# One student in HOLDOUT_FOLDS (a seeded split of the framework's students) is held out to check a fit.
HOLDOUT_FOLDS = 5
# Stored parameters are rounded to this many decimals; a fit that rounds to the parameters in force
# changes nothing.
STORED_DIGITS = 4
# Competencies are fitted together in batches of at most this many responses (memory stays bounded).
BATCH_RESPONSES = 500_000
# Evidence is read from the database in chunks of this many rows.
READ_CHUNK = 50_000


@transaction.atomic
def policy_version_create(
    *, framework: Framework, method: str, parameters: Mapping[str, Any], note: str, created_by: Any
) -> MasteryPolicy:
    """Store the framework's next policy version. The framework row is locked first, so two writers
    get consecutive versions instead of a unique-constraint error."""
    locked = Framework.objects.select_for_update().get(pk=framework.pk)
    if method not in MasteryMethod.values:
        raise ValidationError({"method": f"Unknown mastery method {method!r}."})
    parameters = dict(parameters)
    if method == MasteryMethod.BKT:
        _check_bkt_parameters(parameters)
    latest = MasteryPolicy.objects.filter(framework=locked).aggregate(latest=Max("version"))["latest"] or 0
    policy = MasteryPolicy(
        framework=locked,
        version=latest + 1,
        method=method,
        parameters=parameters,
        note=note,
        created_by=created_by,
    )
    policy.full_clean()
    policy.save()
    return policy


def _check_bkt_parameters(parameters: Mapping[str, Any]) -> None:
    """Every BKT probability given (top level and per competency) is a number in [0, 1]."""
    per_competency = parameters.get("per_competency") or {}
    if not isinstance(per_competency, Mapping):
        raise ValidationError({"parameters": "per_competency must be an object."})
    sets = {"": parameters, **{f"per_competency[{key}].": value for key, value in per_competency.items()}}
    for prefix, values in sets.items():
        if not isinstance(values, Mapping):
            raise ValidationError({"parameters": f"{prefix or 'parameters'} must be an object."})
        for name in bkt_fit.PARAM_NAMES:
            if name not in values:
                continue
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValidationError({"parameters": f"{prefix}{name} must be a probability in [0, 1], not {value!r}."})


# --- fitting BKT to a framework's evidence -------------------------------------------------------------


@dataclass(frozen=True)
class CompetencyFit:
    """What the fit did for one competency. Parameters are rounded to STORED_DIGITS."""

    competency_id: int
    code: str
    status: str  # "kept" | "rejected" | "too_little_data"
    students: int  # students with any scored evidence on it
    students_enough: int  # ... with at least BKT_FIT_MIN_RESPONSES of them
    responses: int
    current: dict[str, float]  # parameters in force
    fitted: dict[str, float] | None = None  # on every student when kept; on the training students otherwise
    holdout_students: int = 0
    holdout_ll_current: float | None = None  # held-out log-likelihood under the parameters in force
    holdout_ll_fitted: float | None = None  # ... under the parameters fitted on the other students
    reason: str = ""

    @property
    def changed(self) -> bool:
        return self.status == "kept" and self.fitted != self.current


@dataclass
class FitReport:
    framework: Framework
    previous: MasteryPolicy | None  # the policy in force before
    seed: int
    forgetting: bool
    min_students: int
    min_responses: int
    competencies: list[CompetencyFit] = field(default_factory=list)
    without_evidence: int = 0  # assessable competencies with no scored evidence at all
    policy: MasteryPolicy | None = None  # the new version; None when nothing changed
    skipped: str = ""  # why nothing was fitted at all (e.g. the framework's policy is not BKT)

    @property
    def changed(self) -> list[CompetencyFit]:
        return [item for item in self.competencies if item.changed]


def _latest_policy(framework: Framework) -> MasteryPolicy | None:
    return MasteryPolicy.objects.filter(framework=framework).order_by("-version").first()


def _params_in_force(policy: MasteryPolicy | None, competency_id: int, defaults: FitParams) -> FitParams:
    """Per competency, key by key: the policy's per_competency entry, else the policy's own, else settings."""
    if policy is None:
        return defaults
    parameters = policy.parameters or {}
    own = FitParams.from_dict({k: v for k, v in parameters.items() if k in bkt_fit.PARAM_NAMES}, defaults)
    entry = (parameters.get("per_competency") or {}).get(str(competency_id)) or {}
    return FitParams.from_dict({k: v for k, v in entry.items() if k in bkt_fit.PARAM_NAMES}, own)


def _read_responses(framework: Framework) -> dict[str, np.ndarray]:
    """Scored evidence as arrays (student id, competency id, correct), ordered per competency × student
    by observed_at."""
    columns: list[list[np.ndarray]] = [[], [], []]
    chunk: list[tuple[int, int, int]] = []

    def flush() -> None:
        if chunk:
            block = np.array(chunk, dtype=np.int64)
            for index in range(3):
                columns[index].append(block[:, index])
            chunk.clear()

    for row in evidence_responses_for_fit(framework_id=framework.pk).iterator(chunk_size=READ_CHUNK):
        chunk.append(row)
        if len(chunk) >= READ_CHUNK:
            flush()
    flush()
    names = ("student", "competency", "correct")
    return {
        name: np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        for name, parts in zip(names, columns, strict=True)
    }


def _batches(competency_ids: list[int], sizes: dict[int, int]) -> list[list[int]]:
    batches: list[list[int]] = [[]]
    total = 0
    for competency_id in competency_ids:
        if batches[-1] and total + sizes[competency_id] > BATCH_RESPONSES:
            batches.append([])
            total = 0
        batches[-1].append(competency_id)
        total += sizes[competency_id]
    return [batch for batch in batches if batch]


def bkt_policy_fit(
    *, framework: Framework, seed: int = 0, forgetting: bool = False, created_by: Any = None
) -> FitReport:
    """Fit BKT per competency of `framework` to its stored scored evidence and store the fits that
    beat the parameters in force as a new policy version (nothing stored when none changed).

    A competency is fitted only where at least BKT_FIT_MIN_STUDENTS students have at least
    BKT_FIT_MIN_RESPONSES scored responses. The framework's students are split (seeded); the fit on
    the training students is kept only if it gives the held-out students' responses a higher
    log-likelihood than the parameters in force; a kept fit is then refitted on every student and
    stored under parameters["per_competency"]. Competencies not fitted keep what they had
    (framework parameters, else settings BKT_DEFAULTS).
    """
    conf: dict[str, Any] = settings.PLPLATFORM
    defaults = FitParams.from_dict(conf["BKT_DEFAULTS"])
    previous = _latest_policy(framework)
    report = FitReport(
        framework=framework,
        previous=previous,
        seed=seed,
        forgetting=forgetting,
        min_students=conf["BKT_FIT_MIN_STUDENTS"],
        min_responses=conf["BKT_FIT_MIN_RESPONSES"],
    )
    if previous is not None and previous.method != MasteryMethod.BKT:
        report.skipped = (
            f"the framework's policy v{previous.version} uses {previous.get_method_display()}, not BKT; "
            "BKT parameters are fitted only for BKT policies"
        )
        return report
    data = _read_responses(framework)
    codes = dict(Competency.objects.filter(framework=framework).values_list("id", "code"))
    assessable = set(Competency.objects.filter(framework=framework, assessable=True).values_list("id", flat=True))
    competency_ids, competency_code = np.unique(data["competency"], return_inverse=True)
    student_ids, student_code = np.unique(data["student"], return_inverse=True)
    report.without_evidence = len(assessable - set(competency_ids.tolist()))
    if not competency_ids.shape[0]:
        return report
    # Responses per (competency, student): who has enough.
    pair = competency_code * student_ids.shape[0] + student_code
    pair_keys, per_pair = np.unique(pair, return_counts=True)
    pair_competency = pair_keys // student_ids.shape[0]
    k = competency_ids.shape[0]
    students = np.bincount(pair_competency, minlength=k)
    enough = np.bincount(pair_competency, weights=per_pair >= report.min_responses, minlength=k).astype(int)
    responses = np.bincount(competency_code, minlength=k)
    holdout = bkt_fit.student_folds(student_ids.shape[0], HOLDOUT_FOLDS, seed)[student_code] == 0
    current = {int(cid): _params_in_force(previous, int(cid), defaults) for cid in competency_ids}
    results: dict[int, CompetencyFit] = {}
    eligible = []
    for index, cid in enumerate(competency_ids.tolist()):
        base = {
            "competency_id": cid,
            "code": codes.get(cid, str(cid)),
            "students": int(students[index]),
            "students_enough": int(enough[index]),
            "responses": int(responses[index]),
            "current": current[cid].as_dict(STORED_DIGITS),
        }
        if enough[index] < report.min_students:
            results[cid] = CompetencyFit(
                **base,
                status="too_little_data",
                reason=(
                    f"{enough[index]} students with at least {report.min_responses} responses; "
                    f"{report.min_students} needed"
                ),
            )
        else:
            eligible.append(index)
            results[cid] = CompetencyFit(**base, status="pending")
    sizes = {index: int(responses[index]) for index in eligible}
    for batch in _batches(eligible, sizes):
        outcomes = _fit_batch(batch, data, competency_code, student_code, holdout, competency_ids, current, report)
        for cid, outcome in outcomes.items():
            results[cid] = replace(results[cid], **outcome)
    report.competencies = [results[cid] for cid in competency_ids.tolist()]
    if report.changed:
        report.policy = _store(report, defaults, created_by, data)
    return report


def _fit_batch(
    batch: list[int],
    data: dict[str, np.ndarray],
    competency_code: np.ndarray,
    student_code: np.ndarray,
    holdout: np.ndarray,
    competency_ids: np.ndarray,
    current: dict[int, FitParams],
    report: FitReport,
) -> dict[int, dict[str, Any]]:
    """Fit the competencies at positions `batch` of competency_ids: training fit, held-out check, refit.
    Returns the CompetencyFit fields to set, per competency id."""
    local = np.full(competency_ids.shape[0], -1)
    local[batch] = np.arange(len(batch))
    rows = local[competency_code] >= 0
    comp, stud, correct = local[competency_code[rows]], student_code[rows], data["correct"][rows]
    held = holdout[rows]
    in_force = [current[int(competency_ids[index])] for index in batch]

    def sequences(mask: np.ndarray) -> bkt_fit.Responses:
        # Rows are already ordered per competency × student by observed_at: input order is the order.
        return bkt_fit.responses_from_arrays(
            competency=comp[mask], student=stud[mask], correct=correct[mask], n_competencies=len(batch)
        )

    def fit(mask: np.ndarray) -> list[bkt_fit.FitResult]:
        return bkt_fit.fit(sequences(mask), forgetting=report.forgetting, seed=report.seed, first_start=in_force)

    trained = fit(~held)
    check = sequences(held)
    ll_fitted = bkt_fit.log_likelihood(check, [result.params for result in trained])
    ll_current = bkt_fit.log_likelihood(check, in_force)
    n_students = int(student_code.max()) + 1
    held_pairs = np.unique(comp[held] * n_students + stud[held])
    held_students = np.bincount(held_pairs // n_students, minlength=len(batch))
    held_responses = np.bincount(comp[held], minlength=len(batch))
    keep = [bool(held_responses[j] > 0 and ll_fitted[j] > ll_current[j]) for j in range(len(batch))]
    refitted = fit(np.ones_like(held)) if any(keep) else trained
    outcomes = {}
    for j, index in enumerate(batch):
        if held_responses[j] == 0:
            reason = "no held-out student has responses on it"
        elif keep[j]:
            reason = "the fit beats the parameters in force on held-out students"
        else:
            reason = "the parameters in force predict held-out students at least as well"
        outcomes[int(competency_ids[index])] = {
            "status": "kept" if keep[j] else "rejected",
            "fitted": (refitted[j] if keep[j] else trained[j]).params.as_dict(STORED_DIGITS),
            "holdout_students": int(held_students[j]),
            "holdout_ll_current": round(float(ll_current[j]), 4) if held_responses[j] else None,
            "holdout_ll_fitted": round(float(ll_fitted[j]), 4) if held_responses[j] else None,
            "reason": reason,
        }
    return outcomes


def _store(report: FitReport, defaults: FitParams, created_by: Any, data: dict[str, np.ndarray]) -> MasteryPolicy:
    framework, previous = report.framework, report.previous
    with transaction.atomic():
        Framework.objects.select_for_update().get(pk=framework.pk)
        latest = _latest_policy(framework)
        if (latest and latest.pk) != (previous and previous.pk):
            raise ValidationError(
                f"The policy of {framework} changed while fitting (now v{latest.version if latest else 0}); "
                "nothing was stored. Run the fit again."
            )
        parameters = dict(previous.parameters or {}) if previous is not None else {}
        for name in bkt_fit.PARAM_NAMES:
            parameters.setdefault(name, getattr(defaults, name))
        per_competency = dict(parameters.get("per_competency") or {})
        for item in report.changed:
            assert item.fitted is not None
            per_competency[str(item.competency_id)] = item.fitted
        parameters["per_competency"] = per_competency
        kept = ", ".join(item.code for item in report.changed)
        note = (
            f"BKT fitted by mastery_fit to {int(data['correct'].shape[0])} scored responses "
            f"({'with' if report.forgetting else 'without'} forgetting, seed {report.seed}): new parameters for "
            f"{len(report.changed)} competenc{'y' if len(report.changed) == 1 else 'ies'} ({kept}), each beating the "
            f"previous parameters on held-out students. Other competencies keep their parameters."
        )
        return policy_version_create(
            framework=framework, method=MasteryMethod.BKT, parameters=parameters, note=note, created_by=created_by
        )


__all__ = ["CompetencyFit", "FitReport", "bkt_policy_fit", "policy_version_create"]
