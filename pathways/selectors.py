"""Reads of the pathways app: a student's path, pacing in words, alerts, and checks of every path.

Callers pass students they may see (profiles/access.py decides); nothing here checks access.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from mastery.models import Competency, MasteryState, MasteryStatus
from pathways import rules
from pathways.models import LearningPath, PacingAlert, PathStep
from profiles.models import LearnerProfile
from profiles.selectors import school_year_terms_on

from .services.paths import Graph

State = PathStep.State


# --- a student's path ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepView:
    step: PathStep
    waits_for: list[Competency]  # a locked step: the prerequisites not yet mastered

    @property
    def gap_filling(self) -> bool:
        return self.step.reason == PathStep.Reason.GAP_FILLING


@dataclass(frozen=True)
class StrandSteps:
    strand: Competency | None
    steps: list[StepView]


@dataclass(frozen=True)
class PathView:
    path: LearningPath
    steps: list[StepView]  # in path order
    strands: list[StrandSteps]  # the same steps grouped by strand, strands in the framework's order
    counts: dict[str, int]  # steps per state
    pacing_for_student: str  # "At this pace you finish ..."
    pacing_for_teacher: str  # "At this pace Mateo finishes ..."
    behind: str  # "3 competencies behind"
    pacing_status: str
    pacing_status_label: str


def _pacing_from(path: LearningPath) -> rules.Pacing | None:
    if not path.pacing:
        return None
    numbers: dict[str, Any] = dict(path.pacing)
    for key in ("on", "start_date", "target_date", "projected_finish"):
        if numbers.get(key):
            numbers[key] = datetime.date.fromisoformat(numbers[key])
    return rules.Pacing(**numbers)


def student_paths(*, student_id: int) -> QuerySet[LearningPath]:
    return (
        LearningPath.objects.filter(student_id=student_id)
        .select_related("framework", "term", "student")
        .order_by("-term__start_date", "framework__name")
    )


def student_path(*, path: LearningPath) -> PathView:
    """One path with its steps (competency and strand preloaded), what each locked step waits for, and its
    pacing in words (as stored by the nightly run). Four queries."""
    steps = list(PathStep.objects.filter(path=path).select_related("competency__parent").order_by("order"))
    graph = Graph.load()
    prerequisite_ids = {p for s in steps for p in graph.prerequisites.get(s.competency_id, ())}
    mastered = {
        competency_id
        for competency_id, status, override in MasteryState.objects.filter(
            student_id=path.student_id, competency_id__in=prerequisite_ids
        ).values_list("competency_id", "status", "override_status")
        if (override or status) == MasteryStatus.MASTERED
    }
    waiting_ids = {
        s.pk: sorted(graph.prerequisites.get(s.competency_id, set()) - mastered, key=graph.sort_key)
        for s in steps
        if s.state == State.LOCKED
    }
    competencies = Competency.objects.in_bulk({c for ids in waiting_ids.values() for c in ids})
    views = [StepView(s, [competencies[c] for c in waiting_ids.get(s.pk, [])]) for s in steps]
    strands: dict[int | None, StrandSteps] = {}
    for view in views:
        parent = view.step.competency.parent
        strands.setdefault(parent.pk if parent else None, StrandSteps(parent, [])).steps.append(view)
    ordered = sorted(
        strands.values(),
        key=lambda g: (
            g.strand is None,
            (g.strand.grade_level, g.strand.sort_order, g.strand.code) if g.strand else (),
        ),
    )
    figures = _pacing_from(path)
    grade = getattr(getattr(path.student, "learner_profile", None), "grade_level", None)
    goals = "the path's goals" if path.chosen_target_ids or grade is None else f"the grade {grade} goals"
    name = str(path.student)
    return PathView(
        path=path,
        steps=views,
        strands=ordered,
        counts={state: sum(1 for s in steps if s.state == state) for state in State.values},
        pacing_for_student=rules.pacing_sentence(figures, goals=goals) if figures else "",
        pacing_for_teacher=rules.pacing_sentence(figures, goals=goals, who=name) if figures else "",
        behind=rules.behind_words(figures) if figures else "",
        pacing_status=path.pacing_status,
        pacing_status_label=path.get_pacing_status_display() if path.pacing_status else "",
    )


# --- alerts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertView:
    alert: PacingAlert
    teacher_reason: str  # the stored plain reason, with the numbers: for teachers only
    student_wording: str  # encouraging, no numbers: safe to show the student
    numbers: dict[str, Any] = field(default_factory=dict)


def open_alerts(*, student_ids: Iterable[int]) -> list[AlertView]:
    """Unresolved alerts (open or acknowledged) of these students, most severe first. One query."""
    alerts = (
        PacingAlert.objects.filter(student_id__in=list(student_ids))
        .exclude(status=PacingAlert.Status.RESOLVED)
        .select_related("student", "competency", "path")
        .order_by("-severity", "opened_on", "pk")
    )
    return [AlertView(a, a.reason, rules.STUDENT_WORDING.get(a.kind, ""), dict(a.numbers)) for a in alerts]


# --- what the night has to do, and checks of every path -------------------------------------------------


def paths_needing_generation(*, school_id: int, on: datetime.date) -> list[int]:
    """Students of the school without a path in the term covering `on` (any framework)."""
    term_id = school_year_terms_on(school_ids=[school_id], on=on).get(school_id)
    students = LearnerProfile.objects.filter(school_id=school_id)
    if term_id is not None:
        students = students.exclude(user__learning_paths__term_id=term_id)
    return list(students.order_by("pk").values_list("pk", flat=True))


@dataclass
class PathsCheck:
    students: int = 0
    paths: int = 0
    steps: int = 0
    below_grade_students: int = 0
    alerts: int = 0
    problems: list[str] = field(default_factory=list)


def _alert_reproduces(alert: PacingAlert, config: rules.PathSettings) -> bool:
    """Do the alert's stored numbers raise it again by the DESIGN.md formulas?"""
    n = alert.numbers
    if alert.kind == rules.BEHIND_PACE:
        total, elapsed = n["school_days_total"], n["school_days_elapsed"]
        expected = n["mastered_at_start"] + (n["target_count"] - n["mastered_at_start"]) * (
            elapsed / total if total else 1.0
        )
        velocity = n["mastered_in_window"] / n["window_days"]
        status = rules.pacing_status(
            mastered=n["mastered"],
            expected=expected,
            target_count=n["target_count"],
            school_days_late=n["school_days_late"] if velocity > 0 or n["mastered"] >= n["target_count"] else None,
            settings=config,
        )
        return (
            abs(expected - n["expected"]) < 1e-9
            and status == n["status"]
            and status in (rules.AT_RISK, rules.OFF_TRACK)
        )
    if alert.kind == rules.STUCK:
        return not n["mastered"] and (
            (n["school_days_in_progress"] >= config.stuck_days and n["evidence_count"] >= config.stuck_min_evidence)
            or n["scored_responses"] >= config.stuck_scored_responses
        )
    if alert.kind == rules.INACTIVE:
        return n["school_days_without_evidence"] >= config.inactive_days
    if alert.kind == rules.HELD_BACK:
        return (
            n["unmastered_below_grade"] > 0
            and n["grade_level_evidence_in_window"] == 0
            and n["grade_level_steps_active"] == 0
        )
    if alert.kind == rules.AVOIDING:
        return n["avoiding_records"] >= config.avoiding_min and n["ready_waiting"] > 0
    return n.get("status") == rules.NEEDS_REVIEW


