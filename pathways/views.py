"""HTML pages of the pathways app: a student's path (the student chooses their next step; staff see pacing,
alerts and edit the path), a section's choice limits and pending choices, and the activity library.

Thin: parse, check access (profiles/access.py only), call one selector or service, render.
Unknown and forbidden records both answer 404; a record the user sees but may not change answers 403.
A refused change (ValidationError) re-renders the page with status 400 and the service's message, naming
the field; nothing is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from profiles import access
from profiles.models import LearnerProfile, Section, User

from . import choice_selectors, page_selectors, selectors, services
from .forms import (
    ActivityForm,
    ActivityReviewForm,
    ChoiceDecisionForm,
    ChoiceLimitsForm,
    NoteForm,
    PathDatesForm,
    StepAddForm,
    StepMoveForm,
    StepSkipForm,
)
from .models import Activity, ChoiceLimits, LearningPath, PacingAlert, PathStep, StepChoice
from .services import activities as activity_services
from .services import choice as choice_services

# What each field a service names is called on the page.
FIELD_LABELS = {
    "step": "Step",
    "step_id": "Step",
    "position": "Position",
    "reason": "Why skip it",
    "competency": "Competency",
    "start_date": "Start date",
    "target_date": "Target date",
    "path": "Path",
    "framework": "Framework",
    "term": "Term",
    "student": "Student",
    "target_competency_ids": "Targets",
    "activity_id": "Activity",
    "choice_id": "Choice",
    "alert": "Alert",
    "note": "Note",
    "section_id": "Section",
    "open_ready_steps": "Ready steps open to choose from",
    "required_first_ids": "Required first",
    "approval_required": "A teacher approves each choice",
    "title": "Title",
    "url": "Link",
    "description": "Description",
    "competency_ids": "Competencies",
    "status": "Review",
}


@dataclass
class Refusal:
    """Why a change was refused, as (field label, message) pairs, and where on the page it was asked."""

    errors: list[tuple[str, str]] = field(default_factory=list)
    step_id: int | None = None
    alert_id: int | None = None
    choice_id: int | None = None
    activity_id: int | None = None
    area: str = ""  # "choose", "dates", "add", "generate", "limits", "activity"


def _refusal(error: ValidationError | forms.Form, **where: Any) -> Refusal:
    pairs: list[tuple[str, str]] = []
    if isinstance(error, forms.Form):
        for name, form_errors in error.errors.items():
            label = str(error.fields[name].label) if name in error.fields else ""
            pairs.extend((label, str(message)) for message in form_errors)
    elif hasattr(error, "error_dict"):
        for name, messages_of_field in error.message_dict.items():
            label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
            pairs.extend((label if name != "__all__" else "", str(message)) for message in messages_of_field)
    else:
        pairs.extend(("", str(message)) for message in error.messages)
    return Refusal(pairs, **where)


# --- helpers -------------------------------------------------------------------------------------


def _viewer(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _path_url(student_id: int, path_id: int | None = None, anchor: str = "") -> str:
    url = reverse("path-page", args=[student_id])
    if path_id is not None:
        url += f"?path={path_id}"
    return url + (f"#{anchor}" if anchor else "")


def _visible_path(request: HttpRequest, path_id: int) -> tuple[LearnerProfile, LearningPath]:
    """The path and its student's profile; 404 when unknown or when the viewer does not see the student."""
    path = LearningPath.objects.filter(pk=path_id).only("student_id").first()
    if path is None:
        raise Http404("No such path.")
    profile = access.get_learner_profile_or_404(request.user, path.student_id)
    return profile, _path_for_page(profile, path_id)


def _path_for_page(profile: LearnerProfile, path_id: int) -> LearningPath:
    path = selectors.student_paths(student_id=profile.pk).select_related("student__learner_profile").get(pk=path_id)
    return path


def _editable_path(request: HttpRequest, path_id: int) -> tuple[LearnerProfile, LearningPath]:
    profile, path = _visible_path(request, path_id)
    if not access.can_edit_path(request.user, profile):
        raise PermissionDenied("You can read this path but not change it.")
    return profile, path


def _editable_step(request: HttpRequest, step_id: int) -> tuple[LearnerProfile, LearningPath, PathStep]:
    step = PathStep.objects.filter(pk=step_id).select_related("competency").first()
    if step is None:
        raise Http404("No such step.")
    profile, path = _editable_path(request, step.path_id)
    return profile, path, step


# --- the path page ----------------------------------------------------------------------------------


