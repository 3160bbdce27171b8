"""Learning paths: generation, teacher edits, and step states that follow mastery.

Keyword-only and atomic. Access is decided by the caller (profiles/access.py, in the API and the
pages); a refused request raises ValidationError naming the field and saying why, and changes nothing.

Order rule (pathways/rules.py `order_path`): no step before any of its prerequisites (through the
whole prerequisite graph), and the first grade-level target after the fewest gap-filling steps the
graph allows. Step states follow mastery (`path_sync_states`): mastered (effective status, overrides
count) · in progress (evidence, not mastered) · ready (every prerequisite mastered) · locked; a
skipped step stays skipped until a teacher unskips it.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from mastery.models import Competency, Framework, MasteryState, MasteryStatus, Prerequisite
from mastery.selectors import default_framework
from mastery.services import evidence_record, evidence_record_bulk, mastery_recompute
from pathways import rules
from pathways.models import LearningPath, PathStep
from profiles.models import LearnerProfile, Term, User
from profiles.selectors import school_year_terms_on

logger = logging.getLogger(__name__)

Reason = PathStep.Reason
State = PathStep.State

# Messages (tests compare them exactly).
TARGET_NOT_AFTER_START = "The target date ({target}) must come after the start date ({start})."
NO_SUCH_STUDENT = "No such student (no learner profile)."
NO_FRAMEWORK = "No framework covers grade {grade}; choose one."
NO_SUCH_FRAMEWORK = "No such framework."
NO_TERM = "No term of the student's school covers {day}; choose one."
NO_SUCH_TERM = "No such term at the student's school."
NO_SUCH_COMPETENCIES = "No such competency: {ids}."
NO_TARGETS = "There are no competencies to target: grade {grade} of this framework has none."
NO_SUCH_STEP = "No such step."
NO_SUCH_PATH = "No such path."
ALREADY_ON_PATH = "{code} is already on this path."
NOT_ASSESSABLE = "{code} only groups other competencies, or is deprecated; add one of its competencies."
POSITION_RANGE = "Choose a position from 1 to {count}."
BEFORE_PREREQUISITE = "{code} cannot come before {prerequisite}: {prerequisite} is a prerequisite of {code}."
STILL_NEEDED = (
    "{code} is a prerequisite of {dependent} on this path; skip it with a reason instead, or remove {dependent} first."
)
SKIP_NEEDS_REASON = "Say why the step is skipped."
MASTERED_NOT_SKIPPED = "{code} is mastered already; there is nothing to skip."
NOT_SKIPPED = "This step is not skipped."


# --- what generation needs to know, loaded set-based -------------------------------------------------


@dataclass
class Graph:
    """Competencies (assessable, not deprecated) and the prerequisite edges between them."""

    code: dict[int, str]
    grade: dict[int, int]
    framework: dict[int, int]
    order_key: dict[int, tuple[int, int, str]]
    prerequisites: dict[int, set[int]]

    @classmethod
    def load(cls) -> Graph:
        rows = Competency.objects.filter(assessable=True, deprecated=False).values_list(
            "pk", "code", "grade_level", "framework_id", "sort_order"
        )
        graph = cls({}, {}, {}, {}, {})
        for pk, code, grade, framework_id, sort_order in rows:
            graph.code[pk], graph.grade[pk], graph.framework[pk] = code, grade, framework_id
            graph.order_key[pk] = (grade, sort_order, code)
        # A deprecated prerequisite no longer blocks (as in mastery.selectors.ready_to_learn).
        edges = Prerequisite.objects.filter(prerequisite__deprecated=False, prerequisite__assessable=True)
        for competency_id, prerequisite_id in edges.values_list("competency_id", "prerequisite_id"):
            graph.prerequisites.setdefault(competency_id, set()).add(prerequisite_id)
        return graph

    def sort_key(self, competency_id: int) -> tuple[int, int, str, int]:
        return (*self.order_key.get(competency_id, (0, 0, "")), competency_id)

    def grade_targets(self, framework_id: int, grade: int) -> list[int]:
        return sorted(
            (pk for pk, f in self.framework.items() if f == framework_id and self.grade[pk] == grade),
            key=self.sort_key,
        )


@dataclass(frozen=True)
class Mastered:
    """A student's mastered competencies (effective status) and the day each was mastered."""

    on: dict[int, datetime.date | None] = field(default_factory=dict)

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(self.on)


