"""Unmatched statements: an admin maps the person and/or activity they name, and they are replayed.

A mapping usually unlocks more than one statement (a student's every statement names the same mbox), so
a replay goes through every open unmatched statement of the tool. A replayed statement that now records
evidence (or records nothing: no result, or a duplicate) is resolved; one still unmatched stays open
with its current reason.

The reads of the district admin's page are in unmatched_selectors.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from mastery.interop import caliper, xapi
from mastery.interop.tools import (
    IngestReport,
    Observation,
    Void,
    activity_identity_create,
    observations_ingest,
    person_identity_create,
)
from mastery.models import Competency, ToolCredential, UnmatchedStatement
from profiles.models import User


@dataclass(frozen=True)
class ReplayReport:
    resolved: int
    still_unmatched: int
    recorded: int = 0  # evidence rows the replay created (a resolved statement may record none: a duplicate)


def _parse(row: UnmatchedStatement) -> Observation | Void | None:
    if row.format == UnmatchedStatement.Format.XAPI:
        return xapi.parse_statement(row.statement)
    parsed = caliper.parse_event(row.statement)
    return parsed if isinstance(parsed, Observation) else None


@transaction.atomic
def unmatched_replay(*, tool: ToolCredential) -> ReplayReport:
    """Ingest the tool's open unmatched statements again, with the mappings that exist now. The rows stay
    (the record of what arrived and when): resolved ones get `resolved_at`, the others their current reason."""
    rows = list(tool.unmatched.select_for_update().filter(resolved_at__isnull=True).order_by("created_at", "id"))
    parsed = [item for item in map(_parse, rows) if item is not None]
    report: IngestReport = observations_ingest(
        tool=tool,
        observations=[item for item in parsed if isinstance(item, Observation)],
        voids=[item for item in parsed if isinstance(item, Void)],
    )
    still = {row.statement_id: row for row in report.unmatched_rows}
    tool.unmatched.filter(pk__in=[row.pk for row in rows]).exclude(statement_id__in=still).update(
        resolved_at=timezone.now()
    )
    for row in rows:
        now_unmatched = still.get(row.statement_id)
        if now_unmatched is not None and (row.reason, row.person, row.activity) != (
            now_unmatched.reason,
            now_unmatched.person,
            now_unmatched.activity,
        ):
            row.reason, row.person, row.activity = now_unmatched.reason, now_unmatched.person, now_unmatched.activity
            row.save(update_fields=["reason", "person", "activity"])
    return ReplayReport(resolved=len(rows) - len(still), still_unmatched=len(still), recorded=len(report.stored))


@transaction.atomic
def unmatched_map(
    *, unmatched: UnmatchedStatement, student: User | None = None, competency: Competency | None = None
) -> ReplayReport:
    """Map what the statement names that did not match (its person to `student`, its activity to
    `competency`; SourceIdentity rows of the tool's source), then replay the tool's open statements.

    One mapping of a tool at a time (its credential row is locked; the tool's own sends are not held up), and
    the statement is read again under that lock: one resolved meanwhile (mapped by someone else, voided) is
    refused rather than mapped twice, and a replay that emptied its person or activity is seen."""
    ToolCredential.objects.select_for_update(no_key=True).filter(pk=unmatched.tool_id).first()
    unmatched = UnmatchedStatement.objects.select_related("tool").get(pk=unmatched.pk)
    if unmatched.resolved_at is not None:
        raise ValueError("This statement is resolved already: nothing to map.")
    tool = unmatched.tool
    if student is not None:
        if not unmatched.person:
            raise ValueError("This statement's person is already mapped (or it names none).")
        person_identity_create(tool=tool, person=unmatched.person, student=student)
    if competency is not None:
        if not unmatched.activity:
            raise ValueError("This statement's activity is already mapped.")
        activity_identity_create(tool=tool, activity=unmatched.activity, competency=competency)
    return unmatched_replay(tool=tool)
