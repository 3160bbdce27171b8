"""REST API v1 of the pathways app: learning paths and their steps, student choice within limits,
choice limits per section, activities and pacing alerts.

Scoped by profiles/access.py like the rest of the API: every list starts from the students the user
may see, and every detail fetch answers 404 alike for an unknown id and one the user may not see.
- Paths and their steps: whoever sees the student reads them (the student, a guardian, staff), with the
  pacing sentence in the reader's wording (the student's "you" for students and guardians, the
  teacher's wording with the student's name for staff). Staff who may edit the path
  (`access.can_edit_path`) regenerate it, set its dates and add, remove, reorder, pin, skip its steps;
  anyone else who sees it gets 403.
- Choices: a student chooses a step of their own path; the choices of the students one sees are listed;
  a teacher of the student approves or declines (others who see the choice get 403).
- Choice limits: per section, for those who may set them (others who see the section get 403).
- Activities: approved ones for everyone signed in; staff also see those waiting for review or rejected,
  add activities and review them.
- Alerts are written for teachers: only staff who see the student list, read and act on them. Students
  and guardians get an empty list and 404 on every alert, their own included.

Thin on purpose: the services validate and write. A refusal (ValidationError) becomes a 400 naming the
field, and nothing is written. The services name the objects they act on `step_id`, `choice_id`...; the
API calls them `step`, `choice`... (an object of the URL that cannot be acted on is an error on its name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from mastery import api as mastery_api
from profiles import access
from profiles.api import ID_PATTERN, current_user, int_filter_parameter, int_param, path_id, scoped_get_or_404
from profiles.models import LearnerProfile, Section, User

from . import api_selectors, selectors
from .models import Activity, ChoiceLimits, LearningPath, PacingAlert, PacingStatus, PathStep, StepChoice
from .services import (
    alert_acknowledge,
    alert_resolve,
    evidence_record_and_update,
    path_dates_set,
    path_generate,
    path_step_add,
    path_step_pin,
    path_step_remove,
    path_step_reorder,
    path_step_skip,
    path_step_unskip,
)
from .services.activities import activity_create, activity_review
from .services.choice import MAY_NOT_DECIDE, MAY_NOT_SET_LIMITS, choice_limits_set, step_choice_decide, step_choose

NO_SUCH_PATH = "No such path."
NO_SUCH_STEP = "No such step."
NO_SUCH_CHOICE = "No such choice."
NO_SUCH_ACTIVITY = "No such activity."
NO_SUCH_ALERT = "No such alert."
MAY_NOT_EDIT_PATH = "You may read this path but not change it."
MAY_NOT_ACT_ON_ALERTS = "You may not act on this student's alerts."

# The service's name of a field → the API's; every other field has the same name in both.
SERVICE_TO_API = {
    "step_id": "step",
    "activity_id": "activity",
    "choice_id": "choice",
    "section_id": "section",
    "competency_ids": "competencies",
    "required_first_ids": "required_first",
    "target_competency_ids": "target_competencies",
    NON_FIELD_ERRORS: api_settings.NON_FIELD_ERRORS_KEY,
}


def run[T](service: Callable[..., T], **kwargs: Any) -> T:
    """Run a service; its ValidationError becomes a 400 with the API's field names (its PermissionDenied
    is answered 403 with its message by DRF)."""
    try:
        return service(**kwargs)
    except DjangoValidationError as invalid:
        if hasattr(invalid, "error_dict"):
            errors = {SERVICE_TO_API.get(name, name): list(messages) for name, messages in invalid.message_dict.items()}
        else:
            errors = {api_settings.NON_FIELD_ERRORS_KEY: list(invalid.messages)}
        raise serializers.ValidationError(errors) from None


def choice_filter(request: Request, name: str, choices: list[str]) -> str | None:
    """A filter from the query string that must be one of `choices`; anything else is a 400 naming it."""
    value = request.query_params.get(name)
    if not value:
        return None
    if value not in choices:
        raise serializers.ValidationError({name: [f"Choose one of {', '.join(choices)}."]})
    return value


def choice_filter_parameter(name: str, choices: list[str], description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.QUERY, enum=choices, description=description)


# --- scoping ----------------------------------------------------------------------------------


def visible_students_ids(user: Any) -> QuerySet[LearnerProfile, Any]:
    """The ids of the students the user may see, as a subquery."""
    return access.visible_learner_profiles(user).values("pk")


def visible_paths(user: Any) -> QuerySet[LearningPath]:
    """Paths of the students the user may see."""
    return LearningPath.objects.filter(student_id__in=visible_students_ids(user))


def get_path_or_404(user: Any, path_pk: int) -> LearningPath:
    paths = visible_paths(user).select_related("framework", "term", "student__learner_profile")
    return scoped_get_or_404(paths, path_pk, NO_SUCH_PATH)


def get_step_or_404(user: Any, step_pk: int) -> PathStep:
    steps = PathStep.objects.filter(path__student_id__in=visible_students_ids(user)).select_related(
        "path__framework", "path__term", "path__student__learner_profile", "competency"
    )
    return scoped_get_or_404(steps, step_pk, NO_SUCH_STEP)


def visible_choices(user: Any) -> QuerySet[StepChoice]:
    """Choices of the students the user may see (a student their own, a guardian their child's)."""
    return StepChoice.objects.filter(step__path__student_id__in=visible_students_ids(user))


def get_choice_or_404(user: Any, choice_pk: int) -> StepChoice:
    return scoped_get_or_404(visible_choices(user).select_related("step__path"), choice_pk, NO_SUCH_CHOICE)


def visible_activities(user: Any) -> QuerySet[Activity]:
    """Approved activities for everyone signed in; staff (who review them) see every activity."""
    if access.can_review_activities(user):
        return Activity.objects.all()
    return Activity.objects.filter(review_status=Activity.Review.APPROVED)


def get_activity_or_404(user: Any, activity_pk: int) -> Activity:
    activities = visible_activities(user).prefetch_related("competencies")
    return scoped_get_or_404(activities, activity_pk, NO_SUCH_ACTIVITY)


def visible_alerts(user: Any) -> QuerySet[PacingAlert]:
    """Alerts of the students whose alerts the user sees: staff only (access.alert_students)."""
    return PacingAlert.objects.filter(student_id__in=access.alert_students(user).values("pk"))


def get_alert_or_404(user: Any, alert_pk: int) -> PacingAlert:
    alerts = visible_alerts(user).select_related("student__learner_profile")
    return scoped_get_or_404(alerts, alert_pk, NO_SUCH_ALERT)


def require_path_editor(request: Request, path: LearningPath) -> User:
    """Staff who may edit the visible path's student; anyone else who sees the path gets 403."""
    user = current_user(request)
    if not access.can_edit_path(user, path.student.learner_profile):
        raise PermissionDenied(MAY_NOT_EDIT_PATH)
    return user


# --- serializers: paths -----------------------------------------------------------------------------


class PathStepSerializer(serializers.Serializer):
    """One step of a path (read from `selectors.StepView`)."""

    id = serializers.IntegerField(source="step.pk")
    competency = serializers.IntegerField(source="step.competency_id")
    order = serializers.IntegerField(source="step.order", help_text="1 is first.")
    state = serializers.ChoiceField(source="step.state", choices=PathStep.State.choices)
    reason = serializers.ChoiceField(
        source="step.reason", choices=PathStep.Reason.choices, help_text="Why the step is on the path."
    )
    is_target = serializers.BooleanField(source="step.is_target", help_text="Counts toward the path's targets.")
    pinned = serializers.BooleanField(source="step.pinned", help_text="Required by the teacher before free choice.")
    skip_reason = serializers.CharField(source="step.skip_reason", help_text="Why a skipped step is skipped.")
    waits_for = serializers.SerializerMethodField(
        help_text="A locked step: the ids of its prerequisites not yet mastered, in curriculum order."
    )

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_waits_for(self, view: selectors.StepView) -> list[int]:
        return [competency.pk for competency in view.waits_for]


class PathStepDetailSerializer(PathStepSerializer):
    path = serializers.IntegerField(source="step.path_id")


class PacingFiguresSerializer(serializers.Serializer):
    """The figures behind the pacing status (DESIGN.md section 4), as the nightly run stored them."""

    on = serializers.DateField(help_text="The school day t the figures are for.")
    start_date = serializers.DateField()
    target_date = serializers.DateField()
    target_count = serializers.IntegerField(help_text="|T|: the competencies the path targets.")
    mastered_at_start = serializers.IntegerField(help_text="A0.")
    mastered = serializers.IntegerField(help_text="A(t): targets mastered.")
    school_days_elapsed = serializers.IntegerField()
    school_days_total = serializers.IntegerField()
    expected = serializers.FloatField(help_text="E(t): targets expected mastered by now.")
    window_days = serializers.IntegerField()
    mastered_in_window = serializers.IntegerField()
    velocity = serializers.FloatField(help_text="Targets mastered per school day over the window.")
    school_days_to_finish = serializers.IntegerField(allow_null=True)
    projected_finish = serializers.DateField(allow_null=True)
    school_days_late = serializers.IntegerField(allow_null=True, help_text="Negative: early.")
    behind = serializers.IntegerField(help_text="Competencies behind: max(0, ⌈E − A⌉).")
    status = serializers.ChoiceField(choices=PacingStatus.choices)


class PacingSerializer(serializers.Serializer):
    on = serializers.DateField(allow_null=True, help_text="The school day of the last nightly pacing run.")
    status = serializers.CharField(help_text="ahead, on_track, at_risk or off_track; blank before the first run.")
    status_label = serializers.CharField()
    sentence = serializers.CharField(
        help_text="The pacing in words: addressed to the student for students and guardians, naming the "
        "student for staff. Blank before the first run."
    )
    behind = serializers.CharField(help_text='"N competencies behind" or "not behind"; blank before the first run.')
    figures = PacingFiguresSerializer(allow_null=True)


class LearningPathSerializer(serializers.ModelSerializer):
    class Meta:
        model = LearningPath
        fields = (
            "id",
            "student",
            "framework",
            "term",
            "start_date",
            "target_date",
            "pacing_on",
            "pacing_status",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class LearningPathDetailSerializer(serializers.Serializer):
    """A path with its steps in order and its pacing in the reader's wording."""

    id = serializers.IntegerField()
    student = serializers.IntegerField()
    framework = serializers.IntegerField()
    term = serializers.IntegerField()
    start_date = serializers.DateField()
    target_date = serializers.DateField()
    targets_mastered_at_start = serializers.IntegerField()
    target_competencies = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Targets a teacher chose; empty means the grade-level competencies of the student's grade.",
    )
    can_edit = serializers.BooleanField(help_text="Whether the reader may change the path and its steps.")
    pacing = PacingSerializer()
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Steps per state.")
    steps = PathStepSerializer(many=True, help_text="In path order.")


def path_body(user: User, path: LearningPath) -> dict[str, Any]:
    view = selectors.student_path(path=path)
    editor = access.can_edit_path(user, path.student.learner_profile)
    data = {
        "id": path.pk,
        "student": path.student_id,
        "framework": path.framework_id,
        "term": path.term_id,
        "start_date": path.start_date,
        "target_date": path.target_date,
        "targets_mastered_at_start": path.targets_mastered_at_start,
        "target_competencies": list(path.chosen_target_ids),
        "can_edit": editor,
        "pacing": {
            "on": path.pacing_on,
            "status": view.pacing_status,
            "status_label": view.pacing_status_label,
            "sentence": view.pacing_for_teacher if editor else view.pacing_for_student,
            "behind": view.behind,
            "figures": path.pacing or None,
        },
        "counts": view.counts,
        "steps": view.steps,
    }
    return LearningPathDetailSerializer(data).data


def path_response(user: User, path_pk: int, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(path_body(user, get_path_or_404(user, path_pk)), status=status_code)


class RegenerateInputSerializer(serializers.Serializer):
    target_competencies = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Targets to choose (above or below grade; remembered). Omitted or empty: the targets as they are.",
    )


class PathDatesInputSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    target_date = serializers.DateField(help_text="Must come after the start date.")


class StepAddInputSerializer(serializers.Serializer):
    competency = serializers.IntegerField(help_text="The competency's id.")


class StepReorderInputSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="The step's new place, 1 being first.")


class StepSkipInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required: why.")


# --- serializers: choices and limits ----------------------------------------------------------------


class StepChoiceSerializer(serializers.ModelSerializer):
    path = serializers.IntegerField(source="step.path_id", read_only=True)
    student = serializers.IntegerField(source="step.path.student_id", read_only=True)
    competency = serializers.IntegerField(source="step.competency_id", read_only=True)

    class Meta:
        model = StepChoice
        fields = (
            "id",
            "step",
            "path",
            "student",
            "competency",
            "activity",
            "status",
            "chosen_at",
            "decided_by",
            "decided_at",
            "decision_note",
        )
        read_only_fields = fields


class StepChoiceInputSerializer(serializers.Serializer):
    step = serializers.IntegerField(help_text="A ready (or in progress) step of your path that your teacher opened.")
    activity = serializers.IntegerField(
        required=False, allow_null=True, help_text="An approved activity for the step's competency."
    )


class StepChoiceDecisionInputSerializer(serializers.Serializer):
    approve = serializers.BooleanField(help_text="true approves, false declines.")
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="A word to the student on the decision."
    )


class ChoiceLimitsSerializer(serializers.Serializer):
    section = serializers.IntegerField(source="section_id")
    is_set = serializers.SerializerMethodField(help_text="False: nobody set limits here; these are the defaults.")
    open_ready_steps = serializers.IntegerField(help_text="Ready steps a student may choose from.")
    required_first = serializers.SerializerMethodField(help_text="Competencies that come first, while ready.")
    approval_required = serializers.BooleanField()
    updated_by = serializers.IntegerField(source="updated_by_id", allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)

    def get_is_set(self, limits: ChoiceLimits) -> bool:
        return limits.pk is not None

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_required_first(self, limits: ChoiceLimits) -> list[int]:
        if limits.pk is None:
            return []
        return sorted(competency.pk for competency in limits.required_first.all())