def _local_date(moment: datetime.datetime | None) -> datetime.date | None:
    return timezone.localdate(moment) if moment is not None else None


def mastered_by_student(student_ids: Iterable[int]) -> dict[int, Mastered]:
    """Effective status mastered (an override wins); the day is first_mastered_at, or the override's day."""
    result: dict[int, Mastered] = {}
    rows = MasteryState.objects.filter(student_id__in=list(student_ids)).values_list(
        "student_id", "competency_id", "status", "override_status", "first_mastered_at", "override_at"
    )
    for student_id, competency_id, status, override, first_at, override_at in rows:
        if (override or status) != MasteryStatus.MASTERED:
            continue
        moment = override_at if override == MasteryStatus.MASTERED and first_at is None else first_at
        result.setdefault(student_id, Mastered()).on[competency_id] = _local_date(moment or override_at)
    return result


# --- generation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathPlan:
    student_id: int
    framework_id: int
    term: Term
    start_date: datetime.date
    target_date: datetime.date
    steps: list[rules.PlannedStep]
    targets_mastered_at_start: int


def _plan(
    *,
    graph: Graph,
    student_id: int,
    framework_id: int,
    term: Term,
    grade: int,
    mastered: Mastered,
    start_date: datetime.date,
    target_date: datetime.date,
    chosen_targets: Sequence[int] = (),
    added: Sequence[int] = (),
) -> PathPlan:
    targets = list(chosen_targets) or graph.grade_targets(framework_id, grade)
    steps = rules.order_path(
        targets=targets,
        mastered=mastered.ids,
        prerequisites=graph.prerequisites,
        sort_key=graph.sort_key,
        added=added,
    )
    at_start = sum(1 for c in targets if (day := mastered.on.get(c)) is not None and day < start_date)
    return PathPlan(student_id, framework_id, term, start_date, target_date, steps, at_start)


def _step_rows(path: LearningPath, plan: PathPlan) -> list[PathStep]:
    return [
        PathStep(
            path=path,
            competency_id=step.competency_id,
            order=index,
            reason=step.reason,
            is_target=step.reason != rules.GAP_FILLING,
            state=State.LOCKED,
        )
        for index, step in enumerate(plan.steps, start=1)
    ]


def _check_dates(start_date: datetime.date, target_date: datetime.date) -> None:
    if target_date <= start_date:
        raise ValidationError(
            {"target_date": TARGET_NOT_AFTER_START.format(target=target_date.isoformat(), start=start_date.isoformat())}
        )


def _choose_term(profile: LearnerProfile, term_id: int | None, on: datetime.date) -> Term:
    if term_id is not None:
        term = Term.objects.filter(pk=term_id, school_id=profile.school_id).first()
        if term is None:
            raise ValidationError({"term": NO_SUCH_TERM})
        return term
    chosen = school_year_terms_on(school_ids=[profile.school_id], on=on).get(profile.school_id)
    if chosen is None:
        raise ValidationError({"term": NO_TERM.format(day=on.isoformat())})
    return Term.objects.get(pk=chosen)


def _choose_framework(framework_id: int | None, grade: int) -> Framework:
    frameworks = list(Framework.objects.order_by("subject", "name", "pk"))
    if framework_id is not None:
        chosen = next((f for f in frameworks if f.pk == framework_id), None)
        if chosen is None:
            raise ValidationError({"framework": NO_SUCH_FRAMEWORK})
        return chosen
    covering = [f for f in frameworks if f.grade_low <= grade <= f.grade_high]
    framework = default_framework(covering, grade=grade)
    if framework is None:
        raise ValidationError({"framework": NO_FRAMEWORK.format(grade=grade)})
    return framework


def _check_targets(graph: Graph, target_ids: Sequence[int]) -> list[int]:
    unknown = sorted({int(c) for c in target_ids} - set(graph.code))
    if unknown:
        raise ValidationError({"target_competency_ids": NO_SUCH_COMPETENCIES.format(ids=", ".join(map(str, unknown)))})
    return sorted({int(c) for c in target_ids}, key=graph.sort_key)