# The order states are counted and explained in: done first, then what can be worked on, then what waits.
STATE_ORDER = [
    PathStep.State.MASTERED,
    PathStep.State.READY,
    PathStep.State.IN_PROGRESS,
    PathStep.State.LOCKED,
    PathStep.State.SKIPPED,
]


@dataclass(frozen=True)
class StrandRow:
    group: selectors.StrandSteps
    mastered: int
    done: bool  # every step mastered or skipped: shown folded


def _strand_row(group: selectors.StrandSteps) -> StrandRow:
    states = [v.step.state for v in group.steps]
    mastered = sum(1 for state in states if state == PathStep.State.MASTERED)
    done = all(state in (PathStep.State.MASTERED, PathStep.State.SKIPPED) for state in states)
    return StrandRow(group, mastered, done)


def _number_rows(numbers: dict[str, Any]) -> list[tuple[str, str]]:
    """An alert's stored numbers, labelled in words: ("School days without evidence", "52")."""
    rows = []
    for name, value in numbers.items():
        if value is None:
            text = "none"
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, float):
            text = f"{value:.2f}".rstrip("0").rstrip(".")
        else:
            text = str(value)
        rows.append((name.replace("_", " ").capitalize(), text))
    return rows


def _path_context(
    request: HttpRequest, profile: LearnerProfile, path: LearningPath | None, paths: list[LearningPath]
) -> dict[str, Any]:
    user = _viewer(request)
    is_self = profile.pk == user.pk
    can_edit = access.can_edit_path(user, profile)
    sees_alerts = access.alert_students(user).filter(pk=profile.pk).exists()
    context: dict[str, Any] = {
        "profile": profile,
        "student": profile.user,
        "is_self": is_self,
        "paths": paths,
        "path": path,
        "view": None,
        "can_edit": can_edit,
        "sees_alerts": sees_alerts,
        "goals": page_selectors.student_goals(student_id=profile.pk),
        "alerts": [(a, _number_rows(a.numbers)) for a in selectors.open_alerts(student_ids=[profile.pk])]
        if sees_alerts
        else [],
        "refusal": None,
    }
    if path is None:
        return context
    view = selectors.student_path(path=path)
    can_choose = is_self and access.can_choose_own_steps(user)
    open_steps = choice_selectors.choosable_steps(student_id=profile.pk, path_id=path.pk) if can_choose else []
    activities = page_selectors.approved_activities_by_competency(s.competency_id for s in open_steps)
    current = choice_selectors.current_step_choice(path_id=path.pk)
    latest = page_selectors.latest_step_choice(path_id=path.pk)
    context.update(
        view=view,
        strands=[_strand_row(group) for group in view.strands],
        progress=page_selectors.path_progress(view.steps),
        step_count=len(view.steps),
        pacing_words=view.pacing_for_student if is_self else view.pacing_for_teacher,
        can_choose=can_choose,
        open_steps=[(step, activities.get(step.competency_id, [])) for step in open_steps],
        open_ids={step.pk for step in open_steps},
        limits=choice_selectors.choice_limits_for_path(path=path),
        current_choice=current,
        declined_choice=latest if latest is not None and latest.status == StepChoice.Status.DECLINED else None,
        can_decide=current is not None
        and current.status == StepChoice.Status.PENDING
        and access.can_decide_step_choices(user, profile.pk),
        addable=page_selectors.addable_competencies(path) if can_edit else [],
        add_form=StepAddForm(competencies=page_selectors.addable_competencies(path)) if can_edit else None,
        dates_form=PathDatesForm(initial={"start_date": path.start_date, "target_date": path.target_date}),
        states=[(state, PathStep.State(state).label) for state in STATE_ORDER],
    )
    return context


def _path_response(
    request: HttpRequest,
    profile: LearnerProfile,
    path: LearningPath | None,
    *,
    refusal: Refusal | None = None,
    status: int = 200,
    overrides: dict[str, Any] | None = None,
) -> HttpResponse:
    paths = list(selectors.student_paths(student_id=profile.pk))
    context = _path_context(request, profile, path, paths)
    context["refusal"] = refusal
    context.update(overrides or {})
    return render(request, "pathways/path.html", context, status=status)


