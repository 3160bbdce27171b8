"""HTML pages of the equity dashboard, and their CSV export.

A principal sees their school, a district admin every school of their district and the district as a whole
(profiles/access.py decides). Drill-down: district → school → grade → section. Each page is built once as
panels of tables (and the charts drawn from the same numbers); the page renders them and `?format=csv` writes
the very same cells, so the export matches the screen cell for cell.

Figures come from the stored snapshots (monitoring/dashboard_selectors.py): a request computes nothing but
rounding and differences. A suppressed cell is written as "Suppressed (small group)" on the page and
"suppressed" in the export, and is left out of the charts; nothing of it (no value, no count) reaches either.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from profiles import access
from profiles.models import User
from profiles.spreadsheet import spreadsheet_safe

from . import dashboard_selectors as selectors
from .dashboard_selectors import (
    METRIC_BY_KEY,
    METRICS,
    NUMBER,
    PACING_LABELS,
    SHARE,
    VALUE_LABELS,
    Dashboard,
    Figures,
    Metric,
)
from .models import Dimension

COUNT = "count"  # a whole number of students (the only count a page shows, and never of a suppressed cell)
SUPPRESSED_TEXT = "Suppressed (small group)"
SUPPRESSED_CSV = "suppressed"
NO_DATA = "No data"
NOT_FOR_YOU = "The equity dashboard is for principals and district administrators."


# --- what a page is made of ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str  # what the page shows
    export: str  # what the CSV writes (the same text, but "suppressed" for a suppressed cell)
    href: str = ""
    numeric: bool = False
    suppressed: bool = False


def cell(text: str, *, href: str = "", numeric: bool = False) -> Cell:
    return Cell(text=text, export=text, href=href, numeric=numeric)


SUPPRESSED = Cell(text=SUPPRESSED_TEXT, export=SUPPRESSED_CSV, numeric=True, suppressed=True)


@dataclass(frozen=True)
class Table:
    caption: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]  # the first cell of a row is its header


@dataclass(frozen=True)
class Chart:
    """Chart data for monitoring/static/monitoring/dashboard.js: the table's own numbers, suppressed ones None."""

    kind: str  # "gaps" (horizontal bars around zero) or "trend" (a line over dates)
    label: str  # what the chart shows, in words (its accessible name)
    data: dict[str, Any]


@dataclass(frozen=True)
class Panel:
    key: str
    heading: str
    table: Table
    chart: Chart | None = None
    notes: Sequence[str] = field(default_factory=tuple)

    @property
    def chart_id(self) -> str:
        """The id of the chart's data (json_script) in the page."""
        return f"chart-{self.key}-data"


# --- figures in words -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A figure of a row, how it is read from its source (Figures or Implementation) and whether it is hidden."""

    label: str
    unit: str  # SHARE, NUMBER or COUNT
    read: Callable[[Any], float | None]
    hidden: Callable[[Any], bool] = lambda source: False


def metric_measure(metric: Metric) -> Measure:
    return Measure(
        metric.label,
        metric.unit,
        lambda figures: figures.metrics[metric.key],
        lambda figures: figures.hidden(metric.key),
    )


STUDENTS = Measure("Students", COUNT, lambda figures: figures.n_students, lambda figures: figures.suppressed)


def pacing_measure(key: str) -> Measure:
    return Measure(PACING_LABELS[key], SHARE, lambda figures: figures.pacing[key], lambda figures: figures.suppressed)


PACING_MEASURES = tuple(pacing_measure(key) for key in PACING_LABELS)
IMPLEMENTATION_MEASURES = (
    Measure("Evidence recorded per teacher per week", NUMBER, lambda row: row.evidence_per_teacher_week),
    Measure("Students with evidence this week", SHARE, lambda row: row.students_with_evidence_share),
    Measure("Median days to acknowledge an alert", NUMBER, lambda row: row.acknowledge_days_median),
)


def shown(unit: str, value: float) -> float:
    """The number as the page shows it: a share as a percentage with one decimal, a count whole, others one
    decimal. Differences (changes, gaps) are taken between shown numbers, so a table adds up as read."""
    if unit == SHARE:
        return round(value * 100, 1)
    if unit == COUNT:
        return float(round(value))
    return round(value, 1)


