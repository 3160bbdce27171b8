"""HTML pages of the mastery app: a section's mastery grid, a student's mastery map and its summary, and
the explanation of one student's status on one competency, with the teacher's override.

Thin: parse, check access (profiles/access.py only), call one selector or service, render.
Unknown and forbidden records both answer 404; a record the user sees but may not change answers 403.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.text import slugify
from django.utils.timezone import localtime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from profiles import access
from profiles.models import LearnerProfile, User

from . import grid_page, selectors, services
from .exports import csv_lines
from .forms import MasteryOverrideForm
from .interop.case import CasePackageError, case_import
from .interop.forms import CaseUploadForm
from .models import Competency, Evidence, Framework, MasteryStatus

LEGEND = [(status, label, selectors.STATUS_ABBREVIATIONS[status]) for status, label in MasteryStatus.choices]

# --- helpers -------------------------------------------------------------------------------------


def _viewer(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """Render a page with the status legend its mastery cells use."""
    return render(request, template, {"legend": LEGEND, **context}, status=status)


def _int_param(request: HttpRequest, name: str) -> int | None:
    """A whole-number query parameter, or None when it is missing or not a number."""
    value = request.GET.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _require_staff(user: User) -> None:
    """A student or guardian gets 404 here, like any page they cannot see."""
    if not access.can_see_class_overviews(user):
        raise Http404("No such page.")


def _ready_ids(student_id: int) -> set[int]:
    """Ids of the competencies the student is ready to learn (every framework)."""
    return set(selectors.ready_to_learn(student_id=student_id).values_list("pk", flat=True))


def _explanation_url(student_id: int, competency_id: int) -> str:
    return reverse("mastery-explanation", args=[student_id, competency_id])


# --- the estimate over time, as an inline SVG line chart drawn here (no script, no third party) -------------

CHART_WIDTH, CHART_HEIGHT = 480, 250
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 56, 132, 14, 36  # the right margin holds the threshold labels
CHART_INSET = 12  # the first and last points sit this far inside the plot


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    when: datetime.datetime
    value: float
    text: str  # the value in words: "54%" or "2.75"


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    top: int
    bottom: int  # y of the plot's bottom edge
    points: list[ChartPoint]
    path: str  # "x,y x,y ..." for <polyline points>
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    thresholds: list[tuple[float, str]]
    description: str
    unit: str  # what the values are, for the table's heading


def _scale(method: str) -> tuple[float, float, list[float], Callable[[float], str], list[tuple[float, str]], str]:
    """(lowest, highest, ticks, format, thresholds, unit) of the estimate on the method's own scale."""
    numbers = selectors.mastery_thresholds()  # from settings.PLPLATFORM
    if method == "bkt":
        mastery, retention = numbers.mastery, numbers.retention

        def percent(value: float) -> str:
            return f"{round(value * 100)}%"

        thresholds = [(mastery, f"Mastered {percent(mastery)}"), (retention, f"Review {percent(retention)}")]
        return 0.0, 1.0, [0.0, 0.25, 0.5, 0.75, 1.0], percent, thresholds, "Chance the student knows it"
    level = numbers.rubric_level

    def score(value: float) -> str:
        return f"{value:.2f}".rstrip("0").rstrip(".")

    return 1.0, 4.0, [1.0, 2.0, 3.0, 4.0], score, [(level, f"Mastered {score(level)}")], "Score (1–4)"


def _x_tick_indexes(count: int, most: int = 4) -> list[int]:
    """Which points get a date under them: the first, the last and up to two evenly between."""
    if count <= most:
        return list(range(count))
    return sorted({round(i * (count - 1) / (most - 1)) for i in range(most)})