@require_GET
@login_required
def path_page(request: HttpRequest, student_id: int) -> HttpResponse:
    """The student's path: theirs to choose from, or staff's to steer (`?path=<id>` picks another path)."""
    profile = access.get_learner_profile_or_404(request.user, student_id)
    paths = list(selectors.student_paths(student_id=profile.pk).select_related("student__learner_profile"))
    wanted = _int(request.GET.get("path"))
    if "path" in request.GET:
        path = next((p for p in paths if p.pk == wanted), None)
        if path is None:
            raise Http404("No such path.")
    else:
        path = paths[0] if paths else None
    context = _path_context(request, profile, path, paths)
    return render(request, "pathways/path.html", context)


@require_GET
@login_required
def path_summary(request: HttpRequest, student_id: int) -> HttpResponse:
    """The learner profile page's path card, loaded with htmx (the page links to the path without JS)."""
    profile = access.get_learner_profile_or_404(request.user, student_id)
    path = selectors.student_paths(student_id=profile.pk).select_related("student__learner_profile").first()
    context: dict[str, Any] = {"student": profile.user, "is_self": profile.pk == request.user.pk, "path": path}
    if path is not None:
        view = selectors.student_path(path=path)
        context.update(
            view=view,
            progress=page_selectors.path_progress(view.steps),
            pacing_words=view.pacing_for_student if context["is_self"] else view.pacing_for_teacher,
        )
    if access.alert_students(request.user).filter(pk=profile.pk).exists():
        context["alert_count"] = len(selectors.open_alerts(student_ids=[profile.pk]))
    return render(request, "pathways/_summary.html", context)


# --- the student chooses ------------------------------------------------------------------------------


@require_POST
@login_required
def path_choose(request: HttpRequest, student_id: int) -> HttpResponse:
    """A student chooses their next step (and an activity for it) among the open ones."""
    user = _viewer(request)
    profile = access.get_learner_profile_or_404(user, student_id)
    if profile.pk != user.pk:
        raise PermissionDenied(choice_services.MAY_NOT_CHOOSE)
    raw_step, raw_activity = request.POST.get("step", ""), request.POST.get("activity", "")
    step_id: Any = _int(raw_step) if _int(raw_step) is not None else raw_step
    activity_id: Any = None if not raw_activity.strip() else (_int(raw_activity) or raw_activity)
    step = PathStep.objects.filter(pk=step_id, path__student_id=profile.pk).first() if _int(raw_step) else None
    try:
        chosen = choice_services.step_choose(student_user=user, step_id=step_id, activity_id=activity_id)
    except ValidationError as error:
        path = _path_for_page(profile, step.path_id) if step else None
        if path is None:
            path = selectors.student_paths(student_id=profile.pk).select_related("student__learner_profile").first()
        return _path_response(request, profile, path, refusal=_refusal(error, area="choose"), status=400)
    if chosen.status == StepChoice.Status.PENDING:
        messages.success(request, f"You chose {chosen.step.competency.code}. It waits for your teacher's approval.")
    else:
        messages.success(request, f"You chose {chosen.step.competency.code}. Get started!")
    return HttpResponseRedirect(_path_url(profile.pk, chosen.step.path_id, "choice"))


# --- staff edit the path ----------------------------------------------------------------------------


def _edit(
    request: HttpRequest,
    profile: LearnerProfile,
    path: LearningPath,
    write: Callable[[], Any],
    done: str,
    *,
    anchor: str = "",
    **where: Any,
) -> HttpResponse:
    """Run one service write; on refusal re-render the path with the message (400), else redirect."""
    try:
        write()
    except ValidationError as error:
        return _path_response(request, profile, path, refusal=_refusal(error, **where), status=400)
    messages.success(request, done)
    return HttpResponseRedirect(_path_url(profile.pk, path.pk, anchor))


def _form_refusal(request: HttpRequest, profile: LearnerProfile, path: LearningPath, form: forms.Form, **where: Any):
    return _path_response(request, profile, path, refusal=_refusal(form, **where), status=400)


@require_POST
@login_required
def path_generate(request: HttpRequest, student_id: int) -> HttpResponse:
    """Create the student's path, or regenerate one (`path` field): a fresh order, the teacher's work kept."""
    user = _viewer(request)
    profile = access.get_learner_profile_or_404(user, student_id)
    if not access.can_edit_path(user, profile):
        raise PermissionDenied("You can read this path but not change it.")
    path_id = _int(request.POST.get("path"))
    path = None
    if path_id is not None:
        path = next((p for p in selectors.student_paths(student_id=profile.pk) if p.pk == path_id), None)
        if path is None:
            raise Http404("No such path.")
    try:
        made = services.path_generate(
            student_id=profile.pk,
            framework_id=path.framework_id if path else None,
            term_id=path.term_id if path else None,
            created_by=user,
        )
    except ValidationError as error:
        return _path_response(request, profile, path, refusal=_refusal(error, area="generate"), status=400)
    messages.success(
        request, "Path regenerated: a fresh order, your additions, pins and skips kept." if path else "Path created."
    )
    return HttpResponseRedirect(_path_url(profile.pk, made.pk))


