"""Reads of the equity dashboard: the stored snapshot rows one page needs, as plain figures.

Requests never compute the figures: the nightly snapshots stage stored them (monitoring/models.py), with
suppression already decided. A page reads, whatever the size of the district or the length of the history:
- its dates: the latest snapshot of its scope, the start of the school year covering it, and the first snapshot
  of that year, the baseline of every change (three aggregate queries on indexed columns);
- its all-students row of every date since the baseline: the trend, and the headline of both dates (one query);
- its implementation rows of both dates (one query);
- its rows of the latest date: its subgroups, and the all-students row of each grade (school page), each school
  (district page, which also lists the viewer's schools) or each section (grade page, which also reads the
  sections' implementation rows). Never a school's subgroups on the district page.

Suppression is applied here, once, when a stored row becomes `Figures`: a suppressed row gives figures with no
value and no count, an access-suppressed row no access or below-grade figure. Pages, exports and the API only
ever see `Figures`, never the stored counts.

Nothing here checks access: the views and the API fetch the district, school or section through
profiles/access.py first and pass it in.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.db.models import Max, Min, Q, QuerySet

from profiles.models import District, School, Section, Term

from .analytics.cells import DIMENSION_VALUES, PACING_KEYS
from .models import EQUITY_FIGURES, Dimension, EquitySnapshot, ImplementationSnapshot

Level = Literal["district", "school", "grade", "section"]
ALL = Dimension.ALL.value

# What a figure is measured in: a share (shown as a percentage), or a plain number.
SHARE = "share"
NUMBER = "number"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # SHARE or NUMBER
    short: str  # the label as a column heading beside the other figures
    access: bool = False  # hidden by `access_suppressed` too (its denominator is the below-grade group)


# The figures of every cell, the equity headline (access to grade-level work) first.
METRICS: tuple[Metric, ...] = (
    Metric("access", "Access to grade-level work", SHARE, "Access to grade-level work", access=True),
    Metric("grade_level_mastered", "Grade-level targets mastered", SHARE, "Grade-level targets mastered"),
    Metric("growth_median", "Growth (median competencies mastered since the term start)", NUMBER, "Growth (median)"),
    Metric("on_pace", "On pace (ahead or on track)", SHARE, "On pace"),
    Metric("below_grade", "Working below grade level", SHARE, "Below grade level", access=True),
    Metric("open_alerts_per_100", "Open alerts per 100 students", NUMBER, "Open alerts per 100"),
)
METRIC_BY_KEY = {metric.key: metric for metric in METRICS}
DEFAULT_METRIC = "access"

PACING_LABELS = {"ahead": "Ahead", "on_track": "On track", "at_risk": "At risk", "off_track": "Off track"}

# Subgroup values in words (DIMENSION_VALUES holds the keys, in display order).
VALUE_LABELS = {
    ALL: "All students",
    "female": "Female",
    "male": "Male",
    "other": "Other",
    "unspecified": "Unspecified",
    "hispanic_or_latino": "Hispanic or Latino",
    "american_indian_or_alaska_native": "American Indian or Alaska Native",
    "asian": "Asian",
    "black_or_african_american": "Black or African American",
    "native_hawaiian_or_other_pacific_islander": "Native Hawaiian or Other Pacific Islander",
    "white": "White",
    "two_or_more_races": "Two or more races",
    "not_reported": "Not reported",
    "yes": "Yes",
    "no": "No",
}

# The stored columns a page reads (never the whole row: the distributions of growth are not shown).
EQUITY_COLUMNS = (
    "date",
    "school_id",
    "grade",
    "section_id",
    "dimension",
    "value",
    *(name for name in EQUITY_FIGURES if name != "growth_distribution"),
    "computed_at",
)
IMPLEMENTATION_COLUMNS = (
    "date",
    "section_id",
    "teachers",
    "teacher_evidence_week",
    "students",
    "students_with_evidence_week",
    "acknowledge_days_median",
    "computed_at",
)


def suppression_min_n() -> int:
    """The smallest group shown (DESIGN.md section 4); smaller groups were suppressed when stored."""
    platform: dict[str, Any] = settings.PLPLATFORM
    return int(platform["SUPPRESSION_MIN_N"])


# --- figures ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """One cell's figures as they may be shown: None where suppressed or undefined (`hidden` tells which)."""

    dimension: str
    value: str
    suppressed: bool
    access_suppressed: bool
    n_students: int | None  # None when suppressed
    metrics: Mapping[str, float | None]  # by Metric.key
    pacing: Mapping[str, float | None]  # share of the students with a paced path, by status (PACING_KEYS)

    def hidden(self, metric_key: str) -> bool:
        """Whether the metric is suppressed in this cell (as opposed to merely undefined, e.g. no students)."""
        return self.suppressed or (self.access_suppressed and METRIC_BY_KEY[metric_key].access)

    def metric(self, metric_key: str) -> float | None:
        return None if self.hidden(metric_key) else self.metrics[metric_key]


