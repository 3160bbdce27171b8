"""REST API v1 of the monitoring app: the equity dashboard's figures as JSON.

The same figures as the pages (monitoring/views.py), read from the same stored snapshots
(monitoring/dashboard_selectors.py), unrounded. Scoped by profiles/access.py exactly like the pages: principals
see their schools, district admins their districts and every school in them; anyone else gets 403, and a
district, school or section outside the user's scope 404 like an unknown one.

A suppressed cell is `{"dimension": ..., "value": ..., "suppressed": true}` and nothing else: no value, no count,
no gap. An access-suppressed cell has no `access_share` and no `below_grade_share` (nor their gaps).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from profiles import access
from profiles.api import ID_PATTERN, current_user, path_id
from profiles.models import User

from . import dashboard_selectors as selectors
from .dashboard_selectors import METRICS, Dashboard, Figures, Implementation
from .models import Dimension

NOT_FOR_YOU = "The equity dashboard is for principals and district administrators."

# The JSON name of each figure (Metric.key → field).
FIELD_OF_METRIC = {
    "access": "access_share",
    "grade_level_mastered": "grade_level_mastered_share",
    "growth_median": "growth_median",
    "on_pace": "on_pace_share",
    "below_grade": "below_grade_share",
    "open_alerts_per_100": "open_alerts_per_100",
}


# --- the figures as JSON ----------------------------------------------------------------------------------


def figures_json(figures: Figures) -> dict[str, Any]:
    """A cell: everything that may be shown of it, and nothing of what may not (no key at all, not null)."""
    if figures.suppressed:
        return {"dimension": figures.dimension, "value": figures.value, "suppressed": True}
    body: dict[str, Any] = {
        "dimension": figures.dimension,
        "value": figures.value,
        "suppressed": False,
        "access_suppressed": figures.access_suppressed,
        "n_students": figures.n_students,
    }
    for metric in METRICS:
        if not figures.hidden(metric.key):
            body[FIELD_OF_METRIC[metric.key]] = figures.metrics[metric.key]
    body["pacing"] = dict(figures.pacing)
    return body


def _differences(now: Figures, before: Figures) -> dict[str, float]:
    """Figure by figure, `now` minus `before`, where both may be shown and are defined."""
    result: dict[str, float] = {}
    for metric in METRICS:
        a, b = now.metric(metric.key), before.metric(metric.key)
        if a is not None and b is not None:
            result[FIELD_OF_METRIC[metric.key]] = a - b
    return result


def subgroup_json(figures: Figures, everyone: Figures | None) -> dict[str, Any]:
    body = figures_json(figures)
    if not figures.suppressed and everyone is not None:
        body["gap_vs_all"] = _differences(figures, everyone)
    return body


def change_json(now: Figures | None, before: Figures | None) -> dict[str, float] | None:
    if now is None or before is None:
        return None
    change: dict[str, Any] = _differences(now, before)
    if now.n_students is not None and before.n_students is not None:
        change["n_students"] = now.n_students - before.n_students
    return change


def implementation_json(row: Implementation | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "date": row.date,
        "evidence_per_teacher_week": row.evidence_per_teacher_week,
        "students_with_evidence_share": row.students_with_evidence_share,
        "acknowledge_days_median": row.acknowledge_days_median,
    }


def _named(row: Any) -> dict[str, Any] | None:
    return None if row is None else {"id": row.pk, "name": row.name}


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    everyone = dashboard.headline
    return {
        "level": dashboard.level,
        "district": _named(dashboard.district),
        "school": _named(dashboard.school),
        "grade": dashboard.grade,
        "section": _named(dashboard.section),
        "as_of": dashboard.latest,
        "computed_at": dashboard.computed_at,
        "baseline": dashboard.baseline,
        "suppression_min_n": selectors.suppression_min_n(),
        "headline": figures_json(everyone) if everyone else None,
        "headline_at_baseline": figures_json(dashboard.headline_at_baseline)
        if dashboard.headline_at_baseline
        else None,
        "change_since_baseline": change_json(everyone, dashboard.headline_at_baseline),
        "subgroups": [subgroup_json(figures, everyone) for figures in dashboard.subgroups],
        "children": [
            {
                "kind": child.kind,
                "id": child.key,
                "name": child.name,
                "figures": figures_json(child.figures) if child.figures else None,
            }
            for child in dashboard.children
        ],
        "trend": [{"date": day, "figures": figures_json(figures)} for day, figures in dashboard.trend],
        "implementation": implementation_json(dashboard.implementation),
        "implementation_at_baseline": implementation_json(dashboard.implementation_at_baseline),
        "section_implementation": [
            {"section": {"id": item.section_id, "name": item.name}, **(implementation_json(item.implementation) or {})}
            for item in dashboard.section_implementation
        ],
    }


# --- the schema (documentation only: the views return the dicts above, whose absent keys stay absent) -------


class EquityPacingSharesSerializer(serializers.Serializer):
    """Share of the students with a paced path at each pacing status (null: nobody has a paced path)."""

    ahead = serializers.FloatField(allow_null=True)
    on_track = serializers.FloatField(allow_null=True)
    at_risk = serializers.FloatField(allow_null=True)
    off_track = serializers.FloatField(allow_null=True)


def _figure(help_text: str, *, nullable: bool = True) -> serializers.FloatField:
    return serializers.FloatField(required=False, allow_null=nullable, help_text=help_text)


SHOWN = "Absent when suppressed; null when undefined (e.g. nobody working below grade level)."
DIFFERENCE = "Absent where either side is suppressed or undefined."


class EquityFiguresSerializer(serializers.Serializer):
    """One cell. A suppressed cell has `dimension`, `value` and `suppressed` only."""

    dimension = serializers.ChoiceField(choices=Dimension.choices)
    value = serializers.CharField(help_text="The subgroup within the dimension; 'all' for all students.")
    suppressed = serializers.BooleanField()
    access_suppressed = serializers.BooleanField(
        required=False, help_text="True: access_share and below_grade_share are absent."
    )
    n_students = serializers.IntegerField(required=False)
    access_share = _figure("Access to grade-level work, among the students working below grade level. " + SHOWN)
    grade_level_mastered_share = _figure("Share of grade-level targets mastered. " + SHOWN)
    growth_median = _figure("Median competencies mastered since the term start. " + SHOWN)
    on_pace_share = _figure("Share of the students with a paced path who are ahead or on track. " + SHOWN)
    below_grade_share = _figure("Share working below grade level. " + SHOWN)
    open_alerts_per_100 = _figure("Open pacing alerts per 100 students. " + SHOWN)
    pacing = EquityPacingSharesSerializer(required=False)


class EquityDifferencesSerializer(serializers.Serializer):
    """Figure by figure, one side minus the other (shares as fractions), where both may be shown."""

    access_share = _figure(DIFFERENCE, nullable=False)
    grade_level_mastered_share = _figure(DIFFERENCE, nullable=False)
    growth_median = _figure(DIFFERENCE, nullable=False)
    on_pace_share = _figure(DIFFERENCE, nullable=False)
    below_grade_share = _figure(DIFFERENCE, nullable=False)
    open_alerts_per_100 = _figure(DIFFERENCE, nullable=False)


class EquitySubgroupSerializer(EquityFiguresSerializer):
    gap_vs_all = EquityDifferencesSerializer(required=False, help_text="The subgroup minus all students.")


class EquityChangeSerializer(EquityDifferencesSerializer):
    """Now minus the term's first snapshot."""

    n_students = serializers.IntegerField(required=False)


class EquityNamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class EquityChildSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["school", "grade", "section"])
    id = serializers.IntegerField(help_text="The school's or section's id; for a grade, the grade (0: kindergarten).")
    name = serializers.CharField()
    figures = EquityFiguresSerializer(allow_null=True, help_text="Null: no snapshot of it on the latest date.")


class EquityTrendPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    figures = EquityFiguresSerializer()


class EquityImplementationSerializer(serializers.Serializer):
    date = serializers.DateField()
    evidence_per_teacher_week = serializers.FloatField(allow_null=True)
    students_with_evidence_share = serializers.FloatField(allow_null=True)
    acknowledge_days_median = serializers.FloatField(allow_null=True)


class EquitySectionImplementationSerializer(EquityImplementationSerializer):
    section = EquityNamedSerializer()


class EquityDashboardSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["district", "school", "grade", "section"])
    district = EquityNamedSerializer()
    school = EquityNamedSerializer(allow_null=True)
    grade = serializers.IntegerField(allow_null=True)
    section = EquityNamedSerializer(allow_null=True)
    as_of = serializers.DateField(allow_null=True, help_text="The latest snapshot's date; null: no snapshot yet.")
    computed_at = serializers.DateTimeField(allow_null=True)
    baseline = serializers.DateField(allow_null=True, help_text="The term's first snapshot: changes are since then.")
    suppression_min_n = serializers.IntegerField()
    headline = EquityFiguresSerializer(allow_null=True, help_text="All students, on the latest date.")
    headline_at_baseline = EquityFiguresSerializer(allow_null=True)
    change_since_baseline = EquityChangeSerializer(allow_null=True)
    subgroups = EquitySubgroupSerializer(many=True, help_text="Every subgroup on the latest date; none for a section.")
    children = EquityChildSerializer(
        many=True, help_text="A district's schools, a school's grades, a grade's sections."
    )
    trend = EquityTrendPointSerializer(many=True, help_text="All students, each snapshot since the baseline.")
    implementation = EquityImplementationSerializer(allow_null=True)
    implementation_at_baseline = EquityImplementationSerializer(allow_null=True)
    section_implementation = EquitySectionImplementationSerializer(many=True, help_text="A grade's sections.")