@require_POST
@login_required
def path_dates(request: HttpRequest, path_id: int) -> HttpResponse:
    profile, path = _editable_path(request, path_id)
    form = PathDatesForm(request.POST)
    if not form.is_valid():
        return _path_response(
            request, profile, path, refusal=_refusal(form, area="dates"), status=400, overrides={"dates_form": form}
        )
    data = form.cleaned_data
    return _edit(
        request,
        profile,
        path,
        lambda: services.path_dates_set(
            path_id=path.pk, start_date=data["start_date"], target_date=data["target_date"]
        ),
        "Dates saved.",
        anchor="path-settings",
        area="dates",
    )


@require_POST
@login_required
def path_step_add(request: HttpRequest, path_id: int) -> HttpResponse:
    profile, path = _editable_path(request, path_id)
    competency_id = _int(request.POST.get("competency"))
    if competency_id is None:
        error = ValidationError({"competency": "Choose a competency to add."})
        return _path_response(request, profile, path, refusal=_refusal(error, area="add"), status=400)
    return _edit(
        request,
        profile,
        path,
        lambda: services.path_step_add(path_id=path.pk, competency_id=competency_id),
        "Competency added to the path, with any prerequisites it still needs.",
        anchor="path-settings",
        area="add",
    )


@require_POST
@login_required
def path_step_move(request: HttpRequest, step_id: int) -> HttpResponse:
    profile, path, step = _editable_step(request, step_id)
    form = StepMoveForm(request.POST)
    if not form.is_valid():
        return _form_refusal(request, profile, path, form, step_id=step.pk)
    position = step.order - 1 if form.cleaned_data["direction"] == "up" else step.order + 1
    return _edit(
        request,
        profile,
        path,
        lambda: services.path_step_reorder(step_id=step.pk, position=position),
        f"{step.competency.code} moved to step {position}.",
        anchor=f"step-{step.pk}",
        step_id=step.pk,
    )


@require_POST
@login_required
def path_step_pin(request: HttpRequest, step_id: int) -> HttpResponse:
    profile, path, step = _editable_step(request, step_id)
    pinned = request.POST.get("pinned") == "1"
    done = f"{step.competency.code} is {'pinned: required before free choice' if pinned else 'no longer pinned'}."
    return _edit(
        request,
        profile,
        path,
        lambda: services.path_step_pin(step_id=step.pk, pinned=pinned),
        done,
        anchor=f"step-{step.pk}",
        step_id=step.pk,
    )


@require_POST
@login_required
def path_step_skip(request: HttpRequest, step_id: int) -> HttpResponse:
    profile, path, step = _editable_step(request, step_id)
    form = StepSkipForm(request.POST)
    if not form.is_valid():
        return _form_refusal(request, profile, path, form, step_id=step.pk)
    return _edit(
        request,
        profile,
        path,
        lambda: services.path_step_skip(step_id=step.pk, reason=form.cleaned_data["reason"]),
        f"{step.competency.code} skipped.",
        anchor=f"step-{step.pk}",
        step_id=step.pk,
    )


@require_POST
@login_required
def path_step_unskip(request: HttpRequest, step_id: int) -> HttpResponse:
    profile, path, step = _editable_step(request, step_id)
    return _edit(
        request,
        profile,
        path,
        lambda: services.path_step_unskip(step_id=step.pk),
        f"{step.competency.code} is back on the path.",
        anchor=f"step-{step.pk}",
        step_id=step.pk,
    )


@require_POST
@login_required
def path_step_remove(request: HttpRequest, step_id: int) -> HttpResponse:
    profile, path, step = _editable_step(request, step_id)
    return _edit(
        request,
        profile,
        path,
        lambda: services.path_step_remove(step_id=step.pk),
        f"{step.competency.code} removed from the path.",
        anchor="steps",
        step_id=step.pk,
    )


# --- alerts -------------------------------------------------------------------------------------------


