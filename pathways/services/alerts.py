"""Pacing alerts (DESIGN.md section 4): computed nightly, each with the numbers behind it and a plain reason.

An alert opens when its condition holds on two nightly runs of consecutive school days and resolves
itself when the condition has cleared on two (`rules.next_memory`); what the previous night saw is
kept in `AlertCondition`. A rerun of a night finds every condition already evaluated for that day and
writes nothing. A teacher can acknowledge an alert or resolve it with a note; an alert a teacher
resolved is not raised again until its condition has cleared and then held anew.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from pathways import rules
from pathways.models import AlertCondition, PacingAlert, PathStep
from profiles.models import User

from .pacing import NightFacts, PathFacts, pacing_of
from .paths import Mastered

State = PathStep.State
Key = tuple[int, str, int | None, int | None]  # (student, kind, path, competency)

NO_SUCH_ALERT = "No such alert."
ALREADY_RESOLVED = "This alert is resolved already."
RESOLVE_NEEDS_NOTE = "Say what was done: resolving an alert needs a note."
SELF_RESOLVED = "Resolved by itself: the condition cleared on two school days in a row (last checked {day})."


# --- the conditions of one path on its night -------------------------------------------------------------


def path_conditions(path: PathFacts, facts: NightFacts, figures: rules.Pacing) -> list[rules.Condition]:
    """Every alert condition that holds for this path tonight."""
    config, graph, calendar, on = facts.settings, facts.graph, path.calendar, path.on
    mastered = facts.mastered.get(path.student_id, Mastered())
    days = [
        d for d in facts.evidence.get(path.student_id, []) if graph.framework.get(d.competency_id) == path.framework_id
    ]
    held: list[rules.Condition | None] = [rules.behind_pace_condition(figures, path_id=path.path_id, goals=path.goals)]

    active = [s for s in path.steps if s.state != State.SKIPPED]
    by_competency: dict[int, list] = {}
    for day in days:
        by_competency.setdefault(day.competency_id, []).append(day)
    for step in active:
        # Only this term's work counts: a gap left from an earlier year (evidence before the path starts)
        # is a gap-filling step on the path, not a student stuck on it now.
        own = [d for d in by_competency.get(step.competency_id, []) if d.day >= path.start_date]
        if not own or step.competency_id in mastered.on:
            continue
        first = own[0].day
        held.append(
            rules.stuck_condition(
                path_id=path.path_id,
                competency_id=step.competency_id,
                code=graph.code.get(step.competency_id, str(step.competency_id)),
                first_evidence_on=first,
                school_days_in_progress=calendar.days_between(first, on),
                evidence_count=sum(d.count for d in own),
                scored_responses=sum(d.scored for d in own),
                settings=config,
            )
        )

    last = days[-1].day if days else None
    reference = last if last is not None else path.start_date - datetime.timedelta(days=1)
    held.append(
        rules.inactive_condition(
            path_id=path.path_id,
            last_evidence_on=last,
            school_days_without_evidence=max(calendar.days_between(reference, on), 0),
            settings=config,
        )
    )

    window_start = calendar.window_start(on, config.held_back_days)
    grade_level = {c for c, g in graph.grade.items() if g >= path.grade and graph.framework[c] == path.framework_id}
    held.append(
        rules.held_back_condition(
            path_id=path.path_id,
            grade=path.grade,
            unmastered_below_grade=sum(
                1
                for s in active
                if s.competency_id not in mastered.on and graph.grade.get(s.competency_id, path.grade) < path.grade
            ),
            grade_level_evidence_in_window=sum(
                d.count for d in days if d.competency_id in grade_level and window_start <= d.day <= on
            ),
            grade_level_steps_active=sum(
                1
                for s in active
                if s.competency_id in grade_level
                and any(window_start <= day <= on for day in facts.choices.get(s.step_id, []))
            ),
            school_days_since_start=max(calendar.days_between(path.start_date - datetime.timedelta(days=1), on), 0),
            settings=config,
        )
    )

    records = facts.recent.get((path.student_id, path.framework_id), [])
    on_path = {s.competency_id for s in path.steps}

    def already_mastered(competency_id: int, observed_at: datetime.datetime) -> bool:
        mastered_on = mastered.on.get(competency_id)
        return mastered_on is not None and mastered_on < timezone.localdate(observed_at)

    on_mastered = sum(1 for competency_id, observed_at in records if already_mastered(competency_id, observed_at))
    on_easiest = sum(
        1
        for competency_id, observed_at in records
        if not already_mastered(competency_id, observed_at)
        and graph.grade.get(competency_id, path.grade) < path.grade
        and competency_id not in on_path
    )
    held.append(
        rules.avoiding_condition(
            path_id=path.path_id,
            on_mastered=on_mastered,
            on_easiest=on_easiest,
            records=len(records),
            ready_waiting=sum(1 for s in active if s.state == State.READY),
            settings=config,
        )
    )

    review = facts.needs_review.get(path.student_id, {})
    for step in active:
        if step.competency_id in review:
            estimate, first_on = review[step.competency_id]
            held.append(
                rules.needs_review_condition(
                    path_id=path.path_id,
                    competency_id=step.competency_id,
                    code=graph.code.get(step.competency_id, str(step.competency_id)),
                    estimate=estimate,
                    first_mastered_on=first_on,
                )
            )
    return [condition for condition in held if condition is not None]


# --- applying tonight's conditions to the memory and the alerts -------------------------------------------


def _memory(row: AlertCondition, unresolved: bool) -> rules.Memory:
    return rules.Memory(row.holding, row.streak, row.evaluated_on, unresolved, row.alert_id is not None)


def alerts_apply(facts: NightFacts, figures: dict[int, rules.Pacing]) -> int:
    """Evaluate every condition of the paths in `facts` for their night and open or resolve alerts.
    Returns rows written (conditions stored or deleted, alerts opened or resolved)."""
    paths = {p.path_id: p for p in facts.paths}
    tonight: dict[Key, tuple[rules.Condition, PathFacts]] = {}
    for path in facts.paths:
        for condition in path_conditions(path, facts, figures[path.path_id]):
            tonight[(path.student_id, condition.kind, condition.path_id, condition.competency_id)] = (condition, path)

    stored = {
        (row.student_id, row.kind, row.path_id, row.competency_id): row
        for row in AlertCondition.objects.select_for_update().filter(path_id__in=list(paths))
    }
    linked = {row.alert_id for row in stored.values() if row.alert_id is not None}
    unresolved_alerts = set(
        PacingAlert.objects.filter(pk__in=linked)
        .exclude(status=PacingAlert.Status.RESOLVED)
        .values_list("pk", flat=True)
    )
    to_create: list[AlertCondition] = []
    to_update: list[AlertCondition] = []
    to_delete: list[int] = []
    to_open: list[tuple[AlertCondition, rules.Condition, datetime.date]] = []
    to_resolve: list[tuple[int, datetime.date]] = []
    for key in sorted(set(tonight) | set(stored), key=rules.key_sort):
        row = stored.get(key)
        held = tonight.get(key)
        found = held[1] if held else paths.get(key[2] or 0)
        if found is None:
            continue
        path = found
        previous = _memory(row, row.alert_id in unresolved_alerts) if row is not None else None
        memory, action = rules.next_memory(
            previous,
            holding=held is not None,
            on=path.on,
            previous_school_day=path.calendar.previous(path.on),
            confirm_nights=facts.settings.confirm_nights,
        )
        if memory is not None and memory == previous:
            continue  # this night was evaluated already
        if action in (rules.FORGET, rules.RESOLVE):
            if row is not None:
                to_delete.append(row.pk)
                if action == rules.RESOLVE and row.alert_id is not None:
                    to_resolve.append((row.alert_id, path.on))
            continue
        assert memory is not None
        numbers = held[0].numbers if held else (row.numbers if row is not None else {})
        if row is None:
            row = AlertCondition(student_id=key[0], kind=key[1], path_id=key[2], competency_id=key[3])
            to_create.append(row)
        else:
            to_update.append(row)
        row.holding, row.streak, row.evaluated_on, row.numbers = (
            memory.holding,
            memory.streak,
            memory.evaluated_on,
            numbers,
        )
        if action == rules.OPEN and held is not None:
            to_open.append((row, held[0], path.on))
    return _write(to_create, to_update, to_delete, to_open, to_resolve)


def _write(
    to_create: list[AlertCondition],
    to_update: list[AlertCondition],
    to_delete: list[int],
    to_open: list[tuple[AlertCondition, rules.Condition, datetime.date]],
    to_resolve: list[tuple[int, datetime.date]],
) -> int:
    written = 0
    for alert_id, day in to_resolve:
        written += (
            PacingAlert.objects.filter(pk=alert_id)
            .exclude(status=PacingAlert.Status.RESOLVED)
            .update(status=PacingAlert.Status.RESOLVED, resolved_on=day, resolution_note=SELF_RESOLVED.format(day=day))
        )
    if to_open:
        # An alert still unresolved for the same condition (raised before its memory was lost) is reused.
        waiting = {
            (a.student_id, a.kind, a.path_id, a.competency_id): a
            for a in PacingAlert.objects.exclude(status=PacingAlert.Status.RESOLVED).filter(
                path_id__in={row.path_id for row, _, _ in to_open}
            )
        }
        fresh: list[tuple[AlertCondition, PacingAlert]] = []
        for row, condition, day in to_open:
            existing = waiting.get((row.student_id, row.kind, row.path_id, row.competency_id))
            if existing is not None:
                row.alert = existing
                continue
            alert = PacingAlert(
                student_id=row.student_id,
                path_id=row.path_id,
                competency_id=row.competency_id,
                kind=condition.kind,
                severity=condition.severity,
                numbers=condition.numbers,
                reason=condition.reason,
                opened_on=day,
            )
            fresh.append((row, alert))
        PacingAlert.objects.bulk_create([alert for _, alert in fresh])
        for row, alert in fresh:
            row.alert = alert
        written += len(fresh)
    AlertCondition.objects.filter(pk__in=to_delete).delete()
    AlertCondition.objects.bulk_create(to_create, batch_size=2000)
    _update_conditions(to_update)
    return written + len(to_delete) + len(to_create) + len(to_update)


_UPDATE_CONDITIONS = """
UPDATE pathways_alertcondition c
SET holding = v.holding, streak = v.streak, evaluated_on = v.evaluated_on, numbers = v.numbers::jsonb,
    alert_id = v.alert_id