class ChoiceLimitsInputSerializer(serializers.Serializer):
    open_ready_steps = serializers.IntegerField(help_text="From 1 to 20.")
    required_first = serializers.ListField(child=serializers.IntegerField(), help_text="Competency ids.")
    approval_required = serializers.BooleanField()


def section_limits(section: Section, rows: Mapping[int, ChoiceLimits]) -> ChoiceLimits:
    """The section's limits, or an unsaved row holding the model's defaults when nobody set them."""
    return rows.get(section.pk) or ChoiceLimits(section=section)


# --- serializers: activities and alerts ---------------------------------------------------------------


class ActivitySerializer(serializers.ModelSerializer):
    """An activity as students and guardians see it (approved ones only)."""

    class Meta:
        model = Activity
        fields = ("id", "title", "description", "url", "competencies", "review_status")
        read_only_fields = fields


class ActivityForStaffSerializer(serializers.ModelSerializer):
    """An activity as staff see it: with its review."""

    class Meta:
        model = Activity
        fields = (
            "id",
            "title",
            "description",
            "url",
            "competencies",
            "review_status",
            "reviewed_by",
            "reviewed_at",
            "review_note",
        )
        read_only_fields = fields


ACTIVITY_FOR_READER = PolymorphicProxySerializer(
    component_name="ActivityForReader",
    serializers=[ActivityForStaffSerializer, ActivitySerializer],
    resource_type_field_name=None,
)


