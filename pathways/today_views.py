"""HTML pages of the teacher's workspace: Today (the teacher's home: ranked alerts to act on, suggested small
groups per section, planned sessions, and the class rosters), planning a small-group session, and recording
its ratings.

Thin: parse, check access (profiles/access.py only), call one selector or service, render. The workspace
is for teachers (anyone else gets 404), about the sections they actively teach. A refused change re-renders
the page with status 400 and the service's message; nothing is changed. Alert actions answer htmx requests
with the refreshed alert list (no full reload) and plain form posts with a redirect back to Today.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from profiles import access
from profiles import selectors as profile_selectors
from profiles.models import Role, Section, User

from . import page_selectors, services, workspace_selectors
from .forms import NoteForm
from .models import Activity, PacingAlert, SmallGroupSession
from .services import groups
from .views import Refusal, _int, _refusal, _viewer

RECENT_DONE_DAYS = 14
# What Today shows before "show all": the alerts that most need an adult, the groups that help the most.
TODAY_ALERTS_SHOWN = 15
GROUPS_SHOWN_PER_SECTION = 4


def _teacher(request: HttpRequest) -> User:
    user = _viewer(request)
    if Role.TEACHER not in access.user_roles(user):
        raise Http404("No such page.")
    return user


def _today_url(anchor: str = "") -> str:
    return reverse("teacher-home") + (f"#{anchor}" if anchor else "")


# --- Today ----------------------------------------------------------------------------------------------


# Any id works: it only marks where each alert's or student's id goes in the reversed URL.
_ID = 987654321


def _url_of(name: str) -> Any:
    """A function id -> the URL of the route `name` for that id, reversing the route once (Today links four
    routes per alert; reversing each of them per alert was a sizeable part of rendering the page)."""
    pattern = reverse(name, args=[_ID])
    return lambda pk: pattern.replace(str(_ID), str(pk))


def _with_urls(items: list[workspace_selectors.TodayAlert]) -> list[workspace_selectors.TodayAlert]:
    acknowledge, resolve = _url_of("today-alert-acknowledge"), _url_of("today-alert-resolve")
    path, profile = _url_of("path-page"), _url_of("student-profile")
    for item in items:
        alert = item.alert
        item.urls = {
            "acknowledge": acknowledge(alert.pk),
            "resolve": resolve(alert.pk),
            "path": path(alert.student_id) + (f"?path={alert.path_id}" if alert.path_id else "") + "#alerts",
            "profile": profile(alert.student_id),
        }
    return items


def _alerts_context(
    user: User,
    *,
    refusal: Refusal | None = None,
    done: str = "",
    show_all: bool = False,
    students: dict[int, list[str]] | None = None,
) -> dict[str, Any]:
    limit = None if show_all else TODAY_ALERTS_SHOWN
    today = workspace_selectors.today_alerts(user, students=students, limit=limit)
    shown = today.alerts
    if refusal is not None and refusal.alert_id is not None and all(i.alert.pk != refusal.alert_id for i in shown):
        # The refused alert is further down the ranking: show it too, with its message.
        every = workspace_selectors.today_alerts(user, students=students).alerts
        shown = shown + [i for i in every if i.alert.pk == refusal.alert_id]
    return {
        "today": _with_urls(shown),
        "today_total": today.total,
        "refusal": refusal,
        "done": done,
        "all_alerts": show_all,
    }


def _today_context(
    user: User, *, refusal: Refusal | None = None, all_alerts: bool = False, all_groups: bool = False
) -> dict[str, Any]:
    sections = profile_selectors.sections_taught_by(user, access.workspace_sections(user))
    rosters = profile_selectors.rosters(sections, visible_students=access.visible_students(user))
    taught = [roster.section for roster in rosters]
    # The rosters hold the teacher's students (those they see in the sections they teach): the alerts and the
    # suggestions start from them instead of asking again.
    members = {roster.section.pk: [row.student for row in roster.rows] for roster in rosters}
    students: dict[int, list[str]] = {}
    for roster in rosters:
        for row in roster.rows:
            students.setdefault(row.student.pk, []).append(roster.section.name)
    suggestions = workspace_selectors.sections_small_group_suggestions(taught, members=members)
    today = timezone.localdate()
    return {
        **_alerts_context(user, refusal=refusal, show_all=all_alerts, students=students),
        "rosters": rosters,
        "groups": [
            (section, found if all_groups else found[:GROUPS_SHOWN_PER_SECTION], len(found))
            for section in taught
            for found in [suggestions.get(section.pk, [])]
        ],
        "all_groups": all_groups,
        "sessions": workspace_selectors.workspace_sessions(
            taught, done_since=today - datetime.timedelta(days=RECENT_DONE_DAYS)
        ),
        "on": today,
    }


@require_GET
@login_required
def today(request: HttpRequest) -> HttpResponse:
    """The teacher's home: who needs them today, in which small group, about what."""
    user = _teacher(request)
    context = _today_context(user, all_alerts="alerts" in request.GET, all_groups="groups" in request.GET)
    return render(request, "pathways/today.html", context)


