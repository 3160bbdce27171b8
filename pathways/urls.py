"""HTML pages of the pathways app. Every route is named; sign-in is required everywhere. URLs carry ids only."""

from django.urls import path

from . import views

urlpatterns = [
    # A student's path: the student chooses; staff steer.
    path("students/<int:student_id>/path/", views.path_page, name="path-page"),
    path("students/<int:student_id>/path/summary/", views.path_summary, name="path-summary"),
    path("students/<int:student_id>/path/choose/", views.path_choose, name="path-choose"),
    path("students/<int:student_id>/path/generate/", views.path_generate, name="path-generate"),
    path("paths/<int:path_id>/dates/", views.path_dates, name="path-dates"),
    path("paths/<int:path_id>/steps/add/", views.path_step_add, name="path-step-add"),
    path("path-steps/<int:step_id>/move/", views.path_step_move, name="path-step-move"),
    path("path-steps/<int:step_id>/pin/", views.path_step_pin, name="path-step-pin"),
    path("path-steps/<int:step_id>/skip/", views.path_step_skip, name="path-step-skip"),
    path("path-steps/<int:step_id>/unskip/", views.path_step_unskip, name="path-step-unskip"),
    path("path-steps/<int:step_id>/remove/", views.path_step_remove, name="path-step-remove"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve, name="alert-resolve"),
    path("step-choices/<int:choice_id>/decide/", views.step_choice_decide, name="step-choice-decide"),
    # A section's limits on choice, and its students' pending choices.
    path("sections/<int:section_id>/choices/", views.section_choices, name="section-choices"),
    path("sections/<int:section_id>/choice-limits/", views.section_choice_limits, name="section-choice-limits"),
    # The activity library and its review.
    path("activities/", views.activity_list, name="activity-list"),
    path("activities/new/", views.activity_create, name="activity-create"),
    path("activities/<int:activity_id>/review/", views.activity_review, name="activity-review"),
]