def activity_serializer_for(user: Any) -> type[serializers.ModelSerializer]:
    return ActivityForStaffSerializer if access.can_review_activities(user) else ActivitySerializer


class ActivityInputSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required.")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    url = serializers.CharField(required=False, allow_blank=True, default="", help_text="A link to the material.")
    competencies = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, help_text="At least one competency id."
    )


class ActivityReviewInputSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="approved or rejected.")
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required when rejecting: why."
    )


class PacingAlertSerializer(serializers.ModelSerializer):
    """An alert for teachers: its reason and numbers are teacher wording, never shown to students."""

    class Meta:
        model = PacingAlert
        fields = (
            "id",
            "student",
            "path",
            "competency",
            "kind",
            "severity",
            "status",
            "reason",
            "numbers",
            "opened_on",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_on",
            "resolution_note",
        )
        read_only_fields = fields


class AlertAcknowledgeInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", help_text="Optional.")


class AlertResolveInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required: what was done.")


def valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    given = serializer_class(data=request.data)
    given.is_valid(raise_exception=True)
    return dict(given.validated_data)


# --- views: paths and steps -------------------------------------------------------------------------

PATH_EDIT_RESPONSES = {
    200: LearningPathDetailSerializer,
    400: OpenApiResponse(description="Refused, naming the field and saying why; nothing was changed."),
    403: OpenApiResponse(description="The user sees the path but may not change it."),
    404: OpenApiResponse(description="No such path, or one the user may not see."),
}
STEP_EDIT_RESPONSES = {
    **PATH_EDIT_RESPONSES,
    404: OpenApiResponse(description="No such step, or one the user may not see."),
}