def in_words(unit: str, number: float) -> str:
    if unit == SHARE:
        return f"{number:.1f}%"
    if unit == COUNT:
        return f"{number:.0f}"
    return f"{number:.1f}"


def _shown_value(measure: Measure, source: Any) -> float | None:
    value = measure.read(source)
    return None if value is None else shown(measure.unit, value)


def value_cell(measure: Measure, source: Any) -> Cell:
    if source is None:
        return cell(NO_DATA, numeric=True)
    if measure.hidden(source):
        return SUPPRESSED
    number = _shown_value(measure, source)
    return cell(NO_DATA if number is None else in_words(measure.unit, number), numeric=True)


def _difference(unit: str, difference: float) -> str:
    amount = in_words(unit, abs(difference)).removesuffix("%") + (" pts" if unit == SHARE else "")
    return amount


def change_cell(measure: Measure, now: Any, before: Any) -> Cell:
    """The change since the term's first snapshot. Hidden when either end is: a change and one end would give the
    other away."""
    if now is None or before is None:
        return cell(NO_DATA, numeric=True)
    if measure.hidden(now) or measure.hidden(before):
        return SUPPRESSED
    a, b = _shown_value(measure, now), _shown_value(measure, before)
    if a is None or b is None:
        return cell(NO_DATA, numeric=True)
    change = round(a - b, 1)
    if change == 0:
        return cell("no change", numeric=True)
    return cell(f"{'up' if change > 0 else 'down'} {_difference(measure.unit, change)}", numeric=True)


def gap(measure: Measure, group: Figures, everyone: Figures | None) -> float | None:
    """The group's figure minus all students', in shown units; None when either is hidden or undefined."""
    if everyone is None or measure.hidden(group) or measure.hidden(everyone):
        return None
    a, b = _shown_value(measure, group), _shown_value(measure, everyone)
    return None if a is None or b is None else round(a - b, 1)


def gap_cell(measure: Measure, group: Figures, everyone: Figures | None) -> Cell:
    if measure.hidden(group):
        return SUPPRESSED
    difference = gap(measure, group, everyone)
    if difference is None:
        return cell(NO_DATA, numeric=True)
    if difference == 0:
        return cell("same", numeric=True)
    return cell(f"{_difference(measure.unit, difference)} {'above' if difference > 0 else 'below'}", numeric=True)


def group_label(figures: Figures) -> str:
    """The subgroup in words, with its dimension: "English learner: Yes"; "All students"."""
    if figures.dimension == Dimension.ALL:
        return VALUE_LABELS[Dimension.ALL]
    return f"{Dimension(figures.dimension).label}: {VALUE_LABELS.get(figures.value, figures.value)}"


# --- the panels ---------------------------------------------------------------------------------------------


def _dated(caption: str, dashboard: Dashboard) -> str:
    return f"{caption}, as of {dashboard.latest}"


def headline_panel(dashboard: Dashboard) -> Panel:
    now, before = dashboard.headline, dashboard.headline_at_baseline
    measures = (STUDENTS, *(metric_measure(metric) for metric in METRICS))
    rows = [
        [cell(measure.label), value_cell(measure, now), value_cell(measure, before), change_cell(measure, now, before)]
        for measure in measures
    ]
    columns = ("Figure", f"Now ({dashboard.latest})", f"Term's first snapshot ({dashboard.baseline})", "Change")
    return Panel(
        "headline",
        "Headline figures",
        Table(_dated("Headline figures, all students", dashboard), columns, rows),
        notes=(
            "Access to grade-level work: of the students working below grade level, the share with grade-level "
            "evidence or an active grade-level step in the last 20 school days.",
        ),
    )


def pacing_panel(dashboard: Dashboard) -> Panel:
    now, before = dashboard.headline, dashboard.headline_at_baseline
    rows = [
        [cell(measure.label), value_cell(measure, now), value_cell(measure, before), change_cell(measure, now, before)]
        for measure in PACING_MEASURES
    ]
    columns = ("Pacing", f"Now ({dashboard.latest})", f"Term's first snapshot ({dashboard.baseline})", "Change")
    caption = _dated("Pacing of the students with a paced path, all students", dashboard)
    return Panel("pacing", "Pacing", Table(caption, columns, rows))