def estimate_chart(trajectory: Sequence[tuple[datetime.datetime, float]], *, method: str) -> LineChart | None:
    """The estimate after each piece of evidence, one step per piece (oldest to newest, dates underneath);
    None when there is nothing to draw."""
    if not trajectory:
        return None
    low, high, ticks, fmt, thresholds, unit = _scale(method)
    right, bottom = CHART_WIDTH - CHART_RIGHT, CHART_HEIGHT - CHART_BOTTOM
    count = len(trajectory)

    def x_of(index: int) -> float:
        if count == 1:
            return round((CHART_LEFT + right) / 2, 1)
        return round(CHART_LEFT + CHART_INSET + index / (count - 1) * (right - CHART_LEFT - 2 * CHART_INSET), 1)

    def y_of(value: float) -> float:
        clamped = min(max(value, low), high)
        return round(bottom - (clamped - low) / (high - low) * (bottom - CHART_TOP), 1)

    points = [ChartPoint(x_of(i), y_of(value), when, value, fmt(value)) for i, (when, value) in enumerate(trajectory)]
    x_ticks: list[tuple[float, str]] = []
    for i in _x_tick_indexes(count):
        label = date_format(localtime(points[i].when), "j M")
        if not x_ticks or x_ticks[-1][1] != label:  # a date once, under its first point
            x_ticks.append((points[i].x, label))
    first, last = points[0], points[-1]
    description = (
        f"{count} point{'s' if count != 1 else ''}, one after each piece of evidence: {first.text} on "
        f"{date_format(localtime(first.when), 'j F Y')}, {last.text} on {date_format(localtime(last.when), 'j F Y')}."
        " The table beside the chart lists every value."
    )
    return LineChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        left=CHART_LEFT,
        right=right,
        top=CHART_TOP,
        bottom=bottom,
        points=points,
        path=" ".join(f"{p.x},{p.y}" for p in points),
        y_ticks=[(y_of(tick), fmt(tick)) for tick in ticks],
        x_ticks=x_ticks,
        thresholds=[(y_of(value), label) for value, label in thresholds],
        description=description,
        unit=unit,
    )


# --- the section's grid ------------------------------------------------------------------------------


@require_GET
@login_required
def mastery_grid(request: HttpRequest, section_id: int) -> HttpResponse:
    """The section's grid. `?rate=<competency id>` opens the ratings mode on that column (staff who record
    evidence); an htmx request gets the grid fragment only (mastery/_grid.html)."""
    user = _viewer(request)
    _require_staff(user)
    section = access.get_section_or_404(user, section_id)
    grid = grid_page.load_grid(
        section=section,
        visible_students=access.visible_students(user),
        filters=grid_page.GridFilters.from_params(request.GET),
    )
    context = grid_page.fragment_context(
        section=section, grid=grid, can_rate=access.can_record_evidence(user), rate_id=_int_param(request, "rate")
    )
    if getattr(request, "htmx", False):
        return grid_page.render(request, context, fragment=True)
    return grid_page.render(request, context, fragment=False)


@require_GET
@login_required
def mastery_grid_export(request: HttpRequest, section_id: int) -> HttpResponse:
    """The grid as CSV: the same rows, columns and cells as the page for the same filters."""
    user = _viewer(request)
    _require_staff(user)
    section = access.get_section_or_404(user, section_id)
    grid = grid_page.load_grid(
        section=section,
        visible_students=access.visible_students(user),
        filters=grid_page.GridFilters.from_params(request.GET),
    )
    heading, *rows = grid_page.export_rows(grid)
    response = HttpResponse(csv_lines(heading, rows), content_type="text/csv; charset=utf-8")
    name = slugify(f"{section.code} mastery {grid.framework.name if grid.framework else ''} grade {grid.grade}")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


# --- a student's map and its summary --------------------------------------------------------------------


@require_GET
@login_required
def mastery_map(request: HttpRequest, student_id: int) -> HttpResponse:
    profile = access.get_learner_profile_or_404(request.user, student_id)
    try:
        student_map = selectors.student_mastery_map(
            student_id=profile.pk,
            grade=profile.grade_level,
            ready_ids=_ready_ids(profile.pk),
            framework_id=_int_param(request, "framework"),
        )
    except Framework.DoesNotExist:
        raise Http404("No such framework.") from None
    context = {"profile": profile, "student": profile.user, "map": student_map}
    return _page(request, "mastery/map.html", context)


@require_GET
@login_required
def mastery_summary(request: HttpRequest, student_id: int) -> HttpResponse:
    """The learner profile page's mastery card, loaded with htmx (the page links to the map without JS)."""
    profile = access.get_learner_profile_or_404(request.user, student_id)
    counts = selectors.student_mastery_counts(student_id=profile.pk, ready_ids=_ready_ids(profile.pk))
    overrides = list(selectors.student_overrides(student_id=profile.pk)[:10])
    context = {"student": profile.user, "counts": counts, "overrides": overrides}
    return render(request, "mastery/_summary.html", context)


@dataclass(frozen=True)
class TimelineRow:
    evidence: Evidence
    kind_label: str
    value: str
    recorded_by: str | None