def _pacing_shares(distribution: Mapping[str, int]) -> dict[str, float | None]:
    paced = sum(int(distribution.get(key, 0)) for key in PACING_KEYS)
    return {key: (int(distribution.get(key, 0)) / paced if paced else None) for key in PACING_KEYS}


def figures_of(row: EquitySnapshot) -> Figures:
    """The figures of a stored row, with its suppression applied: nothing of a suppressed row survives."""
    if row.suppressed:
        return Figures(
            dimension=row.dimension,
            value=row.value,
            suppressed=True,
            access_suppressed=True,
            n_students=None,
            metrics=dict.fromkeys(METRIC_BY_KEY),
            pacing=dict.fromkeys(PACING_KEYS),
        )
    pacing = _pacing_shares(row.pacing_distribution or {})
    on_pace = None if pacing["ahead"] is None else (pacing["ahead"] or 0.0) + (pacing["on_track"] or 0.0)
    metrics = {
        "access": row.access_share,
        "grade_level_mastered": row.grade_level_mastered_share,
        "growth_median": row.growth_median if row.n_students else None,
        "on_pace": on_pace,
        "below_grade": row.below_grade_share,
        "open_alerts_per_100": row.open_alerts_per_100,
    }
    return Figures(
        dimension=row.dimension,
        value=row.value,
        suppressed=False,
        access_suppressed=row.access_suppressed,
        n_students=row.n_students,
        metrics=metrics,
        pacing=pacing,
    )


@dataclass(frozen=True)
class Implementation:
    """Implementation health of a school, a section or the district on one date (never suppressed: no
    demographics, and counts of teachers' work rather than of students' results)."""

    date: datetime.date
    evidence_per_teacher_week: float | None
    students_with_evidence_share: float | None
    acknowledge_days_median: float | None


def implementation_of(row: ImplementationSnapshot) -> Implementation:
    return Implementation(
        date=row.date,
        evidence_per_teacher_week=row.evidence_per_teacher_week,
        students_with_evidence_share=row.students_with_evidence_share,
        acknowledge_days_median=row.acknowledge_days_median,
    )


# --- a page -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Child:
    """A row of the drill-down table: a school of the district, a grade of the school, a section of the grade."""

    kind: Literal["school", "grade", "section"]
    key: int  # the school's or section's id, or the grade
    name: str
    figures: Figures | None  # None: no snapshot of it on the latest date


@dataclass(frozen=True)
class SectionImplementation:
    section_id: int
    name: str
    implementation: Implementation


@dataclass(frozen=True)
class Dashboard:
    level: Level
    district: District
    school: School | None
    grade: int | None
    section: Section | None
    latest: datetime.date | None  # None: no snapshot yet
    baseline: datetime.date | None  # the first snapshot of the school year covering `latest`
    computed_at: datetime.datetime | None
    headline: Figures | None
    headline_at_baseline: Figures | None
    subgroups: tuple[Figures, ...]  # on the latest date, every dimension but "all", in display order
    children: tuple[Child, ...]
    trend: tuple[tuple[datetime.date, Figures], ...]
    implementation: Implementation | None
    implementation_at_baseline: Implementation | None
    section_implementation: tuple[SectionImplementation, ...]  # the grade page: one per section

    @property
    def has_subgroups(self) -> bool:
        """Section pages show aggregates only, never demographics."""
        return self.level != "section"


@dataclass(frozen=True)
class _Scope:
    """Which stored rows are a page's own."""

    headline: Q  # its all-students row (one per date)
    dates_of: QuerySet[EquitySnapshot]  # rows whose dates are the page's dates
    terms: Q  # the terms whose school year gives the baseline
    implementation: Q  # its implementation row (one per date)


def _term_start(terms: Q, on: datetime.date) -> datetime.date | None:
    """The start of the school year covering `on` (the earliest, over a district's schools); without a school-year
    term, the earliest term covering it. One query."""
    covering = Term.objects.filter(terms, start_date__lte=on, end_date__gte=on)
    found = covering.aggregate(year=Min("start_date", filter=Q(kind=Term.Kind.SCHOOL_YEAR)), any=Min("start_date"))
    return found["year"] or found["any"]