@transaction.atomic
def path_generate(
    *,
    student_id: int,
    framework_id: int | None = None,
    term_id: int | None = None,
    target_competency_ids: Sequence[int] | None = None,
    start_date: datetime.date | None = None,
    target_date: datetime.date | None = None,
    created_by: User | None = None,
    on: datetime.date | None = None,
) -> LearningPath:
    """Create the student's path for a framework and term, or regenerate it.

    Defaults: the framework covering the student's grade, the term covering `on` (today), the term's
    start and end dates, and as targets the framework's competencies at the student's grade (or the
    set a teacher chose, above or below grade: `target_competency_ids`, remembered for regeneration).
    Regenerating keeps the teacher's additions, pins and skips on competencies still on the path; the
    order is made afresh. Step states are synced with mastery before returning.
    """
    on = on or timezone.localdate()
    profile = LearnerProfile.objects.filter(pk=student_id).first()
    if profile is None:
        raise ValidationError({"student": NO_SUCH_STUDENT})
    framework = _choose_framework(framework_id, profile.grade_level)
    term = _choose_term(profile, term_id, on)
    graph = Graph.load()
    chosen = _check_targets(graph, target_competency_ids) if target_competency_ids else None

    path = (
        LearningPath.objects.select_for_update().filter(student_id=student_id, framework=framework, term=term).first()
    )
    start = start_date or (path.start_date if path else term.start_date)
    target = target_date or (path.target_date if path else term.end_date)
    _check_dates(start, target)
    if chosen is None:
        chosen = list(path.chosen_target_ids) if path else []
    if not chosen and not graph.grade_targets(framework.pk, profile.grade_level):
        raise ValidationError({"target_competency_ids": NO_TARGETS.format(grade=profile.grade_level)})

    kept: dict[int, PathStep] = {}
    added: list[int] = []
    if path is not None:
        kept = {step.competency_id: step for step in path.steps.all()}
        added = [c for c, step in kept.items() if step.reason == Reason.TEACHER_ADDED and c in graph.code]
    mastered = mastered_by_student([student_id]).get(student_id, Mastered())
    plan = _plan(
        graph=graph,
        student_id=student_id,
        framework_id=framework.pk,
        term=term,
        grade=profile.grade_level,
        mastered=mastered,
        start_date=start,
        target_date=target,
        chosen_targets=chosen,
        added=sorted(added, key=graph.sort_key),
    )
    if path is None:
        path = LearningPath.objects.create(
            student_id=student_id,
            framework=framework,
            term=term,
            start_date=start,
            target_date=target,
            targets_mastered_at_start=plan.targets_mastered_at_start,
            chosen_target_ids=chosen,
            created_by=created_by,
        )
    else:
        path.start_date, path.target_date, path.chosen_target_ids = start, target, chosen
        path.targets_mastered_at_start = plan.targets_mastered_at_start
        path.save(update_fields=["start_date", "target_date", "chosen_target_ids", "targets_mastered_at_start"])
    _replace_steps(path, plan, kept)
    path_sync_states(student_ids=[student_id])
    logger.info("path %s generated for student %s: %d steps", path.pk, student_id, len(plan.steps))
    return path


def _replace_steps(path: LearningPath, plan: PathPlan, kept: Mapping[int, PathStep]) -> None:
    """Steps of the new plan: a competency already on the path keeps its row (choices hang on it), pin and
    skip; the others are created; steps no longer planned are deleted."""
    planned = {step.competency_id for step in plan.steps}
    PathStep.objects.filter(path=path).exclude(competency_id__in=planned).delete()
    updates, creates = [], []
    for row in _step_rows(path, plan):
        existing = kept.get(row.competency_id)
        if existing is None:
            creates.append(row)
            continue
        existing.order, existing.reason, existing.is_target = row.order, row.reason, row.is_target
        updates.append(existing)
    # The order constraint is deferred: positions may swap inside this transaction.
    PathStep.objects.bulk_update(updates, ["order", "reason", "is_target"])
    PathStep.objects.bulk_create(creates)


