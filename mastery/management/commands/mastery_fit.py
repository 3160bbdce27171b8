"""Fit BKT to a framework's own evidence: `python manage.py mastery_fit [--framework ID_OR_NAME]`.

Per competency with enough data, EM estimates the parameters; a fit is kept only if it predicts
held-out students better than the parameters in force. Kept fits become a new policy version;
the report says, per competency, what was fitted, kept or rejected, and why.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mastery.models import Framework
from mastery.services.policies import CompetencyFit, FitReport, bkt_policy_fit

LABELS = {"p_init": "P(L0)", "p_learn": "learn", "p_guess": "guess", "p_slip": "slip", "p_forget": "forget"}
STATUS = {"kept": "fitted, kept", "rejected": "fitted, rejected", "too_little_data": "too little data"}


def _frameworks(value: str | None) -> list[Framework]:
    if value is None:
        return list(Framework.objects.order_by("id"))
    if value.isdigit():
        found = list(Framework.objects.filter(pk=int(value)))
    else:
        found = list(Framework.objects.filter(name=value).order_by("id"))
    if not found:
        raise CommandError(f"No framework with id or name {value!r}.")
    if len(found) > 1:
        ids = ", ".join(f"{framework.pk} ({framework.subject})" for framework in found)
        raise CommandError(f"{len(found)} frameworks are named {value!r}: give the id ({ids}).")
    return found


def _params(values: dict[str, float] | None) -> str:
    if values is None:
        return "-"
    return ", ".join(f"{LABELS[name]} {values[name]:g}" for name in LABELS)


def _change(old: dict[str, float], new: dict[str, float]) -> str:
    return ", ".join(
        f"{LABELS[name]} {old[name]:g} → {new[name]:g}" if old[name] != new[name] else f"{LABELS[name]} {old[name]:g}"
        for name in LABELS
    )


def _line(item: CompetencyFit) -> list[str]:
    head = (
        f"  {item.code}: {STATUS[item.status]} — {item.students_enough} of {item.students} students with enough "
        f"responses, {item.responses} responses"
    )
    if item.status == "too_little_data":
        return [head, f"      {item.reason}; keeps {_params(item.current)}"]
    lines = [head]
    if item.holdout_ll_current is not None:
        lines.append(
            f"      held-out log-likelihood ({item.holdout_students} students): "
            f"in force {item.holdout_ll_current:.2f}, fit {item.holdout_ll_fitted:.2f} — {item.reason}"
        )
    else:
        lines.append(f"      {item.reason}")
    assert item.fitted is not None
    if item.status == "kept":
        if item.changed:
            lines.append(f"      {_change(item.current, item.fitted)}")
        else:
            lines.append(f"      the fit rounds to the parameters in force: {_params(item.current)}")
    else:
        lines.append(f"      keeps {_params(item.current)} (fit was {_params(item.fitted)})")
    return lines


def render(report: FitReport) -> str:
    framework = report.framework
    in_force = f"policy v{report.previous.version}" if report.previous else "no policy yet (settings defaults)"
    lines = [f"Framework {framework.name} (id {framework.pk}), {in_force}"]
    if report.skipped:
        lines.append(f"  Nothing fitted: {report.skipped}.")
        return "\n".join(lines)
    lines.append(
        f"  BKT {'with' if report.forgetting else 'without'} forgetting, seed {report.seed}; fitted where at least "
        f"{report.min_students} students have at least {report.min_responses} scored responses; a fit is kept when it "
        "beats the parameters in force on held-out students (log-likelihood)."
    )
    for item in report.competencies:
        lines.extend(_line(item))
    if report.without_evidence:
        count = report.without_evidence
        lines.append(
            f"  {count} other assessable {'competency has' if count == 1 else 'competencies have'} no scored evidence."
        )
    if report.policy is not None:
        count = len(report.changed)
        lines.append(
            f"Stored policy v{report.policy.version}: new parameters for {count} "
            f"competenc{'y' if count == 1 else 'ies'}."
        )
    else:
        lines.append("Nothing stored: no competency's parameters changed.")
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Fit BKT parameters per competency to the stored scored evidence and store the fits that beat the "
        "parameters in force on held-out students as a new mastery policy version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--framework", help="framework id or name (default: every framework)")
        parser.add_argument("--seed", type=int, default=0, help="seeds the held-out split and the EM restarts")
        parser.add_argument("--forgetting", action="store_true", help="fit P(forget) too (default: 0)")

    def handle(self, *args: Any, **options: Any) -> None:
        frameworks = _frameworks(options["framework"])
        if not frameworks:
            self.stdout.write("No frameworks.")
            return
        for framework in frameworks:
            try:
                report = bkt_policy_fit(framework=framework, seed=options["seed"], forgetting=options["forgetting"])
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from None
            self.stdout.write(render(report))
