"""HTML pages of the pathways app. Every route is named; sign-in is required everywhere. URLs carry ids only."""

from django.urls import path

from . import ratings_views, today_views, views

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
    # Teacher workspace: fast evidence from the mastery grid; the learner profile's alerts card (staff only).
    path("sections/<int:section_id>/mastery/ratings/", ratings_views.section_ratings, name="section-ratings"),
    path("students/<int:student_id>/alerts/", ratings_views.student_alerts, name="student-alerts"),
    # Teacher workspace: Today and groups. Today is the teacher's home (ranked alerts to act on, suggested small
    # groups, planned sessions, rosters); a small-group session is planned from a suggestion and its ratings become
    # evidence.
    path("teacher/", today_views.today, name="teacher-home"),
    path(
        "teacher/alerts/<int:alert_id>/acknowledge/",
        today_views.today_alert_acknowledge,
        name="today-alert-acknowledge",
    ),
    path("teacher/alerts/<int:alert_id>/resolve/", today_views.today_alert_resolve, name="today-alert-resolve"),
    path("sections/<int:section_id>/small-groups/new/", today_views.small_group_plan, name="small-group-plan"),
    path("small-groups/<int:session_id>/", today_views.small_group_session, name="small-group-session"),
    path("small-groups/<int:session_id>/ratings/", today_views.small_group_ratings, name="small-group-ratings"),
    path("small-groups/<int:session_id>/cancel/", today_views.small_group_cancel, name="small-group-cancel"),
    # The activity library and its review.
    path("activities/", views.activity_list, name="activity-list"),
    path("activities/new/", views.activity_create, name="activity-create"),
    path("activities/<int:activity_id>/review/", views.activity_review, name="activity-review"),
]