def paths_generate_missing(*, student_ids: Sequence[int], on: datetime.date) -> int:
    """Create the path of every student listed who has none for the framework covering their grade and the
    term covering `on`. Set-based (a handful of queries for the whole list). Returns rows created."""
    profiles = list(
        LearnerProfile.objects.filter(pk__in=list(student_ids)).values_list("pk", "school_id", "grade_level")
    )
    if not profiles:
        return 0
    frameworks = list(Framework.objects.order_by("subject", "name", "pk"))
    terms_by_school = school_year_terms_on(school_ids={school for _, school, _ in profiles}, on=on)
    terms = Term.objects.in_bulk(list(terms_by_school.values()))
    graph = Graph.load()
    existing = set(
        LearningPath.objects.filter(student_id__in=[p for p, _, _ in profiles]).values_list(
            "student_id", "framework_id", "term_id"
        )
    )
    wanted: list[tuple[int, int, Term, int]] = []
    for student_id, school_id, grade in profiles:
        covering = [f for f in frameworks if f.grade_low <= grade <= f.grade_high]
        framework = default_framework(covering, grade=grade)
        term = terms.get(terms_by_school.get(school_id, 0))
        if framework is None or term is None or (student_id, framework.pk, term.pk) in existing:
            continue
        if graph.grade_targets(framework.pk, grade):
            wanted.append((student_id, framework.pk, term, grade))
    if not wanted:
        return 0
    mastered = mastered_by_student([student_id for student_id, _, _, _ in wanted])
    plans = [
        _plan(
            graph=graph,
            student_id=student_id,
            framework_id=framework_id,
            term=term,
            grade=grade,
            mastered=mastered.get(student_id, Mastered()),
            start_date=term.start_date,
            target_date=term.end_date,
        )
        for student_id, framework_id, term, grade in wanted
    ]
    paths = LearningPath.objects.bulk_create(
        [
            LearningPath(
                student_id=plan.student_id,
                framework_id=plan.framework_id,
                term=plan.term,
                start_date=plan.start_date,
                target_date=plan.target_date,
                targets_mastered_at_start=plan.targets_mastered_at_start,
            )
            for plan in plans
        ],
        batch_size=2000,
    )
    steps = [row for path, plan in zip(paths, plans, strict=True) for row in _step_rows(path, plan)]
    PathStep.objects.bulk_create(steps, batch_size=5000)
    return len(paths) + len(steps)


# --- step states follow mastery ------------------------------------------------------------------------

# One statement for every step of the students' paths; only steps whose state changes are written.
_SYNC_STATES = """
WITH steps AS (
    SELECT s.id, s.state, s.competency_id, p.student_id
    FROM pathways_pathstep s JOIN pathways_learningpath p ON p.id = s.path_id
    WHERE p.student_id = ANY(%(students)s::bigint[]) AND s.state <> 'skipped'
),
computed AS (
    SELECT st.id, st.state AS old_state,
        CASE
            WHEN COALESCE(ms.override_status, ms.status) = 'mastered' THEN 'mastered'
            WHEN COALESCE(ms.override_status, ms.status) IN ('in_progress', 'needs_review') THEN 'in_progress'
            WHEN NOT EXISTS (
                SELECT 1
                FROM mastery_prerequisite pr
                JOIN mastery_competency pc ON pc.id = pr.prerequisite_id AND NOT pc.deprecated AND pc.assessable
                LEFT JOIN mastery_masterystate pm
                    ON pm.student_id = st.student_id AND pm.competency_id = pr.prerequisite_id
                WHERE pr.competency_id = st.competency_id
                  AND COALESCE(pm.override_status, pm.status, 'not_started') <> 'mastered'
            ) THEN 'ready'
            ELSE 'locked'
        END AS state
    FROM steps st
    LEFT JOIN mastery_masterystate ms ON ms.student_id = st.student_id AND ms.competency_id = st.competency_id
)
UPDATE pathways_pathstep s SET state = c.state
FROM computed c
WHERE s.id = c.id AND c.old_state <> c.state
"""


def path_sync_states(*, student_ids: Iterable[int]) -> int:
    """Set every step state of these students' paths from their mastery states (skipped steps stay
    skipped). One statement; returns the steps changed (0 when nothing changed)."""
    ids = sorted({int(student_id) for student_id in student_ids})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_SYNC_STATES, {"students": ids})
        return max(cursor.rowcount, 0)


