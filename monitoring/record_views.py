"""Download one student's complete record (JSON or CSV) for a family's request to inspect it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from monitoring.student_record import student_record_build, student_record_csv_lines, student_record_json
from profiles import access


@login_required
@require_GET
def student_record_export(request: HttpRequest, student_id: int, file_format: str) -> HttpResponseBase:
    profile = access.get_student_record_profile_or_404(request.user, student_id)
    record = student_record_build(student_id=profile.pk)
    # Ids only in the file name: it lands in download folders and browser history.
    filename = f"student-{profile.pk}-record.{file_format}"
    if file_format == "json":
        response: HttpResponseBase = HttpResponse(student_record_json(record), content_type="application/json")
    else:
        response = StreamingHttpResponse(student_record_csv_lines(record), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # personal data: never kept by a shared cache or the browser
    return response
