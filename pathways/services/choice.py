"""Choice within limits: a teacher sets the limits per section, a student chooses a step (and an
activity for it), a teacher approves or declines the choice. Keyword-only and atomic.

Choosing never changes `PathStep.state`: step states follow mastery. A student's current choice in a
path is the latest choice still pending or approved (`choice_selectors.current_step_choice`). A new
choice replaces the student's pending choice in the same path (that one becomes `replaced`, so the
teacher decides only the newest); an approved choice stays approved and becomes current again if the
newer one is declined.

Refusals: a user who may not act gets PermissionDenied (profiles/access.py decides); bad input gets a
ValidationError naming the field, with a message that says why. Either way nothing is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from mastery.models import Competency
from pathways import choice_selectors
from pathways.models import Activity, ChoiceLimits, LearningPath, PathStep, StepChoice
from profiles import access
from profiles.models import Section, User

logger = logging.getLogger(__name__)

# The model's check constraint says the same (choice_open_steps_range).
OPEN_READY_STEPS_MIN, OPEN_READY_STEPS_MAX = 1, 20

# Messages (tests compare them exactly).
NO_SUCH_SECTION = "No such section."
OPEN_STEPS_RANGE = f"Open between {OPEN_READY_STEPS_MIN} and {OPEN_READY_STEPS_MAX} ready steps."
NOT_A_WHOLE_NUMBER = "A whole number is required."
NOT_A_YES_NO = "Yes or no (true or false) is required."
NO_SUCH_COMPETENCIES = "No such competency: {ids}."
MAY_NOT_SET_LIMITS = "You may not set the choice limits of this section."
MAY_NOT_CHOOSE = "Only a student chooses their own next step."
STEP_NOT_IN_PATH = "This step is not in your path."
STEP_LOCKED = "This step is locked: it waits for {prerequisites}."
STEP_LOCKED_UNNAMED = "This step is locked: it waits for its prerequisites."
STEP_MASTERED = "This step is already mastered."
STEP_SKIPPED = "This step was taken out of your path by your teacher."
STEP_NOT_OPEN = "Choose among the steps your teacher opened."
NO_SUCH_ACTIVITY = "No such activity."
ACTIVITY_NOT_APPROVED = "This activity is not approved."
ACTIVITY_OTHER_COMPETENCY = "This activity is not for this step's competency."
NO_SUCH_CHOICE = "No such choice."
MAY_NOT_DECIDE = "Only a teacher of this student decides their choices."
CHOICE_ALREADY_DECIDED = "This choice is already {status}."
CHOICE_STEP_NO_LONGER_OPEN = "This step is no longer ready: it is {state}."
CHOICE_ACTIVITY_NO_LONGER_APPROVED = "The chosen activity is no longer approved."


# --- limits ---------------------------------------------------------------------------------------


def _validate_open_ready_steps(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return NOT_A_WHOLE_NUMBER
    if not OPEN_READY_STEPS_MIN <= value <= OPEN_READY_STEPS_MAX:
        return OPEN_STEPS_RANGE
    return None


def _missing_competency_ids(ids: set[int]) -> list[int]:
    found = set(Competency.objects.filter(pk__in=ids).values_list("pk", flat=True))
    return sorted(ids - found)


def _validate_required_first(ids: Iterable[Any]) -> tuple[set[int], str | None]:
    values = list(ids)
    if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        return set(), NOT_A_WHOLE_NUMBER
    wanted = set(values)
    missing = _missing_competency_ids(wanted)
    if missing:
        return wanted, NO_SUCH_COMPETENCIES.format(ids=", ".join(map(str, missing)))
    return wanted, None


@transaction.atomic
def choice_limits_set(
    *,
    section_id: int,
    open_ready_steps: int,
    required_first_ids: Iterable[int],
    approval_required: bool,
    by: User,
) -> ChoiceLimits:
    """Set (create or replace) the choice limits of a section: how many ready steps are open to choose
    from, which competencies come first, and whether a choice needs a teacher's approval."""
    # Serializes two setters of the same section (the first ChoiceLimits row is created here). NO KEY
    # UPDATE: enrollments may still be added to the section meanwhile.
    section = Section.objects.select_for_update(no_key=True).filter(pk=section_id).first()
    if section is None:
        raise ValidationError({"section_id": NO_SUCH_SECTION})
    if not access.can_set_choice_limits(by, section):
        raise PermissionDenied(MAY_NOT_SET_LIMITS)
    errors: dict[str, str] = {}
    if message := _validate_open_ready_steps(open_ready_steps):
        errors["open_ready_steps"] = message
    required_ids, message = _validate_required_first(required_first_ids)
    if message:
        errors["required_first_ids"] = message
    if not isinstance(approval_required, bool):
        errors["approval_required"] = NOT_A_YES_NO
    if errors:
        raise ValidationError(errors)
    limits, _ = ChoiceLimits.objects.update_or_create(
        section=section,
        defaults={"open_ready_steps": open_ready_steps, "approval_required": approval_required, "updated_by": by},
    )
    limits.required_first.set(required_ids)
    logger.info("choice limits set: section %s by user %s", section.pk, by.pk)
    return limits


# --- choosing -------------------------------------------------------------------------------------


def _join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _locked_message(step: PathStep) -> str:
    waiting = choice_selectors.unmastered_prerequisites(
        student_id=step.path.student_id, competency_id=step.competency_id
    )
    if not waiting:  # the step's state has not caught up with mastery yet (the night updates it)
        return STEP_LOCKED_UNNAMED
    return STEP_LOCKED.format(prerequisites=_join_names([c.code for c in waiting]))