def paths_check(*, settings: rules.PathSettings | None = None) -> PathsCheck:
    """Check every path against the rules: every student has a path; no step precedes one of its
    prerequisites; for a student with gap-filling steps the first grade-level step comes after the fewest
    gap-filling steps the graph allows; every alert's stored numbers reproduce it."""
    from .services.pacing import path_settings

    config = settings or path_settings()
    graph = Graph.load()
    check = PathsCheck(students=LearnerProfile.objects.count())
    with_path = set(LearningPath.objects.values_list("student_id", flat=True).distinct())
    without = LearnerProfile.objects.exclude(pk__in=with_path).count()
    if without:
        check.problems.append(f"{without} students have no path.")
    steps_by_path: dict[int, list[tuple[int, str]]] = {}
    for path_id, competency_id, reason in PathStep.objects.order_by("path_id", "order").values_list(
        "path_id", "competency_id", "reason"
    ):
        steps_by_path.setdefault(path_id, []).append((competency_id, reason))
    check.paths = len(steps_by_path)
    for path_id, steps in steps_by_path.items():
        check.steps += len(steps)
        order = [c for c, _ in steps]
        violations = rules.order_violations(order, graph.prerequisites)
        if violations:
            step, prerequisite = violations[0]
            check.problems.append(
                f"Path {path_id}: {graph.code.get(step)} comes before its prerequisite {graph.code.get(prerequisite)}."
            )
        gap = [c for c, reason in steps if reason == rules.GAP_FILLING]
        if not gap:
            continue
        check.below_grade_students += 1
        targets = [c for c, reason in steps if reason == rules.GRADE_LEVEL_TARGET]
        fewest = rules.fewest_gap_steps_before_a_target(targets=targets, gap=gap, prerequisites=graph.prerequisites)
        actual = rules.gap_steps_before_first_target(steps)
        if fewest != actual:
            check.problems.append(
                f"Path {path_id}: the first grade-level step comes after {actual} gap-filling steps, {fewest} would do."
            )
    for alert in PacingAlert.objects.all():
        check.alerts += 1
        if not _alert_reproduces(alert, config):
            check.problems.append(f"Alert {alert.pk} ({alert.kind}): its numbers do not reproduce it.")
    return check
