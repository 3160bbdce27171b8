"""A OneRoster 1.1/1.2 CSV import, staged: parse → validate → preview → apply → report.

`import_oneroster` runs the whole import in one transaction. The preview is the same run rolled back:
its counts are exactly what applying would do. Any error (or a bulk file that would deactivate more
than the allowed share of rows, unless confirmed) rolls everything back: nothing is applied.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ..models import District, School, SourceIdentity
from .apply import Importer
from .issues import Issue, Issues
from .parse import RosterSet, UnreadableSource, parse_set, read_source
from .parse_json import parse_json_set
from .validate import Known, validate

logger = logging.getLogger(__name__)

# A bulk file may deactivate at most this share of the active rows it covers unless the import is confirmed.
MAX_DEACTIVATION_SHARE = getattr(settings, "ONEROSTER_MAX_DEACTIVATION_SHARE", 0.20)
STAGES = ["parsed", "validated", "previewed", "applied"]


class RolledBack(Exception):
    """Raised inside the transaction to undo a preview or a refused import."""


@dataclass
class Report:
    version: str = ""
    stages: list[str] = field(default_factory=list)  # the stages reached, in order
    counts: dict[str, Counter] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    applied: bool = False
    # Refused only because bulk files deactivate too much: applying with confirmation would succeed.
    needs_confirmation: bool = False
    writes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, and per kind of record applied

    @property
    def ok(self) -> bool:
        return not self.errors

    def rows(self) -> list[tuple[str, int, int, int, int]]:
        """(entity, create, update, deactivate, unchanged) per entity, in apply order."""
        return [
            (entity, c["create"], c["update"], c["deactivate"], c["unchanged"]) for entity, c in self.counts.items()
        ]

    def as_text(self) -> str:
        lines = [f"OneRoster {self.version or '?'}: {' → '.join(self.stages)}"]
        lines.append(f"{'entity':<18} {'create':>7} {'update':>7} {'deactivate':>10} {'unchanged':>9}")
        lines += [f"{e:<18} {c:>7} {u:>7} {d:>10} {n:>9}" for e, c, u, d, n in self.rows()]
        lines += [f"warning: {issue}" for issue in self.warnings]
        lines += [f"error: {issue}" for issue in self.errors]
        lines.append("applied" if self.applied else "nothing applied")
        return "\n".join(lines)


def known_rows(system: str, district: District, issues: Issues) -> Known:
    """What earlier imports of this source linked; a source already feeding another district is refused."""
    identities = SourceIdentity.objects.filter(system=system)
    known = Known()
    schools = dict(identities.filter(entity_type="org.school").values_list("external_id", "object_id"))
    foreign = School.objects.filter(pk__in=schools.values()).exclude(district=district)
    if foreign.exists():
        issues.error("", 0, "", f"the source “{system}” already feeds another district; use another source name")
    known.orgs = {sid: "school" for sid in schools}
    known.orgs.update(
        {sid: "district" for sid in identities.filter(entity_type="org.district").values_list("external_id", flat=True)}
    )
    sessions = identities.filter(entity_type="academicSession").values_list("external_id", flat=True)
    known.sessions = {external_id.rsplit("@", 1)[0] for external_id in sessions}
    known.classes = set(identities.filter(entity_type="classes").values_list("external_id", flat=True))
    known.users = set(identities.filter(entity_type="users").values_list("external_id", flat=True))
    return known


def parse_and_validate(path: Path, *, district: District, system: str) -> tuple[RosterSet, Report]:
    started = time.perf_counter()
    try:
        files = read_source(path)
    except UnreadableSource as error:
        files = {}
        unreadable = str(error)
    else:
        unreadable = ""
    # REST JSON collections come without a manifest; a CSV set always has one.
    is_json = "manifest.csv" not in files and any(name.endswith(".json") for name in files)
    roster = parse_json_set(files) if is_json else parse_set(files)
    if unreadable:
        roster.issues.errors = [Issue(path.name, 0, "", unreadable)]
    report = Report(version=roster.version, stages=["parsed"])
    report.seconds["parse"] = time.perf_counter() - started
    if roster.version:
        # The files that parsed are validated even when another did not: the report lists every problem.
        started = time.perf_counter()
        validate(roster, known_rows(system, district, roster.issues))
        report.stages.append("validated")
        report.seconds["validate"] = time.perf_counter() - started
    return roster, report


def _check_deactivations(importer: Importer, issues: Issues) -> bool:
    """An error per kind of record a bulk file would deactivate too much of; whether there was one."""
    refused = False
    for entity, (deactivated, active) in importer.result.deactivation_shares.items():
        if deactivated > MAX_DEACTIVATION_SHARE * active:
            refused = True
            issues.error(
                "",
                0,
                "",
                f"the bulk files would deactivate {deactivated} of {active} active {entity} "
                f"(more than {MAX_DEACTIVATION_SHARE:.0%}); confirm the deactivations to apply them",
            )
    return refused


def import_oneroster(
    path: Path, *, district: District, system: str, dry_run: bool = False, confirm_deactivations: bool = False
) -> Report:
    roster, report = parse_and_validate(path, district=district, system=system)
    issues = roster.issues
    if not issues.errors:
        importer = Importer(roster, district=district, system=system, issues=issues)
        try:
            with transaction.atomic():
                result = importer.run()
                report.counts, report.writes = result.counts, result.writes
                report.seconds.update(result.seconds)
                report.stages.append("previewed")
                if not confirm_deactivations:
                    report.needs_confirmation = not issues.errors and _check_deactivations(importer, issues)
                if dry_run or issues.errors:
                    raise RolledBack
                report.applied = True
                report.stages.append("applied")
        except RolledBack:
            pass
    report.errors, report.warnings = issues.errors, issues.warnings
    # Counts only: rows hold personal data, and a log line must not.
    logger.info(
        "oneroster import source=%s district=%s applied=%s writes=%s errors=%s warnings=%s",
        system,
        district.pk,
        report.applied,
        report.writes,
        len(report.errors),
        len(report.warnings),
    )
    return report