def _today_alert(request: HttpRequest, alert_id: int) -> tuple[User, PacingAlert]:
    """An unresolved or resolved alert of one of the teacher's students; anything else is 404."""
    user = _teacher(request)
    alert = (
        PacingAlert.objects.filter(pk=alert_id, student__in=access.workspace_students(user).values("pk"))
        .select_related("student")
        .first()
    )
    if alert is None:
        raise Http404("No such alert.")
    return user, alert


def _alert_to_focus(shown: list[workspace_selectors.TodayAlert], acted_id: int, rank: int) -> int | None:
    """The alert whose first action takes the keyboard focus once the list is swapped in after acting on
    `acted_id`, ranked `rank` before: the one that now follows where it was (an acknowledged alert keeps its
    place, a resolved one leaves it); None when no alert follows."""
    others = [item.alert.pk for item in shown if item.alert.pk != acted_id]
    return others[rank - 1] if 0 < rank <= len(others) else None


def _today_alert_action(request: HttpRequest, alert_id: int, write: Any, done: str) -> HttpResponse:
    user, alert = _today_alert(request, alert_id)
    form = NoteForm(request.POST)
    refusal: Refusal | None = None
    if not form.is_valid():
        refusal = _refusal(form, alert_id=alert.pk)
    else:
        try:
            write(user, form.cleaned_data["note"])
        except ValidationError as error:
            refusal = _refusal(error, alert_id=alert.pk)
    who = workspace_selectors.student_name(alert.student)
    message = done.format(who=who, kind=alert.get_kind_display().lower())
    if request.htmx:  # type: ignore[attr-defined]
        show_all = request.POST.get("all") == "1"
        context = _alerts_context(user, refusal=refusal, done="" if refusal else message, show_all=show_all)
        # The button that was pressed is swapped away: the refused alert's note box, else the next alert's first
        # action, else the outcome message takes the focus (htmx focuses what says autofocus).
        focus = None if refusal else _alert_to_focus(context["today"], alert.pk, _int(request.POST.get("rank")) or 1)
        context.update(oob=True, focus_alert=focus, focus_status=refusal is None and focus is None)
        return render(request, "pathways/_today_alerts.html", context, status=400 if refusal else 200)
    if refusal is not None:
        return render(request, "pathways/today.html", _today_context(user, refusal=refusal), status=400)
    messages.success(request, message)
    return HttpResponseRedirect(_today_url("today"))


@require_POST
@login_required
def today_alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _today_alert_action(
        request,
        alert_id,
        lambda user, note: services.alert_acknowledge(alert_id=alert_id, by=user, note=note),
        "Acknowledged: {who}'s {kind} alert. It stays listed until its condition clears or you resolve it.",
    )


@require_POST
@login_required
def today_alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _today_alert_action(
        request,
        alert_id,
        lambda user, note: services.alert_resolve(alert_id=alert_id, by=user, note=note),
        "Resolved: {who}'s {kind} alert.",
    )


# --- planning a small-group session ---------------------------------------------------------------------------