def gaps_panel(dashboard: Dashboard, metric: Metric) -> Panel:
    measure = metric_measure(metric)
    everyone = dashboard.headline
    groups = [everyone] if everyone is not None else []
    rows = []
    labels: list[str] = []
    values: list[float | None] = []
    notes: list[str] = []
    for figures in (*groups, *dashboard.subgroups):
        is_all = figures.dimension == Dimension.ALL
        rows.append(
            [
                cell(group_label(figures)),
                value_cell(STUDENTS, figures),
                value_cell(measure, figures),
                cell("(reference)", numeric=True) if is_all else gap_cell(measure, figures, everyone),
            ]
        )
        if not is_all:
            labels.append(group_label(figures))
            values.append(gap(measure, figures, everyone))
            notes.append("suppressed" if measure.hidden(figures) else "" if values[-1] is not None else "no data")
    unit = "percentage points" if metric.unit == SHARE else "difference"
    columns = ("Group", "Students", metric.label, f"Gap vs all students ({unit})")
    chart = Chart(
        "gaps",
        f"Bar chart: gap of each subgroup against all students in {metric.label.lower()}, in {unit}. "
        "The table beside it has the same numbers.",
        {"labels": labels, "values": values, "notes": notes, "axis": f"Gap vs all students ({unit})"},
    )
    return Panel(
        "gaps",
        f"Gaps by subgroup: {metric.label}",
        Table(_dated(f"{metric.label} by subgroup, and the gap against all students", dashboard), columns, rows),
        chart=chart,
    )


def trend_panel(dashboard: Dashboard, metric: Metric) -> Panel:
    measure = metric_measure(metric)
    rows = [
        [cell(str(day)), value_cell(STUDENTS, figures), value_cell(measure, figures)]
        for day, figures in dashboard.trend
    ]
    chart = Chart(
        "trend",
        f"Line chart: {metric.label.lower()} for all students on each snapshot date since {dashboard.baseline}. "
        "The table beside it has the same numbers.",
        {
            "dates": [str(day) for day, _ in dashboard.trend],
            "values": [
                None if measure.hidden(figures) else _shown_value(measure, figures) for _, figures in dashboard.trend
            ],
            "axis": metric.label + (" (%)" if metric.unit == SHARE else ""),
        },
    )
    caption = f"{metric.label}, all students, each snapshot since {dashboard.baseline}"
    return Panel(
        "trend",
        f"Trend: {metric.label}",
        Table(caption, ("Date", "Students", metric.label), rows),
        chart=chart,
    )


CHILD_HEADINGS = {"school": "Schools", "grade": "Grades", "section": "Sections"}
CHILD_COLUMNS = {"school": "School", "grade": "Grade", "section": "Section"}


def _child_url(dashboard: Dashboard, child: selectors.Child, query: str) -> str:
    if child.kind == "school":
        url = reverse("equity-school", args=[child.key])
    elif child.kind == "grade" and dashboard.school is not None:
        url = reverse("equity-grade", args=[dashboard.school.pk, child.key])
    else:
        url = reverse("equity-section", args=[child.key])
    return url + query


def children_panel(dashboard: Dashboard, metric: Metric) -> Panel | None:
    if not dashboard.children:
        return None
    kind = dashboard.children[0].kind
    query = "?" + urlencode({"metric": metric.key})
    measures = (STUDENTS, *(metric_measure(metric) for metric in METRICS))
    rows = [
        [
            cell(child.name, href=_child_url(dashboard, child, query)),
            *(value_cell(measure, child.figures) for measure in measures),
        ]
        for child in dashboard.children
    ]
    columns = (CHILD_COLUMNS[kind], "Students", *(metric.short for metric in METRICS))
    notes = ("Sections show all their students together: never by subgroup.",) if kind == "section" else ()
    return Panel(
        "children",
        CHILD_HEADINGS[kind],
        Table(_dated(f"{CHILD_HEADINGS[kind]}, all students", dashboard), columns, rows),
        notes=notes,
    )


