"""REST API v1 of the profiles app: schools, sections, students, learner profiles, goals.

Thin on purpose: each view parses input, asks profiles/access.py who may see or change what, calls
one service or selector, and responds. Every list starts from an access-scoped queryset and every
detail goes through `access.get_*_or_404`, so an unknown id and a forbidden id answer the same 404.
Demographics are never serialized here, for anyone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from . import access, selectors, services
from .models import Enrollment, Goal, LearnerProfile, School, Section, Term, User

# Ids in URLs are digits only, so a malformed id is a 404 from the URL resolver, never a 500.
ID_PATTERN = r"[0-9]+"

NO_SUCH_STUDENT = "No such student."
NOT_EDITABLE = "This field cannot be set here."
# Sent along by HTML forms (the browsable API); it is not a field.
FORM_ONLY_KEYS = {"csrfmiddlewaretoken"}


# --- helpers -----------------------------------------------------------------------------------


def current_user(request: Request) -> User:
    """The signed-in user; every view here requires authentication, so there always is one."""
    user = request.user
    if not isinstance(user, User):  # pragma: no cover - IsAuthenticated refuses anonymous first
        raise PermissionDenied()
    return user


def int_param(request: Request, name: str) -> int | None:
    """A whole-number filter from the query string; a malformed one is a 400 naming the parameter."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise serializers.ValidationError({name: ["A whole number is required."]}) from None


def scoped_get_or_404[M: Model](queryset: QuerySet[M], pk: int, message: str) -> M:
    """One row of a queryset already scoped by profiles/access.py: an unknown id and a forbidden one are the
    same 404, so the API does not reveal what exists elsewhere."""
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise Http404(message)
    return row


def path_id(value: str) -> int:
    # The router's ID_PATTERN guarantees digits, so this cannot fail.
    return int(value)


def call_service[T](service: Callable[..., T], **kwargs: Any) -> T:
    """Run a service; the model validation it performs (full_clean) becomes a 400 with field errors."""
    try:
        return service(**kwargs)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc


def int_filter_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.QUERY, description=description)


# The profile's primary key is its user, so the schema would otherwise call this parameter `user`.
STUDENT_PATH_PARAMETER = OpenApiParameter(
    "student", OpenApiTypes.INT, OpenApiParameter.PATH, description="The student's id (their user id)."
)
STUDENT_ID_PATH_PARAMETER = OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The student's id (their user id)."
)


# --- input serializers -------------------------------------------------------------------------


class EditableFieldsOnlyMixin:
    """Refuses fields the client may not set, instead of silently ignoring them, so nobody believes
    they changed a read-only value (such as a student's grade level) when they did not."""

    initial_data: Any
    fields: Any

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        not_editable = sorted(set(self.initial_data) - set(self.fields) - FORM_ONLY_KEYS)
        if not_editable:
            raise serializers.ValidationError({name: [NOT_EDITABLE] for name in not_editable})
        return attrs


class LearnerProfileUpdateSerializer(EditableFieldsOnlyMixin, serializers.ModelSerializer):
    """The fields of a learner profile that staff may change; any other field is refused."""

    class Meta:
        model = LearnerProfile
        fields = services.PROFILE_EDITABLE_FIELDS


class VisibleStudentField(serializers.PrimaryKeyRelatedField):
    """A student id resolved among the students the requesting user may see.

    An unknown id and an id the user may not see give the same message, so the API does not reveal
    which students exist elsewhere.
    """

    default_error_messages = {"does_not_exist": NO_SUCH_STUDENT}

    def get_queryset(self) -> QuerySet[LearnerProfile]:
        return access.visible_learner_profiles(self.context["request"].user).select_related("user")


class GoalCreateSerializer(EditableFieldsOnlyMixin, serializers.ModelSerializer):
    """A new goal. Its status starts as `active`; `set_with` is the user who creates it."""

    student = VisibleStudentField()

    class Meta:
        model = Goal
        fields = ("student", "title", "description", "target_date", "conference_notes")


class GoalUpdateSerializer(EditableFieldsOnlyMixin, serializers.ModelSerializer):
    """The fields of a goal that staff may change; any other field is refused."""

    class Meta:
        model = Goal
        fields = services.GOAL_EDITABLE_FIELDS


# --- output serializers ------------------------------------------------------------------------