def _refusal_for_state(step: PathStep) -> str | None:
    """Why a step in this state cannot be chosen at all (None when it is ready or in progress)."""
    if step.state == PathStep.State.LOCKED:
        return _locked_message(step)
    if step.state == PathStep.State.MASTERED:
        return STEP_MASTERED
    if step.state == PathStep.State.SKIPPED:
        return STEP_SKIPPED
    return None


def _own_step_for_update(student: User, step_id: Any) -> PathStep:
    """The step, if it is in one of the student's paths, with that path locked: two choices by the same
    student are serialized, so exactly one pending choice survives. Unknown and foreign steps alike are
    "not in your path" (a crafted id learns nothing)."""
    path_id = (
        PathStep.objects.filter(pk=step_id, path__student=student).values_list("path_id", flat=True).first()
        if isinstance(step_id, int) and not isinstance(step_id, bool)
        else None
    )
    if path_id is None:
        raise ValidationError({"step_id": STEP_NOT_IN_PATH})
    LearningPath.objects.select_for_update().filter(pk=path_id).get()
    return PathStep.objects.select_related("path__framework", "path__term", "competency").get(pk=step_id)


def _check_step_open(step: PathStep) -> choice_selectors.EffectiveChoiceLimits:
    if message := _refusal_for_state(step):
        raise ValidationError({"step_id": message})
    limits = choice_selectors.choice_limits_for_path(path=step.path)
    ready = list(step.path.steps.filter(state__in=choice_selectors.CHOOSABLE_STATES).order_by("order"))
    if step.pk not in {s.pk for s in choice_selectors.open_steps(ready, limits)}:
        raise ValidationError({"step_id": STEP_NOT_OPEN})
    return limits


def _approved_activity_for(step: PathStep, activity_id: Any) -> Activity:
    activity = (
        Activity.objects.filter(pk=activity_id).first()
        if isinstance(activity_id, int) and not isinstance(activity_id, bool)
        else None
    )
    if activity is None:
        raise ValidationError({"activity_id": NO_SUCH_ACTIVITY})
    if activity.review_status != Activity.Review.APPROVED:
        raise ValidationError({"activity_id": ACTIVITY_NOT_APPROVED})
    if not activity.competencies.filter(pk=step.competency_id).exists():
        raise ValidationError({"activity_id": ACTIVITY_OTHER_COMPETENCY})
    return activity


@transaction.atomic
def step_choose(*, student_user: User, step_id: int, activity_id: int | None = None) -> StepChoice:
    """A student chooses what to work on next: a step of their own path that is ready (or in progress)
    and open under their teacher's limits, optionally with an approved activity for its competency.
    Pending when the limits ask for approval, else approved at once. Replaces their pending choice in
    the same path. The step's state is left to mastery."""
    if not access.can_choose_own_steps(student_user):
        raise PermissionDenied(MAY_NOT_CHOOSE)
    step = _own_step_for_update(student_user, step_id)
    limits = _check_step_open(step)
    activity = None if activity_id is None else _approved_activity_for(step, activity_id)
    StepChoice.objects.filter(step__path_id=step.path_id, status=StepChoice.Status.PENDING).update(
        status=StepChoice.Status.REPLACED
    )
    status = StepChoice.Status.PENDING if limits.approval_required else StepChoice.Status.APPROVED
    choice = StepChoice.objects.create(step=step, activity=activity, status=status)
    logger.info("step chosen: step %s by student %s (%s)", step.pk, student_user.pk, status)
    return choice


# --- deciding -------------------------------------------------------------------------------------


def _pending_choice_for_update(choice_id: Any, by: User) -> StepChoice:
    choice = (
        StepChoice.objects.select_for_update(of=("self",))
        .select_related("step__path", "activity")
        .filter(pk=choice_id)
        .first()
        if isinstance(choice_id, int) and not isinstance(choice_id, bool)
        else None
    )
    if choice is None:
        raise ValidationError({"choice_id": NO_SUCH_CHOICE})
    if not access.can_decide_step_choices(by, choice.step.path.student_id):
        raise PermissionDenied(MAY_NOT_DECIDE)
    if choice.status != StepChoice.Status.PENDING:
        raise ValidationError({"choice_id": CHOICE_ALREADY_DECIDED.format(status=choice.get_status_display().lower())})
    return choice


def _check_still_approvable(choice: StepChoice) -> None:
    """An approval hands the student work now: the step must still be workable and the activity still
    approved. (The teacher's approval stands above the open count: the teacher sets the limits.)"""
    step = choice.step
    if step.state not in choice_selectors.CHOOSABLE_STATES:
        raise ValidationError({"choice_id": CHOICE_STEP_NO_LONGER_OPEN.format(state=step.get_state_display().lower())})
    if choice.activity is not None and choice.activity.review_status != Activity.Review.APPROVED:
        raise ValidationError({"choice_id": CHOICE_ACTIVITY_NO_LONGER_APPROVED})


@transaction.atomic
def step_choice_decide(*, choice_id: int, approve: bool, by: User, note: str = "") -> StepChoice:
    """A teacher of the student approves or declines a pending choice, optionally with a word to the
    student. A declined choice stops being current; the student's previous approved choice, if any,
    is current again."""
    choice = _pending_choice_for_update(choice_id, by)
    if approve:
        _check_still_approvable(choice)
    choice.status = StepChoice.Status.APPROVED if approve else StepChoice.Status.DECLINED
    choice.decided_by = by
    choice.decided_at = timezone.now()
    choice.decision_note = (note or "").strip()
    choice.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    logger.info("step choice %s %s by user %s", choice.pk, choice.status, by.pk)
    return choice
