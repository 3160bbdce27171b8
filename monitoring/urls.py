"""HTML pages of the equity dashboard (principals and district admins). Every route is named; sign-in is
required everywhere. URLs carry ids only; `?format=csv` exports the page as shown, `?metric=` picks the figure of
its gap and trend charts."""

from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.dashboard_home, name="equity-dashboard"),
    path("dashboard/districts/<int:district_id>/", views.district_page, name="equity-district"),
    path("dashboard/schools/<int:school_id>/", views.school_page, name="equity-school"),
    path("dashboard/schools/<int:school_id>/grades/<int:grade>/", views.grade_page, name="equity-grade"),
    path("dashboard/sections/<int:section_id>/", views.section_page, name="equity-section"),
]
