"""HTML pages of the foundation. Every route is named; sign-in is required everywhere but sign-in itself."""

from django.urls import path

from . import views

urlpatterns = [
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    # "teacher-home" (teacher/) is the Today page, in pathways/urls.py.
    path("children/", views.guardian_home, name="guardian-home"),
    path("district/", views.district_home, name="district-home"),
    path("districts/<int:district_id>/oneroster/", views.oneroster_upload, name="oneroster-upload"),
    path("districts/<int:district_id>/oneroster/export.zip", views.oneroster_export, name="oneroster-export"),
    path("schools/", views.school_list, name="school-list"),
    path("schools/<int:school_id>/", views.school_detail, name="school-detail"),
    path("sections/<int:section_id>/", views.section_detail, name="section-detail"),
    path("students/<int:student_id>/", views.student_profile, name="student-profile"),
    path("students/<int:student_id>/edit/", views.student_profile_edit, name="student-profile-edit"),
    path("students/<int:student_id>/goals/new/", views.goal_create, name="goal-create"),
    path("goals/<int:goal_id>/edit/", views.goal_edit, name="goal-edit"),
]