def _dates(scope: _Scope) -> tuple[datetime.date | None, datetime.date | None]:
    """(latest, baseline): the latest snapshot date and the first snapshot date of its school year (the latest
    itself when no term covers it). Three queries at most."""
    latest = scope.dates_of.aggregate(latest=Max("date"))["latest"]
    if latest is None:
        return None, None
    start = _term_start(scope.terms, latest)
    if start is None:
        return latest, latest
    baseline = scope.dates_of.filter(date__gte=start).aggregate(first=Min("date"))["first"]
    return latest, baseline or latest


def _trend_rows(scope: _Scope, since: datetime.date) -> list[EquitySnapshot]:
    """The page's all-students row of every date since `since` (its headline rows are among them)."""
    return list(EquitySnapshot.objects.filter(scope.headline, date__gte=since).only(*EQUITY_COLUMNS).order_by("date"))


def _implementation(scope: _Scope, dates: set[datetime.date]) -> dict[datetime.date, Implementation]:
    rows = ImplementationSnapshot.objects.filter(scope.implementation, date__in=dates).only(*IMPLEMENTATION_COLUMNS)
    return {row.date: implementation_of(row) for row in rows}


def _subgroup_order(figures: Figures) -> tuple[int, int]:
    dimensions = list(DIMENSION_VALUES)
    values = DIMENSION_VALUES.get(figures.dimension, ())
    position = values.index(figures.value) if figures.value in values else len(values)
    return (dimensions.index(figures.dimension) if figures.dimension in dimensions else len(dimensions), position)


def _subgroups(rows: Iterable[EquitySnapshot]) -> tuple[Figures, ...]:
    return tuple(sorted((figures_of(row) for row in rows if row.dimension != ALL), key=_subgroup_order))


@dataclass(frozen=True)
class _Read:
    """What every level reads the same way: its dates, its all-students rows since the baseline (the trend, and
    the headline of both dates) and its implementation rows."""

    latest: datetime.date | None
    baseline: datetime.date | None
    trend_rows: list[EquitySnapshot]
    implementation: dict[datetime.date, Implementation]

    def headline_row(self, on: datetime.date | None) -> EquitySnapshot | None:
        return next((row for row in self.trend_rows if row.date == on), None)


def _read(scope: _Scope) -> _Read:
    latest, baseline = _dates(scope)
    if latest is None or baseline is None:
        return _Read(None, None, [], {})
    return _Read(latest, baseline, _trend_rows(scope, baseline), _implementation(scope, {latest, baseline}))


def _dashboard(
    *,
    level: Level,
    district: District,
    read: _Read,
    subgroup_rows: Iterable[EquitySnapshot] = (),
    children: tuple[Child, ...] = (),
    school: School | None = None,
    grade: int | None = None,
    section: Section | None = None,
    section_implementation: tuple[SectionImplementation, ...] = (),
) -> Dashboard:
    now_row, base_row = read.headline_row(read.latest), read.headline_row(read.baseline)
    return Dashboard(
        level=level,
        district=district,
        school=school,
        grade=grade,
        section=section,
        latest=read.latest,
        baseline=read.baseline,
        computed_at=now_row.computed_at if now_row else None,
        headline=figures_of(now_row) if now_row else None,
        headline_at_baseline=figures_of(base_row) if base_row else None,
        subgroups=_subgroups(subgroup_rows),
        children=children,
        trend=tuple((row.date, figures_of(row)) for row in read.trend_rows),
        implementation=read.implementation.get(read.latest) if read.latest else None,
        implementation_at_baseline=read.implementation.get(read.baseline) if read.baseline else None,
        section_implementation=section_implementation,
    )


# --- the four pages ---------------------------------------------------------------------------------------


