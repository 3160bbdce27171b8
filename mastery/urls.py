"""HTML pages of the mastery app. Every route is named; sign-in is required everywhere."""

from django.urls import path

from . import views

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
]