class SchoolSerializer(serializers.ModelSerializer):
    class Meta:
        model = School
        fields = ("id", "name", "code", "district", "grade_low", "grade_high")
        read_only_fields = fields


class TermSerializer(serializers.ModelSerializer):
    class Meta:
        model = Term
        fields = ("id", "name", "start_date", "end_date")
        read_only_fields = fields


# A teacher of a section, read from one of its teacher enrollments.
class SectionTeacherSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user_id", read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, enrollment: Enrollment) -> str:
        return str(enrollment.user)


# Expects sections from `selectors.sections_with_members`: teachers and visible students preloaded.
class SectionSerializer(serializers.ModelSerializer):
    term = TermSerializer(read_only=True)
    teachers = SectionTeacherSerializer(source="teacher_enrollments", many=True, read_only=True)
    student_ids = serializers.SerializerMethodField()

    class Meta:
        model = Section
        fields = ("id", "school", "term", "code", "name", "subject", "grade_level", "teachers", "student_ids")
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_student_ids(self, section: Section) -> list[int]:
        return [enrollment.user_id for enrollment in section.visible_student_enrollments]  # type: ignore[attr-defined]


class StudentSerializer(serializers.Serializer):
    """A student: id (their user id), name, school and grade level. Never any demographics."""

    id = serializers.IntegerField(source="pk", read_only=True)
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)
    school = serializers.IntegerField(source="school_id", read_only=True)
    grade_level = serializers.IntegerField(read_only=True)


class LearnerProfileSerializer(serializers.ModelSerializer):
    student = serializers.IntegerField(source="pk", read_only=True)

    class Meta:
        model = LearnerProfile
        fields = ("student", "grade_level", "school", *services.PROFILE_EDITABLE_FIELDS, "updated_at")
        read_only_fields = fields


class GoalSerializer(serializers.ModelSerializer):
    class Meta:
        model = Goal
        fields = (
            "id",
            "student",
            "title",
            "description",
            "target_date",
            "status",
            "conference_notes",
            "set_with",
            "created_at",
        )
        read_only_fields = fields


# --- views -------------------------------------------------------------------------------------


# DRF's `obtain_auth_token`, subclassed only to give it a tag and a summary in the schema.
@extend_schema(tags=["auth"], summary="Exchange a username and password for an API token")
class TokenObtainView(ObtainAuthToken):
    """Send the token back on every request as `Authorization: Token <token>`."""


@extend_schema_view(list=extend_schema(summary="Schools the user may see"))
@extend_schema(tags=["schools"])
class SchoolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SchoolSerializer
    queryset = School.objects.none()  # for the schema only; get_queryset scopes every request
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[School]:
        return access.visible_schools(self.request.user).order_by("name", "pk")

    def get_object(self) -> School:
        return access.get_school_or_404(self.request.user, path_id(self.kwargs["pk"]))


@extend_schema_view(
    list=extend_schema(
        summary="Sections the user may see",
        parameters=[int_filter_parameter("school", "Only sections of this school.")],
    )
)
@extend_schema(tags=["sections"])
class SectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sections (classes) with their term and active teachers. `student_ids` lists the actively
    enrolled students the user may see: a student sees themself, a guardian their own child."""

    serializer_class = SectionSerializer
    queryset = Section.objects.none()
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[Section]:
        sections = access.visible_sections(self.request.user)
        school_id = int_param(self.request, "school")
        if school_id is not None:
            sections = sections.filter(school_id=school_id)
        return selectors.sections_with_members(
            sections.order_by("grade_level", "name", "pk"), visible_students=access.visible_students(self.request.user)
        )

    def get_object(self) -> Section:
        section = access.get_section_or_404(self.request.user, path_id(self.kwargs["pk"]))
        return selectors.section_with_members(section, visible_students=access.visible_students(self.request.user))


@extend_schema_view(
    list=extend_schema(
        summary="Students the user may see",
        parameters=[
            int_filter_parameter("section", "Only students actively enrolled in this section."),
            int_filter_parameter("school", "Only students of this school."),
            int_filter_parameter("grade", "Only students in this grade level (0 is kindergarten)."),
        ],
    ),
    retrieve=extend_schema(parameters=[STUDENT_ID_PATH_PARAMETER]),
)
@extend_schema(tags=["students"])
class StudentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A student's id is their user id, the same id their learner profile and goals use."""

    serializer_class = StudentSerializer
    queryset = LearnerProfile.objects.none()
    lookup_url_kwarg = "id"
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[LearnerProfile]:
        profiles = access.visible_learner_profiles(self.request.user).select_related("user")
        section_id = int_param(self.request, "section")
        if section_id is not None:
            profiles = profiles.filter(
                user__enrollments__section_id=section_id,
                user__enrollments__role=Enrollment.Role.STUDENT,
                user__enrollments__active=True,
            )
        school_id = int_param(self.request, "school")
        if school_id is not None:
            profiles = profiles.filter(school_id=school_id)
        grade = int_param(self.request, "grade")
        if grade is not None:
            profiles = profiles.filter(grade_level=grade)
        return profiles.order_by("user__last_name", "user__first_name", "pk")

    def get_object(self) -> LearnerProfile:
        return access.get_learner_profile_or_404(self.request.user, path_id(self.kwargs["id"]))