def district_dashboard(*, district: District, schools: QuerySet[School]) -> Dashboard:
    """The district as a whole (its district rows) and a table of `schools` (the ones the viewer sees)."""
    district_rows = Q(district=district, school__isnull=True, section__isnull=True)
    scope = _Scope(
        headline=district_rows & Q(grade__isnull=True, dimension=ALL),
        dates_of=EquitySnapshot.objects.filter(district_rows),
        terms=Q(school__district=district),
        implementation=Q(district=district, school__isnull=True, section__isnull=True),
    )
    read = _read(scope)
    rows: list[EquitySnapshot] = []
    if read.latest is not None:
        # On the latest date: the district's own rows of all grades by subgroup, and each school's all-students
        # row of all grades (never a school's subgroups: the district page does not need them).
        rows = list(
            EquitySnapshot.objects.filter(
                Q(school__isnull=True) | Q(dimension=ALL),
                district=district,
                date=read.latest,
                grade__isnull=True,
                section__isnull=True,
            ).only(*EQUITY_COLUMNS)
        )
    by_school = {row.school_id: row for row in rows if row.school_id is not None}
    children = tuple(
        Child("school", school.pk, school.name, figures_of(by_school[school.pk]) if school.pk in by_school else None)
        for school in schools.order_by("name", "pk").only("pk", "name")
    )
    own = [row for row in rows if row.school_id is None]
    return _dashboard(level="district", district=district, read=read, subgroup_rows=own, children=children)


def _school_scope(school: School, grade: int | None) -> _Scope:
    rows = Q(school=school, section__isnull=True) & (Q(grade__isnull=True) if grade is None else Q(grade=grade))
    return _Scope(
        headline=rows & Q(dimension=ALL),
        dates_of=EquitySnapshot.objects.filter(rows),
        terms=Q(school=school),
        implementation=Q(school=school, section__isnull=True),
    )


def grade_label(grade: int) -> str:
    return "Kindergarten" if grade == 0 else f"Grade {grade}"


def school_dashboard(*, school: School) -> Dashboard:
    """The school's rows of all grades, by subgroup, and a table of its grades."""
    read = _read(_school_scope(school, None))
    rows: list[EquitySnapshot] = []
    if read.latest is not None:
        # On the latest date: the school's rows of all grades by subgroup, and each grade's all-students row.
        rows = list(
            EquitySnapshot.objects.filter(
                Q(grade__isnull=True) | Q(dimension=ALL), school=school, section__isnull=True, date=read.latest
            ).only(*EQUITY_COLUMNS)
        )
    grades = sorted((row for row in rows if row.grade is not None), key=lambda row: row.grade or 0)
    children = tuple(Child("grade", row.grade or 0, grade_label(row.grade or 0), figures_of(row)) for row in grades)
    own = [row for row in rows if row.grade is None]
    return _dashboard(
        level="school", district=school.district, school=school, read=read, subgroup_rows=own, children=children
    )


def _section_implementation(school: School, grade: int, on: datetime.date) -> tuple[SectionImplementation, ...]:
    rows = (
        ImplementationSnapshot.objects.filter(school=school, section__grade_level=grade, date=on)
        .select_related("section")
        .only(*IMPLEMENTATION_COLUMNS, "section__name")
        .order_by("section__name", "section_id")
    )
    return tuple(
        SectionImplementation(row.section_id or 0, row.section.name if row.section else "", implementation_of(row))
        for row in rows
    )


def grade_dashboard(*, school: School, grade: int) -> Dashboard:
    """One grade of a school, by subgroup, with a table of the grade's sections (their aggregates only)."""
    read = _read(_school_scope(school, grade))
    rows: list[EquitySnapshot] = []
    implementation: tuple[SectionImplementation, ...] = ()
    if read.latest is not None:
        # On the latest date: the grade's rows by subgroup, and its sections' rows (all students only).
        rows = list(
            EquitySnapshot.objects.filter(school=school, grade=grade, date=read.latest)
            .select_related("section")
            .only(*EQUITY_COLUMNS, "section__name")
        )
        implementation = _section_implementation(school, grade, read.latest)
    sections = sorted(
        (row for row in rows if row.section is not None),
        key=lambda row: (row.section.name if row.section else "", row.section_id or 0),
    )
    children = tuple(
        Child("section", row.section_id or 0, row.section.name if row.section else "", figures_of(row))
        for row in sections
    )
    own = [row for row in rows if row.section_id is None]
    return _dashboard(
        level="grade",
        district=school.district,
        school=school,
        grade=grade,
        read=read,
        subgroup_rows=own,
        children=children,
        section_implementation=implementation,
    )


def section_dashboard(*, section: Section) -> Dashboard:
    """One section: its aggregates (all students only, never by subgroup), trend and implementation."""
    rows = Q(section=section, dimension=ALL)
    scope = _Scope(
        headline=rows,
        dates_of=EquitySnapshot.objects.filter(rows),
        terms=Q(school_id=section.school_id),
        implementation=Q(section=section),
    )
    return _dashboard(
        level="section",
        district=section.school.district,
        school=section.school,
        grade=section.grade_level,
        section=section,
        read=_read(scope),
    )