@extend_schema_view(
    list=extend_schema(
        summary="Learning paths of the students the user may see",
        parameters=[
            int_filter_parameter("student", "Only this student's paths."),
            int_filter_parameter("framework", "Only paths through this framework."),
        ],
    ),
    retrieve=extend_schema(
        summary="A path with its steps in order and its pacing in the reader's wording",
        responses=LearningPathDetailSerializer,
    ),
)
@extend_schema(tags=["paths"])
class LearningPathViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Paths are read by whoever sees the student; staff who may edit the student's path change it."""

    serializer_class = LearningPathSerializer
    queryset = LearningPath.objects.none()  # for the schema only; get_queryset scopes every request
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[LearningPath]:
        paths = visible_paths(self.request.user)
        for name, field in (("student", "student_id"), ("framework", "framework_id")):
            value = int_param(self.request, name)
            if value is not None:
                paths = paths.filter(**{field: value})
        return paths.order_by("student_id", "-term__start_date", "framework__name", "pk")

    def get_object(self) -> LearningPath:
        return get_path_or_404(self.request.user, path_id(self.kwargs["pk"]))

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(path_body(current_user(request), self.get_object()))

    @extend_schema(
        summary="Make the path afresh from the student's mastery (keeps the teacher's additions, pins, skips)",
        request=RegenerateInputSerializer,
        responses=PATH_EDIT_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def regenerate(self, request: Request, pk: str) -> Response:
        path = self.get_object()
        user = require_path_editor(request, path)
        given = valid(RegenerateInputSerializer, request)
        run(
            path_generate,
            student_id=path.student_id,
            framework_id=path.framework_id,
            term_id=path.term_id,
            target_competency_ids=given.get("target_competencies"),
            created_by=user,
        )
        return path_response(user, path.pk)

    @extend_schema(
        summary="Set the path's start and target dates", request=PathDatesInputSerializer, responses=PATH_EDIT_RESPONSES
    )
    @action(detail=True, methods=["post"])
    def dates(self, request: Request, pk: str) -> Response:
        path = self.get_object()
        user = require_path_editor(request, path)
        given = valid(PathDatesInputSerializer, request)
        run(path_dates_set, path_id=path.pk, start_date=given["start_date"], target_date=given["target_date"])
        return path_response(user, path.pk)

    @extend_schema(
        summary="Add a competency to the path, with the prerequisites it still needs",
        request=StepAddInputSerializer,
        responses={201: LearningPathDetailSerializer, **{k: v for k, v in PATH_EDIT_RESPONSES.items() if k != 200}},
    )
    @action(detail=True, methods=["post"], url_path="steps")
    def steps(self, request: Request, pk: str) -> Response:
        """The new step counts toward the path's targets; the unmastered prerequisites it needs that are not
        on the path yet come with it as gap-filling steps. Answers the path as it now is."""
        path = self.get_object()
        user = require_path_editor(request, path)
        given = valid(StepAddInputSerializer, request)
        run(path_step_add, path_id=path.pk, competency_id=given["competency"])
        return path_response(user, path.pk, status.HTTP_201_CREATED)


@extend_schema_view(
    retrieve=extend_schema(summary="One step of a path", responses=PathStepDetailSerializer),
    destroy=extend_schema(
        summary="Remove a step (refused while another unmastered step needs it: skip it instead)",
        responses={
            204: None,
            400: PATH_EDIT_RESPONSES[400],
            403: PATH_EDIT_RESPONSES[403],
            404: STEP_EDIT_RESPONSES[404],
        },
    ),
)
@extend_schema(tags=["paths"])
class PathStepViewSet(mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Teacher edits of one step. Each answers the whole path as it now is (orders may have moved)."""

    serializer_class = PathStepDetailSerializer
    queryset = PathStep.objects.none()
    lookup_value_regex = ID_PATTERN

    def get_object(self) -> PathStep:
        return get_step_or_404(self.request.user, path_id(self.kwargs["pk"]))

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(PathStepDetailSerializer(api_selectors.step_view(step=self.get_object())).data)

    def destroy(self, request: Request, pk: str) -> Response:
        step, _ = self._editable(request)
        run(path_step_remove, step_id=step.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _editable(self, request: Request) -> tuple[PathStep, User]:
        """The step (404 when unseen) and the user, who must be allowed to edit its path (else 403)."""
        step = self.get_object()
        return step, require_path_editor(request, step.path)

    def _edit(
        self, request: Request, service: Callable[..., Any], input_class: type[serializers.Serializer] | None = None
    ) -> Response:
        step, user = self._editable(request)
        given = valid(input_class, request) if input_class is not None else {}
        run(service, step_id=step.pk, **given)
        return path_response(user, step.path_id)

    @extend_schema(
        summary="Move the step to a position (refused before one of its prerequisites)",
        request=StepReorderInputSerializer,
        responses=STEP_EDIT_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def reorder(self, request: Request, pk: str) -> Response:
        return self._edit(request, path_step_reorder, StepReorderInputSerializer)

    @extend_schema(summary="Pin the step: required before free choice", request=None, responses=STEP_EDIT_RESPONSES)
    @action(detail=True, methods=["post"])
    def pin(self, request: Request, pk: str) -> Response:
        return self._edit(request, partial(path_step_pin, pinned=True))

    @extend_schema(summary="Unpin the step", request=None, responses=STEP_EDIT_RESPONSES)
    @action(detail=True, methods=["post"])
    def unpin(self, request: Request, pk: str) -> Response:
        return self._edit(request, partial(path_step_pin, pinned=False))

    @extend_schema(
        summary="Skip the step, saying why (it stops counting toward the targets)",
        request=StepSkipInputSerializer,
        responses=STEP_EDIT_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def skip(self, request: Request, pk: str) -> Response:
        return self._edit(request, path_step_skip, StepSkipInputSerializer)

    @extend_schema(
        summary="Take a skipped step back into the path (its state follows mastery again)",
        request=None,
        responses=STEP_EDIT_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def unskip(self, request: Request, pk: str) -> Response:
        return self._edit(request, path_step_unskip)


# --- views: choices and limits ----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Choices of the students the user may see, newest first",
        parameters=[
            int_filter_parameter("student", "Only this student's choices."),
            int_filter_parameter("path", "Only choices in this path."),
            choice_filter_parameter("status", StepChoice.Status.values, "Only choices with this status."),
        ],
    ),
    create=extend_schema(
        summary="Choose what to work on next (a student, in their own path)",
        request=StepChoiceInputSerializer,
        responses={
            201: StepChoiceSerializer,
            400: OpenApiResponse(description="The step or activity cannot be chosen, and why; nothing was changed."),
            403: OpenApiResponse(description="Only a student chooses, for themself."),
        },
    ),
)
@extend_schema(tags=["choices"])
class StepChoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A choice is pending when the section's limits ask for a teacher's approval, else approved at once;
    a new choice replaces the student's pending one in the same path. Choosing never changes a step's
    state: step states follow mastery."""

    serializer_class = StepChoiceSerializer
    queryset = StepChoice.objects.none()
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[StepChoice]:
        choices = visible_choices(self.request.user).select_related("step__path")
        student_id = int_param(self.request, "student")
        if student_id is not None:
            choices = choices.filter(step__path__student_id=student_id)
        path_filter = int_param(self.request, "path")
        if path_filter is not None:
            choices = choices.filter(step__path_id=path_filter)
        status_filter = choice_filter(self.request, "status", StepChoice.Status.values)
        if status_filter is not None:
            choices = choices.filter(status=status_filter)
        return choices.order_by("-chosen_at", "-pk")

    def get_object(self) -> StepChoice:
        return get_choice_or_404(self.request.user, path_id(self.kwargs["pk"]))

    def create(self, request: Request) -> Response:
        user = current_user(request)
        given = valid(StepChoiceInputSerializer, request)
        made = run(step_choose, student_user=user, step_id=given["step"], activity_id=given.get("activity"))
        return Response(StepChoiceSerializer(get_choice_or_404(user, made.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Approve or decline a pending choice (a teacher of the student)",
        request=StepChoiceDecisionInputSerializer,
        responses={
            200: StepChoiceSerializer,
            400: OpenApiResponse(description="The choice cannot be decided so, and why; nothing was changed."),
            403: OpenApiResponse(description="The user sees the choice but does not teach the student."),
            404: OpenApiResponse(description="No such choice, or one the user may not see."),
        },
    )
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str) -> Response:
        choice = self.get_object()
        user = current_user(request)
        if not access.can_decide_step_choices(user, choice.step.path.student_id):
            raise PermissionDenied(MAY_NOT_DECIDE)
        given = valid(StepChoiceDecisionInputSerializer, request)
        run(step_choice_decide, choice_id=choice.pk, approve=given["approve"], by=user, note=given["note"])
        return Response(StepChoiceSerializer(get_choice_or_404(user, choice.pk)).data)


SECTION_PATH_PARAMETER = OpenApiParameter(
    "section", OpenApiTypes.INT, OpenApiParameter.PATH, description="The section's id."
)


@extend_schema_view(
    list=extend_schema(summary="Choice limits of the sections whose limits the user may set"),
    retrieve=extend_schema(
        summary="The choice limits of a section (those who may set them)", parameters=[SECTION_PATH_PARAMETER]
    ),
)
@extend_schema(tags=["choices"])
class ChoiceLimitsViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """How much choice a section's students have: how many ready steps are open to choose from, which
    competencies come first, whether a choice waits for a teacher's approval. Teachers set them for the
    sections they teach, principals and district admins for their schools'. Others who see the section
    get 403."""

    serializer_class = ChoiceLimitsSerializer
    queryset = Section.objects.none()
    lookup_url_kwarg = "section"
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[Section]:
        return access.choice_limit_sections(self.request.user).order_by("grade_level", "name", "pk")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        sections = list(page if page is not None else self.get_queryset())
        rows = api_selectors.choice_limits_of_sections(section_ids=[s.pk for s in sections])
        data = ChoiceLimitsSerializer([section_limits(s, rows) for s in sections], many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def get_object(self) -> Section:
        section = access.get_section_or_404(self.request.user, path_id(self.kwargs["section"]))
        if not access.can_set_choice_limits(self.request.user, section):
            raise PermissionDenied(MAY_NOT_SET_LIMITS)
        return section

    def _body(self, section: Section) -> dict[str, Any]:
        rows = api_selectors.choice_limits_of_sections(section_ids=[section.pk])
        return ChoiceLimitsSerializer(section_limits(section, rows)).data

    def retrieve(self, request: Request, section: str) -> Response:
        return Response(self._body(self.get_object()))

    @extend_schema(
        summary="Set (create or replace) the choice limits of a section",
        request=ChoiceLimitsInputSerializer,
        responses={
            200: ChoiceLimitsSerializer,
            400: OpenApiResponse(description="Refused, naming the field; nothing was changed."),
            403: OpenApiResponse(description="The user sees the section but may not set its limits."),
            404: OpenApiResponse(description="No such section, or one the user may not see."),
        },
        parameters=[SECTION_PATH_PARAMETER],
    )
    def update(self, request: Request, section: str) -> Response:
        chosen = self.get_object()
        given = valid(ChoiceLimitsInputSerializer, request)
        run(
            choice_limits_set,
            section_id=chosen.pk,
            open_ready_steps=given["open_ready_steps"],
            required_first_ids=given["required_first"],
            approval_required=given["approval_required"],
            by=current_user(request),
        )
        return Response(self._body(chosen))


# --- views: activities ------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Activities: approved ones for everyone; staff see every activity with its review",
        parameters=[
            int_filter_parameter("competency", "Only activities for this competency."),
            choice_filter_parameter(
                "status", Activity.Review.values, "Only activities with this review status (staff see all)."
            ),
        ],
        responses=ACTIVITY_FOR_READER,
    ),
    retrieve=extend_schema(summary="One activity", responses=ACTIVITY_FOR_READER),
    create=extend_schema(
        summary="Add an activity (staff); it waits for review before students see it",
        request=ActivityInputSerializer,
        responses={
            201: ActivityForStaffSerializer,
            400: OpenApiResponse(description="Refused, naming the field; nothing was changed."),
            403: OpenApiResponse(description="Only staff add activities."),
        },
    ),
)
@extend_schema(tags=["activities"])
class ActivityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Instructional materials linked to competencies, one library shared across schools. Only approved
    ones are offered to students; staff add them and review their quality."""

    queryset = Activity.objects.none()
    lookup_value_regex = ID_PATTERN

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return activity_serializer_for(self.request.user)

    def get_queryset(self) -> QuerySet[Activity]:
        activities = visible_activities(self.request.user).prefetch_related("competencies")
        competency_id = int_param(self.request, "competency")
        if competency_id is not None:
            activities = activities.filter(competencies=competency_id)
        status_filter = choice_filter(self.request, "status", Activity.Review.values)
        if status_filter is not None:
            activities = activities.filter(review_status=status_filter)
        return activities.order_by("title", "pk")

    def get_object(self) -> Activity:
        return get_activity_or_404(self.request.user, path_id(self.kwargs["pk"]))

    def create(self, request: Request) -> Response:
        user = current_user(request)
        given = valid(ActivityInputSerializer, request)
        activity = run(
            activity_create,
            title=given["title"],
            description=given["description"],
            url=given["url"],
            competency_ids=given["competencies"],
            by=user,
        )
        return Response(
            ActivityForStaffSerializer(get_activity_or_404(user, activity.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Review an activity: approve it (offered to students) or reject it, saying why (staff)",
        request=ActivityReviewInputSerializer,
        responses={
            200: ActivityForStaffSerializer,
            400: OpenApiResponse(description="Refused, naming the field; nothing was changed."),
            403: OpenApiResponse(description="Only staff review activities."),
            404: OpenApiResponse(description="No such activity, or one the user may not see."),
        },
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str) -> Response:
        activity = self.get_object()
        user = current_user(request)
        given = valid(ActivityReviewInputSerializer, request)
        run(activity_review, activity_id=activity.pk, status=given["status"], note=given["note"], by=user)
        return Response(ActivityForStaffSerializer(get_activity_or_404(user, activity.pk)).data)


# --- views: alerts ----------------------------------------------------------------------------------

ALERT_ACTION_RESPONSES = {
    200: PacingAlertSerializer,
    400: OpenApiResponse(description="Refused, naming the field; nothing was changed."),
    404: OpenApiResponse(description="No such alert, or one the user may not see."),
}


@extend_schema_view(
    list=extend_schema(
        summary="Pacing alerts of the students whose alerts the user sees (staff), most severe first",
        parameters=[
            int_filter_parameter("student", "Only this student's alerts."),
            choice_filter_parameter("kind", PacingAlert.Kind.values, "Only alerts of this kind."),
            choice_filter_parameter("status", PacingAlert.Status.values, "Only alerts with this status."),
        ],
    ),
)
@extend_schema(tags=["alerts"])
class PacingAlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alerts are written for teachers (their reason and numbers are not for students or families): staff
    who see the student list, read, acknowledge and resolve them. Students and guardians get an empty
    list and 404 on every alert."""

    serializer_class = PacingAlertSerializer
    queryset = PacingAlert.objects.none()
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[PacingAlert]:
        alerts = visible_alerts(self.request.user)
        student_id = int_param(self.request, "student")
        if student_id is not None:
            alerts = alerts.filter(student_id=student_id)
        for name, choices in (("kind", PacingAlert.Kind.values), ("status", PacingAlert.Status.values)):
            value = choice_filter(self.request, name, choices)
            if value is not None:
                alerts = alerts.filter(**{name: value})
        return alerts.order_by("-severity", "opened_on", "pk")

    def get_object(self) -> PacingAlert:
        return get_alert_or_404(self.request.user, path_id(self.kwargs["pk"]))

    def _act(
        self, request: Request, service: Callable[..., Any], input_class: type[serializers.Serializer]
    ) -> Response:
        alert = self.get_object()
        user = current_user(request)
        if not access.can_act_on_alerts(user, alert.student.learner_profile):
            raise PermissionDenied(MAY_NOT_ACT_ON_ALERTS)
        given = valid(input_class, request)
        run(service, alert_id=alert.pk, by=user, note=given["note"])
        return Response(PacingAlertSerializer(get_alert_or_404(user, alert.pk)).data)

    @extend_schema(
        summary="Acknowledge the alert: seen and being acted on (an optional note)",
        request=AlertAcknowledgeInputSerializer,
        responses=ALERT_ACTION_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        return self._act(request, alert_acknowledge, AlertAcknowledgeInputSerializer)

    @extend_schema(
        summary="Resolve the alert with a note saying what was done",
        request=AlertResolveInputSerializer,
        responses=ALERT_ACTION_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        return self._act(request, alert_resolve, AlertResolveInputSerializer)


# --- evidence, folded into mastery and the path at once ----------------------------------------------


class EvidenceViewSet(mastery_api.EvidenceViewSet):
    """mastery's evidence API, registered in its place: one recorded observation also recomputes that
    student's mastery of the competency and their path's step states before the answer (a teacher sees
    the change at once). Bulk batches, from other systems, are folded in by the nightly pipeline."""

    record_one = staticmethod(evidence_record_and_update)
