"""Reads the HTML pages of the pathways app need beyond pathways.selectors and pathways.choice_selectors:
progress toward a path's targets, the approved activities of several competencies at once, a student's
latest choice and goals, a section's pending choices, and the competencies a form offers.

Callers pass students and sections they may see (profiles/access.py decides); nothing here checks access.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from mastery.models import Competency, Framework
from pathways.models import Activity, LearningPath, PathStep, StepChoice
from pathways.selectors import StepView
from profiles.models import Enrollment, Goal, Section, User


@dataclass(frozen=True)
class Progress:
    """Mastered targets of a path out of all its targets (skipped steps no longer count)."""

    mastered: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.mastered / self.total) if self.total else 0


def path_progress(steps: Sequence[StepView]) -> Progress:
    targets = [v.step for v in steps if v.step.is_target and v.step.state != PathStep.State.SKIPPED]
    return Progress(sum(1 for s in targets if s.state == PathStep.State.MASTERED), len(targets))


def approved_activities_by_competency(competency_ids: Iterable[int]) -> dict[int, list[Activity]]:
    """The approved activities of each competency, by title (as choice_selectors.activities_for_competency
    orders them). Two queries whatever the number of competencies."""
    wanted = set(competency_ids)
    result: dict[int, list[Activity]] = {c: [] for c in wanted}
    if not wanted:
        return result
    links = Activity.competencies.through.objects.filter(
        competency_id__in=wanted, activity__review_status=Activity.Review.APPROVED
    ).values_list("competency_id", "activity_id")
    by_activity: dict[int, list[int]] = {}
    for competency_id, activity_id in links:
        by_activity.setdefault(activity_id, []).append(competency_id)
    for activity in Activity.objects.filter(pk__in=by_activity).order_by("title", "pk"):
        for competency_id in by_activity[activity.pk]:
            result[competency_id].append(activity)
    return result


def latest_step_choice(*, path_id: int) -> StepChoice | None:
    """The student's latest choice in a path that a teacher may have acted on (replaced ones left out):
    shows a declined choice with the teacher's note until the student chooses again."""
    return (
        StepChoice.objects.filter(step__path_id=path_id)
        .exclude(status=StepChoice.Status.REPLACED)
        .select_related("step__competency", "activity", "decided_by")
        .order_by("-chosen_at", "-pk")
        .first()
    )


def student_goals(*, student_id: int) -> list[Goal]:
    """The student's goals, active ones first, then by target date."""
    goals = list(Goal.objects.filter(student_id=student_id).select_related("set_with"))
    return sorted(goals, key=lambda g: (g.status != Goal.Status.ACTIVE, g.target_date, g.pk))


def addable_competencies(path: LearningPath) -> list[Competency]:
    """Competencies of the path's framework a teacher may add: assessable, not deprecated, not on the path."""
    return list(
        Competency.objects.filter(framework_id=path.framework_id, assessable=True, deprecated=False)
        .exclude(pk__in=PathStep.objects.filter(path=path).values("competency_id"))
        .order_by("grade_level", "sort_order", "code")
    )


def section_pending_choices(*, section: Section, visible_students: QuerySet[User]) -> list[StepChoice]:
    """Pending choices of the section's active students the viewer sees, oldest first."""
    students = Enrollment.objects.filter(section=section, role=Enrollment.Role.STUDENT, active=True).values("user_id")
    return list(
        StepChoice.objects.filter(
            status=StepChoice.Status.PENDING,
            step__path__student__in=students,
        )
        .filter(step__path__student__in=visible_students.values("pk"))
        .select_related("step__competency", "step__path__student", "step__path__framework", "activity")
        .order_by("chosen_at", "pk")
    )


def section_limit_competencies(section: Section) -> list[Competency]:
    """Competencies a section's limits may require first: those of the frameworks covering the section's
    grade (and subject, when the section has one), up to the section's grade."""
    frameworks = Framework.objects.filter(grade_low__lte=section.grade_level, grade_high__gte=section.grade_level)
    if section.subject:
        frameworks = frameworks.filter(subject__iexact=section.subject)
    return list(
        Competency.objects.filter(
            framework__in=frameworks, assessable=True, deprecated=False, grade_level__lte=section.grade_level
        )
        .select_related("framework")
        .order_by("framework__name", "-grade_level", "sort_order", "code")
    )


def activity_competencies() -> list[Competency]:
    """Every competency an activity may be linked to (assessable, not deprecated)."""
    return list(
        Competency.objects.filter(assessable=True, deprecated=False)
        .select_related("framework")
        .order_by("framework__name", "grade_level", "sort_order", "code")
    )


def activities_for_review() -> tuple[list[Activity], list[Activity]]:
    """(activities waiting for review, oldest first; reviewed ones, newest review first), competencies
    preloaded."""
    rows = list(
        Activity.objects.prefetch_related("competencies")
        .select_related("reviewed_by")
        .filter(Q(review_status=Activity.Review.PENDING) | Q(reviewed_at__isnull=False))
        .order_by("pk")
    )
    pending = [a for a in rows if a.review_status == Activity.Review.PENDING]
    reviewed = sorted(
        (a for a in rows if a.review_status != Activity.Review.PENDING),
        key=lambda a: (a.reviewed_at, a.pk),
        reverse=True,
    )
    return pending, reviewed
