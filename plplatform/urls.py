from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from monitoring.record_views import student_record_export
from plplatform.views import health

urlpatterns = [
    path("", include("profiles.urls")),
    path("", include("mastery.urls")),
    path("", include("pathways.urls")),
    path("", include("monitoring.urls")),
    # A student's complete record (monitoring/student_record.py), for a family's request to inspect it.
    path(
        "students/<int:student_id>/record.json",
        student_record_export,
        {"file_format": "json"},
        name="student-record-json",
    ),
    path(
        "students/<int:student_id>/record.csv", student_record_export, {"file_format": "csv"}, name="student-record-csv"
    ),
    path("api/v1/", include("plplatform.api_urls")),
    # Evidence from learning tools (xAPI, Caliper): tool credentials over HTTP Basic, outside the user API.
    path("", include("mastery.api_interop")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("admin/", admin.site.urls),
    path("healthz/", health, name="health"),
]