def _actionable_alert(request: HttpRequest, alert_id: int) -> tuple[LearnerProfile, PacingAlert]:
    """Alerts are for staff who see the student; anyone else (the student and guardians too) gets 404."""
    alert = PacingAlert.objects.filter(pk=alert_id).first()
    if alert is None or not access.alert_students(request.user).filter(pk=alert.student_id).exists():
        raise Http404("No such alert.")
    profile = access.get_learner_profile_or_404(request.user, alert.student_id)
    if not access.can_act_on_alerts(request.user, profile):
        raise Http404("No such alert.")
    return profile, alert


def _alert_path(profile: LearnerProfile, alert: PacingAlert) -> LearningPath | None:
    paths = selectors.student_paths(student_id=profile.pk).select_related("student__learner_profile")
    return (paths.filter(pk=alert.path_id).first() if alert.path_id else None) or paths.first()


def _alert_action(request: HttpRequest, alert_id: int, write: Callable[[str], Any], done: str) -> HttpResponse:
    profile, alert = _actionable_alert(request, alert_id)
    path = _alert_path(profile, alert)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    if form.errors:
        return _path_response(request, profile, path, refusal=_refusal(form, alert_id=alert.pk), status=400)
    try:
        write(note)
    except ValidationError as error:
        return _path_response(request, profile, path, refusal=_refusal(error, alert_id=alert.pk), status=400)
    messages.success(request, done)
    return HttpResponseRedirect(_path_url(profile.pk, path.pk if path else None, "alerts"))


@require_POST
@login_required
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = _viewer(request)
    return _alert_action(
        request,
        alert_id,
        lambda note: services.alert_acknowledge(alert_id=alert_id, by=user, note=note),
        "Alert acknowledged. It stays listed until its condition clears or you resolve it.",
    )


@require_POST
@login_required
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = _viewer(request)
    return _alert_action(
        request,
        alert_id,
        lambda note: services.alert_resolve(alert_id=alert_id, by=user, note=note),
        "Alert resolved.",
    )


# --- teachers decide choices ------------------------------------------------------------------------------


@require_POST
@login_required
def step_choice_decide(request: HttpRequest, choice_id: int) -> HttpResponse:
    """A teacher of the student approves or declines a pending choice. From the section's page (a `section`
    field) the answer goes back there; otherwise to the student's path."""
    user = _viewer(request)
    choice = StepChoice.objects.select_related("step__path").filter(pk=choice_id).first()
    if choice is None:
        raise Http404("No such choice.")
    profile = access.get_learner_profile_or_404(user, choice.step.path.student_id)
    section_id = _int(request.POST.get("section"))
    section = access.get_section_or_404(user, section_id) if section_id is not None else None
    path = _path_for_page(profile, choice.step.path_id)
    form = ChoiceDecisionForm(request.POST)
    error: ValidationError | forms.Form | None = None
    if not form.is_valid():
        error = form
    else:
        try:
            choice_services.step_choice_decide(
                choice_id=choice.pk,
                approve=form.cleaned_data["decision"] == "approve",
                by=user,
                note=form.cleaned_data["note"],
            )
        except ValidationError as refused:
            error = refused
    if error is not None:
        refusal = _refusal(error, choice_id=choice.pk)
        if section is not None:
            return _section_choices_response(request, section, refusal=refusal, status=400)
        return _path_response(request, profile, path, refusal=refusal, status=400)
    decided = "approved" if form.cleaned_data["decision"] == "approve" else "declined"
    messages.success(request, f"{profile.user}'s choice of {choice.step.competency.code} {decided}.")
    if section is not None:
        return HttpResponseRedirect(reverse("section-choices", args=[section.pk]))
    return HttpResponseRedirect(_path_url(profile.pk, path.pk, "choice"))


# --- a section's limits and pending choices ---------------------------------------------------------------


def _limits_section(request: HttpRequest, section_id: int) -> Section:
    """Staff who may set the section's limits; anyone else, students and guardians too, gets 404."""
    section = access.get_section_or_404(request.user, section_id)
    if not access.can_set_choice_limits(request.user, section):
        raise Http404("No such page.")
    return section


def _limits_initial(section: Section) -> dict[str, Any]:
    limits = getattr(section, "choice_limits", None)
    if limits is None:
        defaults = ChoiceLimits()  # unsaved: the model's defaults
        return {"open_ready_steps": defaults.open_ready_steps, "approval_required": defaults.approval_required}
    return {
        "open_ready_steps": limits.open_ready_steps,
        "required_first": [c.pk for c in limits.required_first.all()],
        "approval_required": limits.approval_required,
    }