@transaction.atomic
def evidence_record_and_update(**evidence: Any) -> tuple[Any, bool]:
    """Record one piece of evidence (mastery.services.evidence_record's keyword arguments), recompute
    mastery for that student and competency, and update the student's path states at once.
    Returns what evidence_record returns: (the stored evidence, whether this call stored it)."""
    stored, created = evidence_record(**evidence)
    if created:
        mastery_recompute(pairs=[(stored.student_id, stored.competency_id)])
        path_sync_states(student_ids=[stored.student_id])
    return stored, created


@transaction.atomic
def evidence_record_bulk_and_update(
    *, items: Sequence[Mapping[str, Any]], recorded_by: Any = None, students: Any = None
) -> tuple[list[Any], int]:
    """Record a batch (mastery.services.evidence_record_bulk's arguments), then at once recompute mastery
    of the pairs that got new evidence and update those students' path states (a teacher's ratings from
    the grid or a small group). Returns the per-item results and the number of path steps changed."""
    results = evidence_record_bulk(items=items, recorded_by=recorded_by, students=students)
    pairs = sorted(
        {
            (int(item["student_id"]), int(item["competency_id"]))
            for item, result in zip(items, results, strict=True)
            if result.created
        }
    )
    if not pairs:
        return results, 0
    mastery_recompute(pairs=pairs)
    return results, path_sync_states(student_ids=sorted({student_id for student_id, _ in pairs}))


# --- teacher edits -------------------------------------------------------------------------------------


def _locked_path(path_id: int) -> LearningPath:
    path = LearningPath.objects.select_for_update().filter(pk=path_id).first()
    if path is None:
        raise ValidationError({"path": NO_SUCH_PATH})
    return path


def _locked_step(step_id: int) -> PathStep:
    step = PathStep.objects.select_related("competency").filter(pk=step_id).first()
    if step is None:
        raise ValidationError({"step": NO_SUCH_STEP})
    _locked_path(step.path_id)  # edits of one path wait for each other
    return step


def _steps_in_order(path_id: int) -> list[PathStep]:
    return list(PathStep.objects.filter(path_id=path_id).select_related("competency").order_by("order"))


def _renumber(steps: Sequence[PathStep]) -> None:
    for index, step in enumerate(steps, start=1):
        step.order = index
    PathStep.objects.bulk_update(list(steps), ["order"])


def _first_violation(graph: Graph, order: Sequence[int]) -> tuple[int, int] | None:
    violations = rules.order_violations(order, graph.prerequisites)
    return violations[0] if violations else None


@transaction.atomic
def path_step_reorder(*, step_id: int, position: int) -> list[PathStep]:
    """Move a step to `position` (1 = first). Refused when a step would come before one of its
    prerequisites. Returns the path's steps in their new order."""
    step = _locked_step(step_id)
    steps = _steps_in_order(step.path_id)
    if not isinstance(position, int) or isinstance(position, bool) or not 1 <= position <= len(steps):
        raise ValidationError({"position": POSITION_RANGE.format(count=len(steps))})
    moved = [s for s in steps if s.pk != step.pk]
    moved.insert(position - 1, next(s for s in steps if s.pk == step.pk))
    graph = Graph.load()
    violation = _first_violation(graph, [s.competency_id for s in moved])
    if violation is not None:
        later, prerequisite = violation
        raise ValidationError(
            {"position": BEFORE_PREREQUISITE.format(code=graph.code[later], prerequisite=graph.code[prerequisite])}
        )
    _renumber(moved)
    return moved