FROM unnest(%(ids)s::bigint[], %(holding)s::bool[], %(streak)s::int[], %(days)s::date[], %(numbers)s::text[],
            %(alerts)s::bigint[]) AS v(id, holding, streak, evaluated_on, numbers, alert_id)
WHERE c.id = v.id
"""


def _update_conditions(rows: list[AlertCondition]) -> None:
    """One UPDATE for every changed condition (bulk_update's CASE per row is slow at this size)."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _UPDATE_CONDITIONS,
            {
                "ids": [row.pk for row in rows],
                "holding": [row.holding for row in rows],
                "streak": [row.streak for row in rows],
                "days": [row.evaluated_on for row in rows],
                "numbers": [json.dumps(row.numbers, sort_keys=True) for row in rows],
                "alerts": [row.alert_id for row in rows],
            },
        )


@transaction.atomic
def alerts_evaluate(*, student_ids: Iterable[int], on: datetime.date) -> int:
    """Evaluate these students' alert conditions for the night of `on` (pacing as stored tonight)."""
    facts = NightFacts.load(student_ids=student_ids, on=on)
    return alerts_apply(facts, pacing_of(facts))


# --- teachers act on alerts -------------------------------------------------------------------------------


def _locked_alert(alert_id: int) -> PacingAlert:
    alert = PacingAlert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise ValidationError({"alert": NO_SUCH_ALERT})
    if alert.status == PacingAlert.Status.RESOLVED:
        raise ValidationError({"alert": ALREADY_RESOLVED})
    return alert


