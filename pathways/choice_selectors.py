"""Reads for choice within limits: which limits apply to a path, which steps a student may choose now,
the current choice, and the approved activities for a competency.

Which section's limits apply to a path: the sections the path's student is actively enrolled in as a
student whose grade lies in the framework's grade range, whose subject is blank or the framework's
subject (case-insensitive), and whose term overlaps the path's term in time. Among those, only the
sections where a teacher has set limits count; when several have, the strictest wins (the smallest
open count, the union of the required-first competencies, approval if any asks for it). When none
has, the defaults of `ChoiceLimits` apply (3 open steps, nothing required first, no approval).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from mastery.models import Competency, MasteryState, MasteryStatus, Prerequisite
from pathways.models import Activity, ChoiceLimits, LearningPath, PathStep, StepChoice
from profiles.models import Enrollment, Section

# Steps whose prerequisites are met and that are not yet mastered: "ready" ones, and "in progress"
# ones the student already has evidence on (continuing them is a choice too).
CHOOSABLE_STATES = (PathStep.State.READY, PathStep.State.IN_PROGRESS)
# Choices that still count: the current choice is the latest of these.
LIVE_CHOICE_STATUSES = (StepChoice.Status.PENDING, StepChoice.Status.APPROVED)


@dataclass(frozen=True)
class EffectiveChoiceLimits:
    """The limits that apply to one path, combined from its sections (ids kept to say where from)."""

    open_ready_steps: int
    required_first_ids: frozenset[int]
    approval_required: bool
    section_ids: tuple[int, ...]


def _default_limits() -> EffectiveChoiceLimits:
    # The model's field defaults are the one place these numbers live.
    default_open = ChoiceLimits._meta.get_field("open_ready_steps").get_default()
    default_approval = ChoiceLimits._meta.get_field("approval_required").get_default()
    return EffectiveChoiceLimits(default_open, frozenset(), default_approval, ())


def sections_governing_path(path: LearningPath) -> QuerySet[Section]:
    """The sections whose limits may apply to the path (see the module docstring)."""
    framework, term = path.framework, path.term
    enrolled = Enrollment.objects.filter(user_id=path.student_id, role=Enrollment.Role.STUDENT, active=True)
    return Section.objects.filter(
        Q(subject="") | Q(subject__iexact=framework.subject),
        pk__in=enrolled.values("section_id"),
        grade_level__gte=framework.grade_low,
        grade_level__lte=framework.grade_high,
        term__start_date__lte=term.end_date,
        term__end_date__gte=term.start_date,
    )


def choice_limits_for_path(*, path: LearningPath) -> EffectiveChoiceLimits:
    """The strictest of the limits set in the path's sections, or the defaults when none is set."""
    rows = list(
        ChoiceLimits.objects.filter(section__in=sections_governing_path(path))
        .prefetch_related("required_first")
        .order_by("section_id")
    )
    if not rows:
        return _default_limits()
    return EffectiveChoiceLimits(
        open_ready_steps=min(row.open_ready_steps for row in rows),
        required_first_ids=frozenset(c.pk for row in rows for c in row.required_first.all()),
        approval_required=any(row.approval_required for row in rows),
        section_ids=tuple(row.section_id for row in rows),
    )


def _choosable_ready_steps(path: LearningPath) -> list[PathStep]:
    return list(path.steps.filter(state__in=CHOOSABLE_STATES).select_related("competency").order_by("order"))


def open_steps(steps: list[PathStep], limits: EffectiveChoiceLimits) -> list[PathStep]:
    """Of the path's ready steps (in path order), those open to choose under the limits: while any of them
    is pinned or required first, only those; otherwise the first `open_ready_steps`."""
    required = [s for s in steps if s.pinned or s.competency_id in limits.required_first_ids]
    return required or steps[: limits.open_ready_steps]


def choosable_steps(*, student_id: int, path_id: int) -> list[PathStep]:
    """The steps of the student's path they may choose now, in path order (none when the path is not theirs)."""
    path = LearningPath.objects.select_related("framework", "term").filter(pk=path_id, student_id=student_id).first()
    if path is None:
        return []
    return open_steps(_choosable_ready_steps(path), choice_limits_for_path(path=path))


def unmastered_prerequisites(*, student_id: int, competency_id: int) -> list[Competency]:
    """The prerequisites of a competency the student has not mastered (effective status: an override
    wins), in curriculum order: what a locked step waits for. Deprecated prerequisites no longer block."""
    mastered = MasteryState.objects.filter(
        Q(override_status=MasteryStatus.MASTERED) | Q(override_status__isnull=True, status=MasteryStatus.MASTERED),
        student_id=student_id,
    ).values("competency_id")
    prerequisite_ids = Prerequisite.objects.filter(competency_id=competency_id, prerequisite__deprecated=False).values(
        "prerequisite_id"
    )
    return list(
        Competency.objects.filter(pk__in=prerequisite_ids)
        .exclude(pk__in=mastered)
        .order_by("grade_level", "sort_order", "code")
    )


def current_step_choice(*, path_id: int) -> StepChoice | None:
    """The student's current choice in a path: the latest choice still pending or approved."""
    return (
        StepChoice.objects.filter(step__path_id=path_id, status__in=LIVE_CHOICE_STATUSES)
        .select_related("step__competency", "activity")
        .order_by("-chosen_at", "-pk")
        .first()
    )


def activities_for_competency(*, competency_id: int) -> QuerySet[Activity]:
    """The approved activities linked to a competency, by title: the only ones offered to students."""
    return Activity.objects.filter(competencies=competency_id, review_status=Activity.Review.APPROVED).order_by(
        "title", "pk"
    )