@transaction.atomic
def path_step_add(*, path_id: int, competency_id: int) -> list[PathStep]:
    """A teacher adds a competency to the path (it counts toward the path's targets). The unmastered
    prerequisites it needs that are not on the path yet come with it, as gap-filling steps, placed
    just before it at the end of the path. Returns the new steps."""
    path = _locked_path(path_id)
    graph = Graph.load()
    competency = Competency.objects.filter(pk=competency_id).first()
    if competency is None:
        raise ValidationError({"competency": NO_SUCH_COMPETENCIES.format(ids=competency_id)})
    if competency.pk not in graph.code:
        raise ValidationError({"competency": NOT_ASSESSABLE.format(code=competency.code)})
    steps = _steps_in_order(path.pk)
    on_path = {s.competency_id for s in steps}
    if competency.pk in on_path:
        raise ValidationError({"competency": ALREADY_ON_PATH.format(code=competency.code)})
    mastered = mastered_by_student([path.student_id]).get(path.student_id, Mastered())
    needed = rules.needed_prerequisites([competency.pk], mastered=mastered.ids, prerequisites=graph.prerequisites)
    new_gap = sorted(
        needed - on_path, key=lambda c: (len(rules.ancestors_of(graph.prerequisites)(c)), graph.sort_key(c))
    )
    order = [s.competency_id for s in steps] + new_gap + [competency.pk]
    # An existing step may itself need one of the new gap-filling steps: then the order is repaired
    # by the stable topological sort (the teacher's order otherwise kept).
    if rules.order_violations(order, graph.prerequisites):
        order = rules.stable_topological(order, graph.prerequisites)
    by_competency = {s.competency_id: s for s in steps}
    created = PathStep.objects.bulk_create(
        [
            PathStep(path=path, competency_id=c, order=len(steps) + i, reason=Reason.GAP_FILLING, is_target=False)
            for i, c in enumerate(new_gap, start=1)
        ]
        + [
            PathStep(
                path=path, competency_id=competency.pk, order=len(steps) + len(new_gap) + 1, reason=Reason.TEACHER_ADDED
            )
        ]
    )
    by_competency.update((s.competency_id, s) for s in created)
    _renumber([by_competency[c] for c in order])
    path_sync_states(student_ids=[path.student_id])
    return list(PathStep.objects.filter(pk__in=[s.pk for s in created]).order_by("order"))


@transaction.atomic
def path_step_remove(*, step_id: int) -> None:
    """Remove a step. Refused while an unmastered step on the path still needs it (skip it instead)."""
    step = _locked_step(step_id)
    graph = Graph.load()
    steps = _steps_in_order(step.path_id)
    ancestors = rules.ancestors_of(graph.prerequisites)
    if step.state != State.MASTERED:
        for other in steps:
            if (
                other.pk != step.pk
                and other.state != State.MASTERED
                and step.competency_id in ancestors(other.competency_id)
            ):
                raise ValidationError(
                    {"step": STILL_NEEDED.format(code=step.competency.code, dependent=other.competency.code)}
                )
    removed = step.pk  # delete() clears the instance's pk
    step.delete()
    _renumber([s for s in steps if s.pk != removed])


@transaction.atomic
def path_step_pin(*, step_id: int, pinned: bool = True) -> PathStep:
    """Pin a step as required before free choice (or unpin it)."""
    step = _locked_step(step_id)
    if step.pinned != pinned:
        step.pinned = pinned
        step.save(update_fields=["pinned"])
    return step


@transaction.atomic
def path_step_skip(*, step_id: int, reason: str) -> PathStep:
    """Skip a step, with the teacher's reason. A skipped step no longer counts toward the path's targets."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": SKIP_NEEDS_REASON})
    step = _locked_step(step_id)
    if step.state == State.MASTERED:
        raise ValidationError({"step": MASTERED_NOT_SKIPPED.format(code=step.competency.code)})
    step.state, step.skip_reason = State.SKIPPED, reason
    step.save(update_fields=["state", "skip_reason"])
    return step


@transaction.atomic
def path_step_unskip(*, step_id: int) -> PathStep:
    """Take a step back into the path; its state follows mastery again."""
    step = _locked_step(step_id)
    if step.state != State.SKIPPED:
        raise ValidationError({"step": NOT_SKIPPED})
    step.state, step.skip_reason = State.LOCKED, ""
    step.save(update_fields=["state", "skip_reason"])
    path_sync_states(student_ids=[step.path.student_id])
    step.refresh_from_db()
    return step


@transaction.atomic
def path_dates_set(*, path_id: int, start_date: datetime.date, target_date: datetime.date) -> LearningPath:
    """Change a path's start and target dates; the target must come after the start."""
    path = _locked_path(path_id)
    _check_dates(start_date, target_date)
    path.start_date, path.target_date = start_date, target_date
    path.save(update_fields=["start_date", "target_date", "updated_at"])
    return path