def _plan_context(user: User, section: Section, data: dict[str, Any]) -> dict[str, Any]:
    """What the plan form shows: the section's students (the chosen ones ticked), the competencies, and the
    approved materials of the chosen competency."""
    roster = profile_selectors.section_roster(section, visible_students=access.visible_students(user))
    competencies = page_selectors.section_limit_competencies(section)
    competency_id = _int(data.get("competency"))
    known = {c.pk for c in competencies}
    if competency_id is not None and competency_id not in known:
        extra = page_selectors.activity_competencies()
        competencies = [c for c in extra if c.pk == competency_id] + competencies
    materials = page_selectors.approved_activities_by_competency([competency_id] if competency_id else [])
    chosen_materials = {str(m) for m in data.get("materials", [])}
    chosen = {str(s) for s in data.get("students", [])}
    return {
        "section": section,
        "chosen_rows": [row for row in roster.rows if str(row.student.pk) in chosen],
        "other_rows": [row for row in roster.rows if str(row.student.pk) not in chosen],
        "competencies": competencies,
        "competency_id": competency_id,
        "chosen_students": chosen,
        "materials": materials.get(competency_id or 0, []),
        "chosen_materials": chosen_materials,
        "planned_for": data.get("planned_for") or timezone.localdate().isoformat(),
        "origin": data.get("origin") or SmallGroupSession.Origin.TEACHER,
        "why": data.get("why", ""),
        "note": data.get("note", ""),
    }


def _suggested_why(section: Section, origin: str, competency_id: int | None, students: list[str]) -> str:
    """The why of the current suggestion with exactly these students, if there is one."""
    wanted = {_int(s) for s in students}
    for suggestion in workspace_selectors.small_group_suggestions(section):
        if (
            suggestion.origin == origin
            and suggestion.competency.pk == competency_id
            and {s.pk for s in suggestion.students} == wanted
        ):
            return suggestion.why
    return ""


@require_http_methods(["GET", "POST"])
@login_required
def small_group_plan(request: HttpRequest, section_id: int) -> HttpResponse:
    """The plan form, prefilled from a suggestion (`?origin=&competency=&students=...`); its POST plans it."""
    user = _teacher(request)
    section = access.get_workspace_section_or_404(user, section_id)
    data: dict[str, Any]
    if request.method == "GET":
        data = {
            "origin": request.GET.get("origin", ""),
            "competency": request.GET.get("competency", ""),
            "students": request.GET.getlist("students"),
            "materials": [],
        }
        if data["origin"] not in SmallGroupSession.Origin.values:
            data["origin"] = SmallGroupSession.Origin.TEACHER
        data["why"] = _suggested_why(section, data["origin"], _int(data["competency"]), data["students"])
        return render(
            request, "pathways/small_group_plan.html", {**_plan_context(user, section, data), "refusal": None}
        )
    data = {
        "origin": request.POST.get("origin", ""),
        "competency": request.POST.get("competency", ""),
        "students": request.POST.getlist("students"),
        "materials": request.POST.getlist("materials"),
        "planned_for": request.POST.get("planned_for", ""),
        "why": request.POST.get("why", ""),
        "note": request.POST.get("note", ""),
    }
    planned_for: datetime.date | None = None
    try:
        planned_for = datetime.date.fromisoformat(data["planned_for"].strip())
    except ValueError:
        planned_for = None
    try:
        session = groups.session_plan(
            section_id=section.pk,
            competency_id=data["competency"],
            student_ids=data["students"],
            planned_for=planned_for,
            by=user,
            material_ids=data["materials"],
            note=data["note"],
            origin=data["origin"],
            why=data["why"],
        )
    except ValidationError as error:
        context = {**_plan_context(user, section, data), "refusal": _refusal(error)}
        return render(request, "pathways/small_group_plan.html", context, status=400)
    count = session.members.count()
    messages.success(
        request,
        f"Session planned: {session.competency.code} with {count} student{'s' if count != 1 else ''} on "
        f"{session.planned_for:%-d %B}.",
    )
    return HttpResponseRedirect(_today_url(f"session-{session.pk}"))


# --- a session and its ratings -----------------------------------------------------------------------------


