"""Routes of API v1, mounted at /api/v1/ by plplatform/urls.py: one router for every app's viewsets.
Names live in the `api-v1` namespace (for example `api-v1:student-list`), so they never collide with
the HTML pages' names."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import DefaultRouter

from mastery import api as mastery_api
from monitoring import api as monitoring_api
from pathways import api as pathways_api
from profiles import api as profiles_api

app_name = "api-v1"


class Router(DefaultRouter):
    # One URL per resource: JSON is the default renderer, so `.json` suffix routes add nothing but
    # duplicate paths in the OpenAPI schema.
    include_format_suffixes = False


router = Router()
router.register("schools", profiles_api.SchoolViewSet, basename="school")
router.register("sections", profiles_api.SectionViewSet, basename="section")
router.register("students", profiles_api.StudentViewSet, basename="student")
router.register("learner-profiles", profiles_api.LearnerProfileViewSet, basename="learner-profile")
router.register("goals", profiles_api.GoalViewSet, basename="goal")
# The pathways subclass: recording one observation also updates mastery and the path at once.
router.register("evidence", pathways_api.EvidenceViewSet, basename="evidence")
router.register("mastery-states", mastery_api.MasteryStateViewSet, basename="mastery-state")
router.register("paths", pathways_api.LearningPathViewSet, basename="learning-path")
router.register("path-steps", pathways_api.PathStepViewSet, basename="path-step")
router.register("step-choices", pathways_api.StepChoiceViewSet, basename="step-choice")
router.register("choice-limits", pathways_api.ChoiceLimitsViewSet, basename="choice-limits")
router.register("activities", pathways_api.ActivityViewSet, basename="activity")
router.register("alerts", pathways_api.PacingAlertViewSet, basename="alert")
# The equity dashboard's figures (principals and district admins).
router.register("equity/districts", monitoring_api.EquityDistrictViewSet, basename="equity-district")
router.register("equity/schools", monitoring_api.EquitySchoolViewSet, basename="equity-school")
router.register("equity/sections", monitoring_api.EquitySectionViewSet, basename="equity-section")

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/token/", profiles_api.TokenObtainView.as_view(), name="token"),
    *router.urls,
]