@extend_schema_view(
    list=extend_schema(summary="Learner profiles of the students the user may see"),
    retrieve=extend_schema(parameters=[STUDENT_PATH_PARAMETER]),
    partial_update=extend_schema(
        summary="Change the editable fields of a learner profile (staff who see the student)",
        request=LearnerProfileUpdateSerializer,
        responses={200: LearnerProfileSerializer},
        parameters=[STUDENT_PATH_PARAMETER],
    ),
)
@extend_schema(tags=["learner profiles"])
class LearnerProfileViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A learner profile is addressed by its student's id. Staff who see the student may change the
    strengths, needs, interests, motivations, accommodations and notes; students and guardians read."""

    serializer_class = LearnerProfileSerializer
    queryset = LearnerProfile.objects.none()
    lookup_url_kwarg = "student"
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[LearnerProfile]:
        return access.visible_learner_profiles(self.request.user).order_by("user__last_name", "user__first_name", "pk")

    def get_object(self) -> LearnerProfile:
        return access.get_learner_profile_or_404(self.request.user, path_id(self.kwargs["student"]))

    def partial_update(self, request: Request, student: str) -> Response:
        profile = self.get_object()
        if not access.can_edit_learner_profile(request.user, profile):
            raise PermissionDenied("You may not edit this learner profile.")
        changes = LearnerProfileUpdateSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        editor = request.user if isinstance(request.user, User) else None
        profile = call_service(
            services.learner_profile_update, profile=profile, changes=changes.validated_data, changed_by=editor
        )
        return Response(LearnerProfileSerializer(profile).data)


@extend_schema_view(
    list=extend_schema(
        summary="Goals of the students the user may see",
        parameters=[int_filter_parameter("student", "Only goals of this student.")],
    ),
    create=extend_schema(
        summary="Set a goal with a student (staff who see the student)",
        request=GoalCreateSerializer,
        responses={201: GoalSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a goal (staff who see the student)",
        request=GoalUpdateSerializer,
        responses={200: GoalSerializer},
    ),
)
@extend_schema(tags=["goals"])
class GoalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = GoalSerializer
    queryset = Goal.objects.none()
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[Goal]:
        goals = access.visible_goals(self.request.user)
        student_id = int_param(self.request, "student")
        if student_id is not None:
            goals = goals.filter(student_id=student_id)
        return goals.order_by("target_date", "pk")

    def get_object(self) -> Goal:
        return access.get_goal_or_404(self.request.user, path_id(self.kwargs["pk"]))

    def create(self, request: Request) -> Response:
        user = current_user(request)
        proposal = GoalCreateSerializer(data=request.data, context={"request": request})
        proposal.is_valid(raise_exception=True)
        fields = dict(proposal.validated_data)
        profile: LearnerProfile = fields.pop("student")
        if not access.can_manage_goals(user, profile):
            raise PermissionDenied("You may not set goals for this student.")
        goal = call_service(services.goal_create, student=profile.user, set_with=user, **fields)
        return Response(GoalSerializer(goal).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        goal = self.get_object()
        # The goal is visible, so its student is too; this fetch only supplies the profile to the rule.
        profile = access.get_learner_profile_or_404(request.user, goal.student_id)
        if not access.can_manage_goals(request.user, profile):
            raise PermissionDenied("You may not change this goal.")
        changes = GoalUpdateSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        goal = call_service(services.goal_update, goal=goal, changes=changes.validated_data)
        return Response(GoalSerializer(goal).data)