def _workspace_session(request: HttpRequest, session_id: int) -> tuple[User, SmallGroupSession]:
    user = _teacher(request)
    session = (
        SmallGroupSession.objects.filter(pk=session_id, section__in=access.workspace_sections(user))
        .select_related("section__term", "competency", "created_by")
        .prefetch_related("materials")
        .first()
    )
    if session is None:
        raise Http404("No such session.")
    return user, session


def _session_response(
    request: HttpRequest,
    session: SmallGroupSession,
    *,
    refusal: Refusal | None = None,
    entered: dict[str, str] | None = None,
    done: tuple[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The session's page; for htmx its body only, with `done` ((message level, words): what the ratings did)
    for the page's status region, swapped out of band."""
    members = workspace_selectors.session_members(session)
    entered = entered or {}
    rows = [
        (
            member,
            entered.get(str(member.student.pk), "" if member.rating is None else str(member.rating)),
            bool(entered) and entered.get(str(member.student.pk), "") not in ("", "1", "2", "3", "4"),
        )
        for member in members
    ]
    unrated = [member.student.pk for member in members if member.rating is None and member.active]
    refused = [member.student.pk for member, _value, invalid in rows if invalid]
    context = {
        "session": session,
        "rows": rows,
        "materials": list(session.materials.all()),
        "refusal": refusal,
        "can_rate": session.status != SmallGroupSession.Status.CANCELLED
        and session.planned_for <= timezone.localdate(),
        "unrated": bool(unrated),
        # Where the keyboard focus goes: the first refused box, else the first box to fill in; after ratings were
        # saved through htmx, the outcome message instead (its Save button is swapped away).
        "focus_input": None if done else next(iter(refused or unrated), None),
        "scale": [(4, "Exceeds"), (3, "Meets"), (2, "Approaching"), (1, "Beginning")],
    }
    if request.htmx:  # type: ignore[attr-defined]
        level, words = done or ("", "")
        context.update(oob=True, done=words, done_level=level)
        return render(request, "pathways/_session_body.html", context, status=status)
    return render(request, "pathways/small_group_session.html", context, status=status)


@require_GET
@login_required
def small_group_session(request: HttpRequest, session_id: int) -> HttpResponse:
    _, session = _workspace_session(request, session_id)
    return _session_response(request, session)


@require_POST
@login_required
def small_group_ratings(request: HttpRequest, session_id: int) -> HttpResponse:
    """One rating per student in one form: fields `rating-<student id>`; a blank one is not rated."""
    user, session = _workspace_session(request, session_id)
    entered = {
        key.removeprefix("rating-"): str(request.POST.get(key, "")).strip()
        for key in request.POST
        if key.startswith("rating-")
    }
    ratings = {student: value for student, value in entered.items() if value != ""}
    try:
        recorded = groups.session_record_ratings(session_id=session.pk, ratings=ratings, by=user)
    except ValidationError as error:
        return _session_response(request, session, refusal=_refusal(error), entered=entered, status=400)
    if recorded.stored:
        done = (
            "success",
            f"{recorded.stored} rating{'s' if recorded.stored != 1 else ''} recorded as evidence on "
            f"{session.competency.code}; mastery and paths are updated.",
        )
    else:
        done = ("info", "These ratings were recorded already; nothing new was stored.")
    if request.htmx:  # type: ignore[attr-defined]
        _, session = _workspace_session(request, session_id)  # done now: read again
        return _session_response(request, session, done=done)
    messages.add_message(request, messages.SUCCESS if done[0] == "success" else messages.INFO, done[1])
    return HttpResponseRedirect(reverse("small-group-session", args=[session.pk]))


@require_POST
@login_required
def small_group_cancel(request: HttpRequest, session_id: int) -> HttpResponse:
    user, session = _workspace_session(request, session_id)
    try:
        groups.session_cancel(session_id=session.pk, by=user)
    except ValidationError as error:
        return _session_response(request, session, refusal=_refusal(error), status=400)
    messages.success(request, f"Session on {session.competency.code} cancelled.")
    return HttpResponseRedirect(_today_url("sessions"))


__all__ = [
    "Activity",
    "small_group_cancel",
    "small_group_plan",
    "small_group_ratings",
    "small_group_session",
    "today",
    "today_alert_acknowledge",
    "today_alert_resolve",
]
