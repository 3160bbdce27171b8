"""HTML pages of the mastery app. Every route is named; sign-in is required everywhere."""

from django.urls import path

from . import api, export_views, unmatched_views, views

urlpatterns = [
    path("sections/<int:section_id>/mastery/", views.mastery_grid, name="mastery-grid"),
    path("sections/<int:section_id>/mastery/export.csv", views.mastery_grid_export, name="mastery-grid-export"),
    path("students/<int:student_id>/mastery/", views.mastery_map, name="mastery-map"),
    path("students/<int:student_id>/evidence/", views.evidence_timeline, name="evidence-timeline"),
    path("students/<int:student_id>/mastery/summary/", views.mastery_summary, name="mastery-summary"),
    path(
        "students/<int:student_id>/mastery/<int:competency_id>/", views.mastery_explanation, name="mastery-explanation"
    ),
    path(
        "students/<int:student_id>/mastery/<int:competency_id>/override/lift/",
        views.mastery_override_lift,
        name="mastery-override-lift",
    ),
    path("frameworks/case-import/", views.framework_case_import, name="framework-case-import"),
    # Statements from learning tools (xAPI, Caliper) that named a person or activity we could not map: the
    # district's admins map them (the search is POST only, so no name reaches a URL; the count is the home's link).
    path("districts/<int:district_id>/unmatched/", unmatched_views.district_unmatched, name="district-unmatched"),
    path(
        "districts/<int:district_id>/unmatched/search/",
        unmatched_views.district_unmatched_search,
        name="district-unmatched-search",
    ),
    path(
        "districts/<int:district_id>/unmatched/count/",
        unmatched_views.district_unmatched_count,
        name="district-unmatched-count",
    ),
    # Mastery states and evidence as CSV (mastery/exports.py), for a section, a school or a district.
    *[
        path(f"{scope}s/<int:{scope}_id>/{what}.csv", view, {"what": what}, name=f"{scope}-{what}-csv")
        for scope, view in (
            ("section", export_views.section_export),
            ("school", export_views.school_export),
            ("district", export_views.district_export),
        )
        for what in ("mastery", "evidence")
    ],
    # The CASE export is an API read; it lives here because the API router (plplatform/api_urls.py) holds
    # viewsets, and this is one APIView. Same authentication and 404 rules as the other API routes.
    path("api/v1/frameworks/<int:framework_id>/case/", api.FrameworkCaseView.as_view(), name="framework-case-api"),
]