def implementation_panel(dashboard: Dashboard) -> Panel:
    now, before = dashboard.implementation, dashboard.implementation_at_baseline
    rows = [
        [cell(measure.label), value_cell(measure, now), value_cell(measure, before), change_cell(measure, now, before)]
        for measure in IMPLEMENTATION_MEASURES
    ]
    whole = {"district": "the district", "school": "the school", "grade": "the whole school", "section": "the section"}
    columns = ("Figure", f"Now ({dashboard.latest})", f"Term's first snapshot ({dashboard.baseline})", "Change")
    return Panel(
        "implementation",
        f"Implementation health: {whole[dashboard.level]}",
        Table(_dated(f"Implementation health of {whole[dashboard.level]}", dashboard), columns, rows),
        notes=(
            "Evidence per teacher and students with evidence count the 7 days ending on the snapshot date; the "
            "median days to acknowledge counts the alerts acknowledged in the last 30 days (No data: none was).",
        ),
    )


def section_implementation_panel(dashboard: Dashboard) -> Panel | None:
    if not dashboard.section_implementation:
        return None
    rows = [
        [
            cell(item.name, href=reverse("equity-section", args=[item.section_id])),
            *(value_cell(measure, item.implementation) for measure in IMPLEMENTATION_MEASURES),
        ]
        for item in dashboard.section_implementation
    ]
    columns = ("Section", *(measure.label for measure in IMPLEMENTATION_MEASURES))
    return Panel(
        "section-implementation",
        "Implementation health by section",
        Table(_dated("Implementation health of the sections of this grade", dashboard), columns, rows),
    )


def panels(dashboard: Dashboard, metric: Metric) -> list[Panel]:
    if dashboard.latest is None:
        return []
    chosen = [headline_panel(dashboard), pacing_panel(dashboard)]
    if dashboard.has_subgroups:
        chosen.append(gaps_panel(dashboard, metric))
    chosen.append(trend_panel(dashboard, metric))
    chosen += [panel for panel in (children_panel(dashboard, metric),) if panel]
    chosen.append(implementation_panel(dashboard))
    chosen += [panel for panel in (section_implementation_panel(dashboard),) if panel]
    return chosen


# --- the page and its export -------------------------------------------------------------------------------


def scope_title(dashboard: Dashboard) -> str:
    if dashboard.section is not None:
        return f"{dashboard.section.name} ({dashboard.school.name if dashboard.school else ''})"
    if dashboard.grade is not None and dashboard.school is not None:
        return f"{selectors.grade_label(dashboard.grade)}, {dashboard.school.name}"
    if dashboard.school is not None:
        return dashboard.school.name
    return dashboard.district.name


def summary_rows(dashboard: Dashboard, metric: Metric) -> list[tuple[str, str]]:
    """What the page says above its panels (and the export writes first)."""
    if dashboard.latest is None:
        return [("Equity dashboard", scope_title(dashboard)), ("As of", "No snapshot yet")]
    computed = NO_DATA
    if dashboard.computed_at is not None:
        computed = timezone.localtime(dashboard.computed_at).strftime("%Y-%m-%d %H:%M %Z")  # the school's time
    return [
        ("Equity dashboard", scope_title(dashboard)),
        ("As of", str(dashboard.latest)),
        ("Computed at", computed),
        ("Changes since (the term's first snapshot)", str(dashboard.baseline)),
        ("Selected figure", metric.label),
        ("Smallest group shown", f"{selectors.suppression_min_n()} students"),
    ]


def export_rows(dashboard: Dashboard, metric: Metric) -> list[list[str]]:
    rows: list[list[str]] = [[label, spreadsheet_safe(value)] for label, value in summary_rows(dashboard, metric)]
    for panel in panels(dashboard, metric):
        rows += [[], [panel.table.caption], list(panel.table.columns)]
        rows += [[spreadsheet_safe(item.export) for item in row] for row in panel.table.rows]
    return rows


def csv_response(dashboard: Dashboard, metric: Metric) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = slugify(f"equity {scope_title(dashboard)} {dashboard.latest or 'no snapshot'} {metric.key}")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")  # so that spreadsheet programs read the names as UTF-8
    csv.writer(response).writerows(export_rows(dashboard, metric))
    return response