@transaction.atomic
def alert_acknowledge(*, alert_id: int, by: User, note: str = "") -> PacingAlert:
    """A teacher has seen the alert and is on it. It stays until its condition clears or it is resolved."""
    alert = _locked_alert(alert_id)
    alert.status = PacingAlert.Status.ACKNOWLEDGED
    alert.acknowledged_by = by
    alert.acknowledged_at = timezone.now()
    fields = ["status", "acknowledged_by", "acknowledged_at"]
    if note.strip():
        alert.resolution_note = note.strip()
        fields.append("resolution_note")
    alert.save(update_fields=fields)
    return alert


@transaction.atomic
def alert_resolve(*, alert_id: int, by: User, note: str, on: datetime.date | None = None) -> PacingAlert:
    """A teacher resolves the alert with a note saying what was done."""
    if not (note or "").strip():
        raise ValidationError({"note": RESOLVE_NEEDS_NOTE})
    alert = _locked_alert(alert_id)
    alert.status = PacingAlert.Status.RESOLVED
    alert.resolved_on = on or timezone.localdate()
    alert.resolution_note = note.strip()
    if alert.acknowledged_by_id is None:
        alert.acknowledged_by, alert.acknowledged_at = by, timezone.now()
    alert.save(update_fields=["status", "resolved_on", "resolution_note", "acknowledged_by", "acknowledged_at"])
    return alert