def _timeline_rows(items: Sequence[Evidence]) -> list[TimelineRow]:
    return [
        TimelineRow(
            e,
            Evidence.Kind(e.kind).label,
            _evidence_value({"kind": e.kind, "score": e.score, "rating": e.rating}),
            None if e.recorded_by is None else str(e.recorded_by),
        )
        for e in items
    ]


@require_GET
@login_required
def evidence_timeline(request: HttpRequest, student_id: int) -> HttpResponse:
    """Every piece of evidence about the student, newest first, with its source, kind, value and who recorded
    it; `?page=N`. The learner profile page loads it with htmx (the first page into its card, "Show more"
    appends the next); without JS it is a page of its own with links to older and newer evidence."""
    profile = access.get_learner_profile_or_404(request.user, student_id)
    page = selectors.evidence_timeline(student_id=profile.pk, page=_int_param(request, "page") or 1)
    context = {"profile": profile, "student": profile.user, "page": page, "rows": _timeline_rows(page.items)}
    if getattr(request, "htmx", False):
        template = "mastery/_timeline.html" if page.page == 1 else "mastery/_timeline_items.html"
        return render(request, template, context)
    return _page(request, "mastery/timeline.html", context)


# --- the explanation of one status, and the teacher's override -----------------------------------------


def _explained_pair(request: HttpRequest, student_id: int, competency_id: int) -> tuple[LearnerProfile, Competency]:
    profile = access.get_learner_profile_or_404(request.user, student_id)
    competency = get_object_or_404(Competency.objects.select_related("framework", "parent"), pk=competency_id)
    return profile, competency


# The numbers of each rule, in words: (label, how to show the value).
PARAMETER_LABELS: dict[str, tuple[str, str]] = {
    "p_init": ("Chance known at the start", "percent"),
    "p_learn": ("Chance to learn it with each response", "percent"),
    "p_guess": ("Guess: right without knowing it", "percent"),
    "p_slip": ("Slip: wrong while knowing it", "percent"),
    "p_forget": ("Forgetting after each response", "percent"),
    "mastery_threshold": ("Mastered from", "percent"),
    "min_scored_observations": ("Scored responses needed", "count"),
    "retention_threshold": ("Needs review below", "percent"),
    "rating_meets": ("Teacher rating that counts as “meets”", "count"),
    "rating_guess_slip": ("Guess and slip of a teacher rating", "percent"),
    "completion_learn": ("Learning from a completed activity", "percent"),
    "mastery_level": ("Mastered from (1–4 scale)", "number"),
    "weight": ("Weight of each new rating", "percent"),
    "min_ratings": ("Ratings needed", "count"),
    "n": ("Ratings at the level needed", "count"),
}


def _parameter_rows(parameters: dict[str, float | int]) -> list[tuple[str, str]]:
    rows = []
    for name, value in parameters.items():
        label, shown_as = PARAMETER_LABELS.get(name, (name.replace("_", " ").capitalize(), "number"))
        if shown_as == "percent":
            text = f"{float(value) * 100:.1f}".rstrip("0").rstrip(".") + "%"
        else:
            text = f"{value:g}" if isinstance(value, float) else str(value)
        rows.append((label, text))
    return rows


def _evidence_value(item: dict[str, Any]) -> str:
    if item["kind"] == Evidence.Kind.SCORE and item["score"] is not None:
        return f"{round(item['score'] * 100)}%"
    if item["kind"] == Evidence.Kind.RATING and item["rating"] is not None:
        return f"{item['rating']} of 4"
    return "Completed"


def _evidence_rows(explanation: dict[str, Any], fmt: Callable[[float], str]) -> list[dict[str, Any]]:
    """The evidence that counted, newest last, each with the estimate right after it."""
    trajectory = explanation["trajectory"]
    aligned = len(trajectory) == len(explanation["evidence"])
    return [
        {
            **item,
            "kind_label": Evidence.Kind(item["kind"]).label,
            "value": _evidence_value(item),
            "estimate_after": fmt(trajectory[index][1]) if aligned else None,
        }
        for index, item in enumerate(explanation["evidence"])
    ]


def _stored_estimate_text(method: str, estimate: float | None, fmt: Callable[[float], str]) -> str | None:
    """A stored estimate (0–1) on the method's own scale: a percentage for BKT, a 1–4 score otherwise."""
    if estimate is None:
        return None
    return fmt(estimate) if method == "bkt" else f"{fmt(1 + 3 * estimate)} of 4"