# --- views ---------------------------------------------------------------------------------------------------


def _dashboard_user(request: Request) -> User:
    user = current_user(request)
    if not access.can_see_equity_dashboard(user):
        raise PermissionDenied(NOT_FOR_YOU)
    return user


def _id_parameter(what: str) -> OpenApiParameter:
    return OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=f"The {what}'s id.")


def _responses(what: str) -> dict[int, Any]:
    return {
        200: EquityDashboardSerializer,
        403: OpenApiResponse(description="Not a principal or district admin."),
        404: OpenApiResponse(description=f"No such {what}, or one outside the user's schools and districts."),
    }


@extend_schema(tags=["equity"])
class EquityDistrictViewSet(viewsets.ViewSet):
    """The district as a whole, with its schools: for its district admins."""

    lookup_value_regex = ID_PATTERN

    @extend_schema(
        summary="Equity figures of a district", parameters=[_id_parameter("district")], responses=_responses("district")
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        user = _dashboard_user(request)
        district = access.get_equity_district_or_404(user, path_id(pk))
        schools = access.equity_dashboard_schools(user).filter(district=district)
        return Response(dashboard_json(selectors.district_dashboard(district=district, schools=schools)))


@extend_schema(tags=["equity"])
class EquitySchoolViewSet(viewsets.ViewSet):
    """A school with its grades, and each grade with its sections: for its principal and district admins."""

    lookup_value_regex = ID_PATTERN

    @extend_schema(
        summary="Equity figures of a school", parameters=[_id_parameter("school")], responses=_responses("school")
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        user = _dashboard_user(request)
        school = access.get_equity_school_or_404(user, path_id(pk))
        return Response(dashboard_json(selectors.school_dashboard(school=school)))

    @extend_schema(
        summary="Equity figures of a grade of a school",
        parameters=[
            _id_parameter("school"),
            OpenApiParameter("grade", OpenApiTypes.INT, OpenApiParameter.PATH, description="The grade (0: K)."),
        ],
        responses=_responses("school or grade"),
    )
    @action(detail=True, methods=["get"], url_path=rf"grades/(?P<grade>{ID_PATTERN})", url_name="grade")
    def grade(self, request: Request, pk: str, grade: str) -> Response:
        user = _dashboard_user(request)
        school = access.get_equity_school_or_404(user, path_id(pk))
        number = path_id(grade)
        if not school.grade_low <= number <= school.grade_high:
            raise Http404("No such grade in this school.")
        return Response(dashboard_json(selectors.grade_dashboard(school=school, grade=number)))


@extend_schema(tags=["equity"])
class EquitySectionViewSet(viewsets.ViewSet):
    """A section's aggregates (all students only, never by subgroup): for its school's principal and admins."""

    lookup_value_regex = ID_PATTERN

    @extend_schema(
        summary="Equity figures of a section", parameters=[_id_parameter("section")], responses=_responses("section")
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        user = _dashboard_user(request)
        section = access.get_equity_section_or_404(user, path_id(pk))
        return Response(dashboard_json(selectors.section_dashboard(section=section)))
