"""Fast evidence from a section's mastery grid, and the learner profile page's alerts card (pathways pages).

Fast evidence posts here (not to mastery) because recording ratings also moves the students' path steps:
the flow spans mastery and pathways, so it lives in the higher app. The grid's own template and its builder
(mastery.grid_page) render the answer, so the cells the teacher sees are the grid's cells.

Thin: parse, check access (profiles/access.py only), call one service or selector, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from mastery import grid_page
from profiles import access

from . import selectors
from .services.ratings import RatingsRecorded, RatingsRefused, ratings_record
from .views import _viewer

RATING_FIELD = "rating-"


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _typed_ratings(post: Any) -> dict[int, str]:
    """The boxes the teacher typed in, by student id (empty boxes are students not rated)."""
    typed: dict[int, str] = {}
    for name, value in post.items():
        suffix = name[len(RATING_FIELD) :]
        if name.startswith(RATING_FIELD) and suffix.isdigit() and value.strip():
            typed[int(suffix)] = value.strip()
    return typed


def _outcome(result: RatingsRecorded, names: dict[int, str]) -> grid_page.Outcome:
    return grid_page.Outcome(
        result.competency,
        result.recorded,
        [(names.get(c.student_id, f"Student {c.student_id}"), c.before_label, c.after_label) for c in result.changes],
    )


@require_POST
@login_required
def section_ratings(request: HttpRequest, section_id: int) -> HttpResponse:
    """Record the typed 1–4 ratings of the section's students on one competency, then answer with the grid:
    an htmx request gets the grid fragment with the changed cells marked; a plain form post is redirected to
    the grid page (POST, redirect, GET). A refused batch stores nothing and answers 400 with the messages
    beside the boxes and the typed values kept."""
    user = _viewer(request)
    if not access.can_see_class_overviews(user):
        raise Http404("No such page.")
    section = access.get_section_or_404(user, section_id)
    if not access.can_record_evidence(user):
        raise PermissionDenied("You can see this grid but not record evidence.")
    filters = grid_page.GridFilters.from_params(request.POST)
    competency_text = request.POST.get("competency", "").strip()
    competency_id = int(competency_text) if competency_text.isdigit() else 0
    typed = _typed_ratings(request.POST)
    note = request.POST.get("note", "").strip()
    batch = request.POST.get("batch", "").strip()[:64] or None
    visible = access.visible_students(user)
    try:
        result = ratings_record(
            competency_id=competency_id,
            ratings=typed,
            note=note,
            by=user,
            section_id=section.pk,
            batch_key=f"{section.pk}:{competency_id}:{batch}" if batch else None,
        )
    except RatingsRefused as refused:
        grid = grid_page.load_grid(section=section, visible_students=visible, filters=filters)
        context = grid_page.fragment_context(
            section=section,
            grid=grid,
            can_rate=True,
            rate_id=competency_id,
            values=typed,
            errors=refused.by_student,
            note=note,
            batch_key=batch,
        )
        if _is_htmx(request):
            return grid_page.render(request, context, fragment=True, status=400)
        return grid_page.render(request, context, fragment=False, status=400)

    grid = grid_page.load_grid(section=section, visible_students=visible, filters=filters)
    outcome = _outcome(result, {row.student.pk: str(row.student) for row in grid.rows})
    if not _is_htmx(request):
        messages.success(request, outcome.words())
        query = grid_page.filter_query(grid)
        return HttpResponseRedirect(reverse("mastery-grid", args=[section.pk]) + (f"?{query}" if query else ""))
    context = grid_page.fragment_context(
        section=section,
        grid=grid,
        can_rate=True,
        changed=[change.student_id for change in result.changes],
        rated_id=result.competency.pk,
        outcome=outcome,
    )
    return grid_page.render(request, context, fragment=True)


@require_GET
@login_required
def student_alerts(request: HttpRequest, student_id: int) -> HttpResponse:
    """The learner profile page's open alerts card, loaded with htmx: staff who see the student only (alerts
    are written for teachers; a student or guardian gets 404, like any page they cannot see). The card links
    to the path page, where the alerts are acknowledged and resolved."""
    profile = access.get_learner_profile_or_404(request.user, student_id)
    if not access.alert_students(request.user).filter(pk=profile.pk).exists():
        raise Http404("No such page.")
    alerts = selectors.open_alerts(student_ids=[profile.pk])
    return render(request, "pathways/_alerts_card.html", {"student": profile.user, "alerts": alerts})