def _explanation_page(
    request: HttpRequest, profile: LearnerProfile, competency: Competency, form: MasteryOverrideForm, status: int = 200
) -> HttpResponse:
    explanation = selectors.mastery_explanation(student_id=profile.pk, competency_id=competency.pk)
    method = explanation["method"]
    fmt = _scale(method)[3]
    stored = explanation["state"]
    computed = explanation["computed"]
    effective = stored["effective_status"] if stored else MasteryStatus.NOT_STARTED
    shown_estimate = stored["estimate"] if stored else None
    if not form.is_bound:  # the form starts from the override in force, else from "mastered"
        override = explanation["override"]
        form.initial["status"] = override["status"] if override else MasteryStatus.MASTERED
    context = {
        "profile": profile,
        "student": profile.user,
        "competency": competency,
        "explanation": explanation,
        "status": selectors.StatusCell(
            competency, effective, explanation["override"] is not None, shown_estimate, method
        ),
        "estimate_text": _stored_estimate_text(method, shown_estimate, fmt),
        "computed_label": MasteryStatus(computed["status"]).label,
        # New evidence the nightly run has not turned into a stored status yet.
        "pending": (stored["status"] if stored else MasteryStatus.NOT_STARTED) != computed["status"],
        "parameters": _parameter_rows(explanation["parameters"]),
        "evidence_rows": _evidence_rows(explanation, fmt),
        "chart": estimate_chart(explanation["trajectory"], method=method),
        "can_override": access.can_edit_learner_profile(request.user, profile),
        "form": form,
    }
    return _page(request, "mastery/explanation.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def mastery_explanation(request: HttpRequest, student_id: int, competency_id: int) -> HttpResponse:
    """GET: why the student has this status. POST: a teacher sets an override (staff who edit the student)."""
    profile, competency = _explained_pair(request, student_id, competency_id)
    if request.method != "POST":
        return _explanation_page(request, profile, competency, MasteryOverrideForm())
    if not access.can_edit_learner_profile(request.user, profile):
        raise PermissionDenied("You can read this student's mastery but not override it.")
    form = MasteryOverrideForm(request.POST)
    if form.is_valid():
        try:
            services.mastery_override_set(
                student_id=profile.pk,
                competency_id=competency.pk,
                status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
                author=_viewer(request),
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, "Override saved. It stays until a teacher lifts it.")
            return HttpResponseRedirect(_explanation_url(profile.pk, competency.pk))
    return _explanation_page(request, profile, competency, form, status=400)


@require_POST
@login_required
def mastery_override_lift(request: HttpRequest, student_id: int, competency_id: int) -> HttpResponse:
    profile, competency = _explained_pair(request, student_id, competency_id)
    if not access.can_edit_learner_profile(request.user, profile):
        raise PermissionDenied("You can read this student's mastery but not change it.")
    try:
        services.mastery_override_lift(student_id=profile.pk, competency_id=competency.pk, author=_viewer(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Override lifted. The status now follows the evidence again.")
    return HttpResponseRedirect(_explanation_url(profile.pk, competency.pk))


# --- frameworks: CASE import page ---------------------------------------------------------------------
# Appended with the CASE import: district admins upload a CFPackage; the page lists every framework with
# its CASE download (the API's /api/v1/frameworks/<id>/case/).


def _framework_rows() -> list[dict[str, Any]]:
    frameworks = Framework.objects.annotate(
        competency_count=Count("competencies", filter=Q(competencies__deprecated=False)),
        deprecated_count=Count("competencies", filter=Q(competencies__deprecated=True)),
    ).order_by("subject", "name")
    return [
        {"framework": framework, "export_url": reverse("framework-case-api", args=[framework.pk]) + "?download=1"}
        for framework in frameworks
    ]


@require_http_methods(["GET", "POST"])
@login_required
def framework_case_import(request: HttpRequest) -> HttpResponse:
    if not access.can_manage_frameworks(request.user):
        raise Http404("No such page.")
    form = CaseUploadForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            report = case_import(data=form.cleaned_data["file"])
        except CasePackageError as exc:
            context.update(errors=[str(problem) for problem in exc.problems], warnings=exc.warnings)
            status = 422
        else:
            context.update(
                report=report,
                report_lines=report.lines(),
                warnings=report.warnings,
                imported=Framework.objects.get(pk=report.framework_id),
            )
            form = CaseUploadForm()
            context["form"] = form
    elif request.method == "POST":
        status = 422
    context["frameworks"] = _framework_rows()
    return _page(request, "mastery/case_import.html", context, status=status)
