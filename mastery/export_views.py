"""CSV downloads of mastery states and evidence for a section (its staff), a school (its principal, district
admins) or a district (its admins). Every student in a file is one the user may see."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from profiles import access

from .exports import district_student_ids, export_csv_lines, school_student_ids, section_student_ids


def _download(what: str, name: str, student_ids: QuerySet) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export_csv_lines(what, student_ids), content_type="text/csv; charset=utf-8")
    # Ids only in the file name: it lands in download folders and browser history.
    response["Content-Disposition"] = f'attachment; filename="{name}-{what}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
def section_export(request: HttpRequest, section_id: int, what: str) -> StreamingHttpResponse:
    if not access.can_see_class_overviews(request.user):
        raise Http404("No such section.")
    section = access.get_section_or_404(request.user, section_id)
    visible = access.visible_students(request.user).values("pk")
    return _download(what, f"section-{section.pk}", section_student_ids(section).filter(user_id__in=visible))


@require_GET
@login_required
def school_export(request: HttpRequest, school_id: int, what: str) -> StreamingHttpResponse:
    school = access.get_overview_school_or_404(request.user, school_id)
    return _download(what, f"school-{school.pk}", school_student_ids(school))


@require_GET
@login_required
def district_export(request: HttpRequest, district_id: int, what: str) -> StreamingHttpResponse:
    district = access.get_administered_district_or_404(request.user, district_id)
    return _download(what, f"district-{district.pk}", district_student_ids(district))