def breadcrumbs(user: User, dashboard: Dashboard, query: str) -> list[tuple[str, str]]:
    """(label, url) from the widest page the user sees down to this one (its url empty)."""
    crumbs: list[tuple[str, str]] = []
    if access.equity_dashboard_districts(user).filter(pk=dashboard.district.pk).exists():
        crumbs.append((dashboard.district.name, reverse("equity-district", args=[dashboard.district.pk]) + query))
    if dashboard.school is not None:
        crumbs.append((dashboard.school.name, reverse("equity-school", args=[dashboard.school.pk]) + query))
    if dashboard.grade is not None and dashboard.school is not None:
        url = reverse("equity-grade", args=[dashboard.school.pk, dashboard.grade]) + query
        crumbs.append((selectors.grade_label(dashboard.grade), url))
    if dashboard.section is not None:
        crumbs.append((dashboard.section.name, ""))
    if crumbs:
        crumbs[-1] = (crumbs[-1][0], "")
    return crumbs


def chosen_metric(request: HttpRequest) -> Metric:
    return METRIC_BY_KEY.get(request.GET.get("metric", ""), METRIC_BY_KEY[selectors.DEFAULT_METRIC])


def respond(request: HttpRequest, user: User, dashboard: Dashboard) -> HttpResponse:
    metric = chosen_metric(request)
    if request.GET.get("format") == "csv":
        return csv_response(dashboard, metric)
    query = "?" + urlencode({"metric": metric.key})
    access_figure = None
    if dashboard.headline is not None:
        measure = metric_measure(METRIC_BY_KEY["access"])
        access_figure = {
            "now": value_cell(measure, dashboard.headline),
            "change": change_cell(measure, dashboard.headline, dashboard.headline_at_baseline),
        }
    context = {
        "dashboard": dashboard,
        "title": scope_title(dashboard),
        "summary": summary_rows(dashboard, metric),
        "panels": panels(dashboard, metric),
        "metric": metric,
        "metrics": METRICS,
        "breadcrumbs": breadcrumbs(user, dashboard, query),
        "csv_url": "?" + urlencode({"metric": metric.key, "format": "csv"}),
        "access_figure": access_figure,
        "min_n": selectors.suppression_min_n(),
        "suppressed_text": SUPPRESSED_TEXT,
    }
    return render(request, "monitoring/dashboard.html", context)


# --- views ---------------------------------------------------------------------------------------------------


def _dashboard_viewer(request: HttpRequest) -> User:
    """The signed-in principal, district admin or superuser; anyone else is refused the whole dashboard (403)."""
    user = request.user
    if not isinstance(user, User) or not access.can_see_equity_dashboard(user):
        raise PermissionDenied(NOT_FOR_YOU)
    return user


@require_GET
@login_required
def dashboard_home(request: HttpRequest) -> HttpResponse:
    """Where the site chrome's link goes: the user's district, or their school, or a choice among several."""
    user = _dashboard_viewer(request)
    districts = list(access.equity_dashboard_districts(user).order_by("name", "pk"))
    schools = list(access.equity_dashboard_schools(user).select_related("district").order_by("name", "pk"))
    if len(districts) == 1:
        return redirect("equity-district", districts[0].pk)
    if not districts and len(schools) == 1:
        return redirect("equity-school", schools[0].pk)
    return render(request, "monitoring/dashboard_home.html", {"districts": districts, "schools": schools})


@require_GET
@login_required
def district_page(request: HttpRequest, district_id: int) -> HttpResponse:
    user = _dashboard_viewer(request)
    district = access.get_equity_district_or_404(user, district_id)
    schools = access.equity_dashboard_schools(user).filter(district=district)
    return respond(request, user, selectors.district_dashboard(district=district, schools=schools))


@require_GET
@login_required
def school_page(request: HttpRequest, school_id: int) -> HttpResponse:
    user = _dashboard_viewer(request)
    school = access.get_equity_school_or_404(user, school_id)
    return respond(request, user, selectors.school_dashboard(school=school))


@require_GET
@login_required
def grade_page(request: HttpRequest, school_id: int, grade: int) -> HttpResponse:
    user = _dashboard_viewer(request)
    school = access.get_equity_school_or_404(user, school_id)
    if not school.grade_low <= grade <= school.grade_high:
        raise Http404("No such grade in this school.")
    return respond(request, user, selectors.grade_dashboard(school=school, grade=grade))


@require_GET
@login_required
def section_page(request: HttpRequest, section_id: int) -> HttpResponse:
    user = _dashboard_viewer(request)
    section = access.get_equity_section_or_404(user, section_id)
    return respond(request, user, selectors.section_dashboard(section=section))