def _section_choices_response(
    request: HttpRequest,
    section: Section,
    *,
    form: ChoiceLimitsForm | None = None,
    refusal: Refusal | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _viewer(request)
    competencies = page_selectors.section_limit_competencies(section)
    section = Section.objects.select_related("school", "term", "choice_limits__updated_by").get(pk=section.pk)
    pending = page_selectors.section_pending_choices(section=section, visible_students=access.visible_students(user))
    context = {
        "section": section,
        "limits": getattr(section, "choice_limits", None),
        "form": form or ChoiceLimitsForm(initial=_limits_initial(section), competencies=competencies),
        "pending": [(c, access.can_decide_step_choices(user, c.step.path.student_id)) for c in pending],
        "refusal": refusal,
    }
    return render(request, "pathways/section_choices.html", context, status=status)


@require_GET
@login_required
def section_choices(request: HttpRequest, section_id: int) -> HttpResponse:
    return _section_choices_response(request, _limits_section(request, section_id))


@require_POST
@login_required
def section_choice_limits(request: HttpRequest, section_id: int) -> HttpResponse:
    section = _limits_section(request, section_id)
    form = ChoiceLimitsForm(request.POST, competencies=page_selectors.section_limit_competencies(section))
    if not form.is_valid():
        return _section_choices_response(request, section, form=form, refusal=_refusal(form, area="limits"), status=400)
    try:
        choice_services.choice_limits_set(
            section_id=section.pk,
            open_ready_steps=form.cleaned_data["open_ready_steps"],
            required_first_ids=form.cleaned_data["required_first"],
            approval_required=form.cleaned_data["approval_required"],
            by=_viewer(request),
        )
    except ValidationError as error:
        return _section_choices_response(
            request, section, form=form, refusal=_refusal(error, area="limits"), status=400
        )
    messages.success(request, "Choice limits saved. They apply to the section's students from now on.")
    return HttpResponseRedirect(reverse("section-choices", args=[section.pk]))


# --- the activity library ------------------------------------------------------------------------------


def _require_reviewer(request: HttpRequest) -> User:
    user = _viewer(request)
    if not access.can_review_activities(user):
        raise Http404("No such page.")
    return user


def _activities_response(
    request: HttpRequest, *, form: ActivityForm | None = None, refusal: Refusal | None = None, status: int = 200
) -> HttpResponse:
    pending, reviewed = page_selectors.activities_for_review()
    context = {
        "form": form or ActivityForm(competencies=page_selectors.activity_competencies()),
        "pending": pending,
        "reviewed": reviewed,
        "refusal": refusal,
    }
    return render(request, "pathways/activities.html", context, status=status)


@require_GET
@login_required
def activity_list(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request)
    return _activities_response(request)


@require_POST
@login_required
def activity_create(request: HttpRequest) -> HttpResponse:
    user = _require_reviewer(request)
    form = ActivityForm(request.POST, competencies=page_selectors.activity_competencies())
    if not form.is_valid():
        return _activities_response(request, form=form, refusal=_refusal(form, area="activity"), status=400)
    data = form.cleaned_data
    try:
        activity = activity_services.activity_create(
            title=data["title"],
            description=data["description"],
            url=data["url"],
            competency_ids=data["competencies"],
            by=user,
        )
    except ValidationError as error:
        return _activities_response(request, form=form, refusal=_refusal(error, area="activity"), status=400)
    messages.success(request, f"“{activity.title}” added. It waits for review before students see it.")
    return HttpResponseRedirect(reverse("activity-list"))


@require_POST
@login_required
def activity_review(request: HttpRequest, activity_id: int) -> HttpResponse:
    user = _require_reviewer(request)
    activity = Activity.objects.filter(pk=activity_id).first()
    if activity is None:
        raise Http404("No such activity.")
    form = ActivityReviewForm(request.POST)
    if not form.is_valid():
        return _activities_response(request, refusal=_refusal(form, activity_id=activity.pk), status=400)
    try:
        activity_services.activity_review(
            activity_id=activity.pk, status=form.cleaned_data["status"], note=form.cleaned_data["note"], by=user
        )
    except ValidationError as error:
        return _activities_response(request, refusal=_refusal(error, activity_id=activity.pk), status=400)
    verb = "approved: students can choose it" if form.cleaned_data["status"] == Activity.Review.APPROVED else "rejected"
    messages.success(request, f"“{activity.title}” {verb}.")
    return HttpResponseRedirect(reverse("activity-list") + "#pending")
