"""REST API v1 of the mastery app.

Mastery states (read; teachers set and lift overrides) and their explanations.

Evidence: list and detail scoped by profiles/access.py (evidence of the students the user may see),
recording one observation, and bulk batches of up to 5,000. Staff record evidence for the students
they see (teachers their sections', principals their school's, district admins their district's);
students and guardians get 403. An unknown student and one the user may not record for are the
same field error on `student`, so the API does not reveal which students exist elsewhere.

Frameworks: GET /api/v1/frameworks/<id>/case/ gives one as CASE 1.1 JSON (staff; see FrameworkCaseView).

Thin on purpose: validation and idempotency live in mastery.services.evidence; the view translates
field names (`student`, `competency` here; `student_id`, `competency_id` in the service).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError, PermissionDenied
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from profiles import access
from profiles.api import (
    FORM_ONLY_KEYS,
    ID_PATTERN,
    NOT_EDITABLE,
    call_service,
    current_user,
    int_filter_parameter,
    int_param,
    path_id,
    scoped_get_or_404,
)
from profiles.models import User

from . import selectors, services
from .interop.case import case_export
from .models import Competency, Evidence, Framework, MasteryState, MasteryStatus
from .services.evidence import DEFAULT_SOURCE, EVIDENCE_BULK_TOO_MANY, UNKNOWN_FIELD

NO_SUCH_EVIDENCE = "No such evidence."
NO_SUCH_FRAMEWORK = "No such framework."
MAY_NOT_RECORD = "You may not record evidence."
ITEMS_REQUIRED = "A list of evidence items is required."
ITEMS_EMPTY = "At least one item is required."
NOT_AN_OBJECT = "A JSON object is required."

# API field → service keyword; every other accepted field has the same name in both.
API_TO_SERVICE = {"student": "student_id", "competency": "competency_id"}
SERVICE_TO_API = {**{value: key for key, value in API_TO_SERVICE.items()}, NON_FIELD_ERRORS: "non_field_errors"}
INPUT_FIELDS = frozenset(
    {"student", "competency", "observed_at", "score", "raw_score", "max_score", "rating", "kind", "source"}
    | {"external_id", "note", "raw"}
)
OUTPUT_ONLY_FIELDS = frozenset({"id", "recorded_by", "created_at"})


# A full batch carrying raw payloads is larger than Django's 2.5 MB DATA_UPLOAD_MAX_MEMORY_SIZE, which
# DRF's JSONParser applies to every JSON body; the bulk route reads its body with this limit instead.
BULK_BODY_MAX_BYTES = 32 * 1024 * 1024


class BatchTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "batch_too_large"


class BulkJSONParser(BaseParser):
    """JSON read from the request stream, refused past BULK_BODY_MAX_BYTES (413, naming the limit)."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = stream.read(BULK_BODY_MAX_BYTES + 1)
        if len(data) > BULK_BODY_MAX_BYTES:
            raise BatchTooLarge(f"A batch body holds at most {BULK_BODY_MAX_BYTES // (1024 * 1024)} MB.")
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            # bytes.decode accepts text encodings only (no decompressing codecs).
            return json.loads(data.decode(encoding))
        except (LookupError, ValueError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


# --- scoping ----------------------------------------------------------------------------------


def visible_evidence(user: Any) -> QuerySet[Evidence]:
    """Evidence of the students the user may see (profiles/access.py decides who)."""
    return Evidence.objects.filter(student_id__in=access.visible_learner_profiles(user).values("pk"))


def get_evidence_or_404(user: Any, evidence_id: int) -> Evidence:
    return scoped_get_or_404(visible_evidence(user), evidence_id, NO_SUCH_EVIDENCE)


def require_recorder(request: Request) -> User:
    user = current_user(request)
    if not access.can_record_evidence(user):
        raise PermissionDenied(MAY_NOT_RECORD)
    return user


# --- translating between the API's names and the service's ----------------------------------------


def service_item(data: Any) -> tuple[Any, dict[str, list[str]]]:
    """An API item as the service's item, and the errors of fields the API does not accept."""
    if not isinstance(data, Mapping):
        return data, {}  # the service answers "Each item must be an object."
    item: dict[str, Any]
    if type(data) is dict and INPUT_FIELDS.issuperset(data):  # the usual JSON item: rename two keys
        item = data.copy()
        for api_name, service_name in API_TO_SERVICE.items():
            if api_name in item:
                item[service_name] = item.pop(api_name)
        return item, {}
    item = {}
    errors: dict[str, list[str]] = {}
    for key, value in data.items():
        if key in FORM_ONLY_KEYS:
            continue
        if key in INPUT_FIELDS:
            item[API_TO_SERVICE.get(str(key), str(key))] = value
        else:
            errors[str(key)] = [NOT_EDITABLE if key in OUTPUT_ONLY_FIELDS else UNKNOWN_FIELD]
    return item, errors


def api_errors(errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    return {SERVICE_TO_API.get(field, field): list(messages) for field, messages in errors.items()}


def form_data(data: Any) -> Any:
    # HTML forms (the browsable API) send a QueryDict of strings; the service reads strings too.
    return data.dict() if hasattr(data, "dict") else data


# --- serializers ------------------------------------------------------------------------------


class EvidenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Evidence
        fields = (
            "id",
            "student",
            "competency",
            "kind",
            "observed_at",
            "score",
            "rating",
            "source",
            "external_id",
            "recorded_by",
            "note",
            "raw",
            "created_at",
            "voided_at",
        )
        read_only_fields = fields


class EvidenceInputSerializer(serializers.Serializer):
    """One observation (for the schema; mastery.services.evidence validates). Give exactly one of
    `score`, `raw_score` with `max_score`, or `rating`, or none with `kind` "completion"."""

    student = serializers.IntegerField(help_text="The student's id (their user id).")
    competency = serializers.IntegerField(help_text="The competency's id.")
    observed_at = serializers.CharField(
        help_text="ISO 8601 date or date-time; without an offset it is in the school time zone."
    )
    score = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)
    raw_score = serializers.FloatField(
        required=False, allow_null=True, help_text="Normalized to raw_score / max_score."
    )
    max_score = serializers.FloatField(required=False, allow_null=True)
    rating = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=4)
    kind = serializers.ChoiceField(
        choices=Evidence.Kind.choices, required=False, allow_null=True, help_text="Inferred from the value."
    )
    source = serializers.CharField(required=False, default=DEFAULT_SOURCE)  # type: ignore[assignment]
    external_id = serializers.CharField(
        required=False, allow_null=True, help_text="Unique per source: sending it again returns the first row."
    )
    note = serializers.CharField(required=False, allow_blank=True)
    raw = serializers.JSONField(required=False, allow_null=True, help_text="The original payload (a JSON object).")


class EvidenceBulkInputSerializer(serializers.Serializer):
    items = EvidenceInputSerializer(many=True, help_text=f"At most {services.EVIDENCE_BULK_MAX:,} items.")


class EvidenceBulkItemResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created = serializers.BooleanField(help_text="False when the (source, external_id) was already stored.")


class EvidenceBulkResultSerializer(serializers.Serializer):
    results = EvidenceBulkItemResultSerializer(many=True, help_text="One per item, in order.")
    created = serializers.IntegerField()
    already_present = serializers.IntegerField()


# --- views ------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Evidence of the students the user may see, newest first",
        parameters=[
            int_filter_parameter("student", "Only evidence of this student."),
            int_filter_parameter("competency", "Only evidence on this competency."),
        ],
    ),
    create=extend_schema(
        summary="Record one observation (staff who see the student)",
        request=EvidenceInputSerializer,
        responses={
            201: EvidenceSerializer,
            200: OpenApiResponse(EvidenceSerializer, description="Already stored: the first row for the external id."),
        },
    ),
)
@extend_schema(tags=["evidence"])
class EvidenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Evidence is append-only: there is no update or delete. Recording the same (source, external_id)
    again stores nothing and answers 200 with the row stored first."""

    serializer_class = EvidenceSerializer
    queryset = Evidence.objects.none()  # for the schema only; get_queryset scopes every request
    lookup_value_regex = ID_PATTERN
    # What records one observation. pathways.api registers a subclass whose recorder also recomputes
    # the pair's mastery and the student's path at once (the higher app calls down; mastery knows no paths).
    record_one: Any = staticmethod(services.evidence_record)

    def get_queryset(self) -> QuerySet[Evidence]:
        evidence = visible_evidence(self.request.user)
        student_id = int_param(self.request, "student")
        if student_id is not None:
            evidence = evidence.filter(student_id=student_id)
        competency_id = int_param(self.request, "competency")
        if competency_id is not None:
            evidence = evidence.filter(competency_id=competency_id)
        return evidence.order_by("-observed_at", "-pk")

    def get_object(self) -> Evidence:
        return get_evidence_or_404(self.request.user, path_id(self.kwargs["pk"]))

    def create(self, request: Request) -> Response:
        user = require_recorder(request)
        data = form_data(request.data)
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [NOT_AN_OBJECT]})
        item, refused = service_item(data)
        students = access.evidence_recordable_students(user)
        if refused:
            errors = services.evidence_validate(items=[item], students=students).get(0, {})
            raise serializers.ValidationError({**api_errors(errors), **refused})
        try:
            evidence, created = self.record_one(**item, recorded_by=user, students=students)
        except DjangoValidationError as invalid:
            raise serializers.ValidationError(api_errors(invalid.message_dict)) from None
        return Response(
            EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        summary=f"Record a batch of up to {services.EVIDENCE_BULK_MAX:,} observations, all or nothing",
        request=EvidenceBulkInputSerializer,
        responses={
            201: EvidenceBulkResultSerializer,
            200: OpenApiResponse(EvidenceBulkResultSerializer, description="Every item was already stored."),
            400: OpenApiResponse(description="Errors by item index and field; nothing was stored."),
            413: OpenApiResponse(description="More items than a batch may hold; nothing was stored."),
        },
    )
    @action(detail=False, methods=["post"], url_path="bulk", parser_classes=[BulkJSONParser])
    def bulk(self, request: Request) -> Response:
        """All or nothing: one bad item refuses the batch, with `items` errors by index and field.
        Items whose (source, external_id) is already stored answer with that row (created false)."""
        user = require_recorder(request)
        data = request.data
        raw_items = data.get("items") if isinstance(data, Mapping) else None
        if not isinstance(raw_items, list):
            raise serializers.ValidationError({"items": [ITEMS_REQUIRED]})
        if not raw_items:
            raise serializers.ValidationError({"items": [ITEMS_EMPTY]})
        if len(raw_items) > services.EVIDENCE_BULK_MAX:
            message = EVIDENCE_BULK_TOO_MANY.format(limit=services.EVIDENCE_BULK_MAX, count=len(raw_items))
            return Response({"items": [message]}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        items = []
        refused: dict[int, dict[str, list[str]]] = {}
        for index, raw_item in enumerate(raw_items):
            item, item_refused = service_item(raw_item)
            items.append(item)
            if item_refused:
                refused[index] = item_refused
        students = access.evidence_recordable_students(user)
        try:
            if refused:
                raise services.EvidenceBatchError(services.evidence_validate(items=items, students=students))
            results = services.evidence_record_bulk(items=items, recorded_by=user, students=students)
        except services.EvidenceBatchError as invalid:
            errors = {index: api_errors(fields) for index, fields in invalid.errors.items()}
            for index, fields in refused.items():
                errors[index] = {**errors.get(index, {}), **fields}
            raise serializers.ValidationError(
                {"items": {str(index): errors[index] for index in sorted(errors)}}
            ) from None
        created = sum(result.created for result in results)
        body = {
            "results": [{"id": result.id, "created": result.created} for result in results],
            "created": created,
            "already_present": len(results) - created,
        }
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- mastery states, their explanations and teacher overrides ---------------------------------------


NO_SUCH_STATE = "No such mastery state."
NO_SUCH_STUDENT = "No such student."
NO_SUCH_COMPETENCY = "No such competency."
MAY_NOT_OVERRIDE = "You may read this student's mastery but not override it."


def visible_mastery_states(user: Any) -> QuerySet[MasteryState]:
    """Mastery states of the students the user may see (profiles/access.py decides who)."""
    return MasteryState.objects.filter(student_id__in=access.visible_learner_profiles(user).values("pk"))


def get_state_or_404(user: Any, state_id: int) -> MasteryState:
    return scoped_get_or_404(
        visible_mastery_states(user).select_related("policy", "override_by"), state_id, NO_SUCH_STATE
    )


def require_overrider(request: Request, state: MasteryState) -> User:
    """Staff who edit the student's profile set and lift overrides (as on the explanation page)."""
    user = current_user(request)
    if not access.can_edit_learner_profile(user, state.student.learner_profile):
        raise PermissionDenied(MAY_NOT_OVERRIDE)
    return user


class MasteryOverrideSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=MasteryStatus.choices)
    note = serializers.CharField(help_text="Why the teacher set it.")
    author = serializers.CharField(allow_null=True, help_text="The teacher's name.")
    at = serializers.DateTimeField()


class MasteryStateSerializer(serializers.ModelSerializer):
    effective_status = serializers.ChoiceField(
        choices=MasteryStatus.choices, help_text="The override's status when there is one, else the computed one."
    )
    policy_version = serializers.SerializerMethodField(help_text="The policy version that computed the status.")
    override = serializers.SerializerMethodField()

    class Meta:
        model = MasteryState
        fields = (
            "id",
            "student",
            "competency",
            "effective_status",
            "status",
            "estimate",
            "evidence_count",
            "first_mastered_at",
            "last_evidence_at",
            "policy_version",
            "override",
            "updated_at",
        )
        read_only_fields = fields

    def get_policy_version(self, state: MasteryState) -> int | None:
        return None if state.policy is None else state.policy.version

    @extend_schema_field(MasteryOverrideSerializer(allow_null=True))
    def get_override(self, state: MasteryState) -> dict[str, Any] | None:
        if state.override_status is None:
            return None
        author = state.override_by
        return {
            "status": state.override_status,
            "note": state.override_note,
            "author": None if author is None else str(author),
            "at": state.override_at,
        }


class MasteryOverrideInputSerializer(serializers.Serializer):
    student = serializers.IntegerField(help_text="The student's id (their user id).")
    competency = serializers.IntegerField(help_text="The competency's id.")
    status = serializers.ChoiceField(choices=MasteryStatus.choices)
    note = serializers.CharField(help_text="Required: why the status is set by hand.")


class ExplainedEvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Evidence.Kind.choices)
    score = serializers.FloatField(allow_null=True)
    rating = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()  # type: ignore[assignment]
    observed_at = serializers.DateTimeField()
    recorded_by = serializers.CharField(allow_null=True)


class EstimatePointSerializer(serializers.Serializer):
    observed_at = serializers.DateTimeField()
    estimate = serializers.FloatField()


class ComputedStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=MasteryStatus.choices)
    estimate = serializers.FloatField(allow_null=True)
    first_mastered_at = serializers.DateTimeField(allow_null=True)


class MasteryExplanationSerializer(serializers.Serializer):
    """Why a student has their status: the rule that produced it, in words and numbers, the evidence
    that counted, and the estimate after each piece of it (BKT: a probability; the rubric methods: the
    1–4 scale)."""

    state = MasteryStateSerializer()
    method = serializers.CharField()
    method_label = serializers.CharField()
    rule = serializers.CharField(help_text="The rule in words, with its numbers.")
    parameters = serializers.DictField(child=serializers.FloatField(), help_text="The rule's numbers by name.")
    evidence = ExplainedEvidenceSerializer(many=True, help_text="The evidence that counted, oldest first.")
    trajectory = EstimatePointSerializer(many=True, help_text="The estimate after each counted piece of evidence.")
    computed = ComputedStatusSerializer(help_text="What the rule concludes from the evidence now.")


def explanation_body(state: MasteryState) -> dict[str, Any]:
    explanation = selectors.mastery_explanation(student_id=state.student_id, competency_id=state.competency_id)
    trajectory = [{"observed_at": at, "estimate": estimate} for at, estimate in explanation["trajectory"]]
    return MasteryExplanationSerializer({**explanation, "state": state, "trajectory": trajectory}).data


@extend_schema_view(
    list=extend_schema(
        summary="Mastery states of the students the user may see",
        description="A pair with no state yet has no evidence: its status is not_started.",
        parameters=[
            int_filter_parameter("student", "Only this student's states."),
            int_filter_parameter("competency", "Only states on this competency."),
            int_filter_parameter("framework", "Only states on this framework's competencies."),
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=MasteryStatus.values,
                description="Only states with this effective status (the override's when there is one).",
            ),
        ],
    ),
)
@extend_schema(tags=["mastery"])
class MasteryStateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Read-only: the nightly pipeline and recording evidence compute states; teachers override them."""

    serializer_class = MasteryStateSerializer
    queryset = MasteryState.objects.none()  # for the schema only; get_queryset scopes every request
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[MasteryState]:
        states = visible_mastery_states(self.request.user).select_related("policy", "override_by")
        for name, field in (("student", "student_id"), ("competency", "competency_id")):
            value = int_param(self.request, name)
            if value is not None:
                states = states.filter(**{field: value})
        framework_id = int_param(self.request, "framework")
        if framework_id is not None:
            states = states.filter(competency__framework_id=framework_id)
        status_filter = self.request.query_params.get("status")
        if status_filter:
            if status_filter not in MasteryStatus.values:
                raise serializers.ValidationError({"status": [f"Choose one of {', '.join(MasteryStatus.values)}."]})
            states = states.filter(
                Q(override_status=status_filter) | Q(override_status__isnull=True, status=status_filter)
            )
        return states.order_by("student_id", "competency_id")

    def get_object(self) -> MasteryState:
        return get_state_or_404(self.request.user, path_id(self.kwargs["pk"]))

    @extend_schema(summary="Why the student has this status", responses=MasteryExplanationSerializer)
    @action(detail=True, methods=["get"])
    def explanation(self, request: Request, pk: str) -> Response:
        return Response(explanation_body(self.get_object()))

    @extend_schema(
        summary="Set a student's status on a competency by hand, with a note (staff who edit the student)",
        request=MasteryOverrideInputSerializer,
        responses={200: MasteryStateSerializer},
    )
    @action(detail=False, methods=["post"])
    def override(self, request: Request) -> Response:
        """Kept with its author and time, honoured by every recompute until a teacher lifts it. Works for
        a pair with no state yet (no evidence): the state is created. An unknown student and one the user
        may not see are the same field error on `student`."""
        user = current_user(request)
        given = MasteryOverrideInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        profile = access.visible_learner_profiles(user).filter(pk=given.validated_data["student"]).first()
        if profile is None:
            raise serializers.ValidationError({"student": [NO_SUCH_STUDENT]})
        if not access.can_edit_learner_profile(user, profile):
            raise PermissionDenied(MAY_NOT_OVERRIDE)
        competency_id = given.validated_data["competency"]
        if not Competency.objects.filter(pk=competency_id).exists():
            raise serializers.ValidationError({"competency": [NO_SUCH_COMPETENCY]})
        state = call_service(
            services.mastery_override_set,
            student_id=profile.pk,
            competency_id=competency_id,
            status=given.validated_data["status"],
            note=given.validated_data["note"],
            author=user,
        )
        return Response(MasteryStateSerializer(get_state_or_404(user, state.pk)).data)

    @extend_schema(
        summary="Lift the override: the status follows the evidence again",
        request=None,
        responses={200: MasteryStateSerializer},
    )
    @action(detail=True, methods=["post"], url_path="lift-override")
    def lift_override(self, request: Request, pk: str) -> Response:
        state = self.get_object()
        author = require_overrider(request, state)
        call_service(
            services.mastery_override_lift,
            student_id=state.student_id,
            competency_id=state.competency_id,
            author=author,
        )
        return Response(MasteryStateSerializer(get_state_or_404(author, state.pk)).data)


# --- frameworks as CASE JSON ------------------------------------------------------------------------
# Routed in mastery/urls.py at /api/v1/frameworks/<id>/case/ (an APIView, not a router viewset: one read).


class FrameworkCaseView(APIView):
    """A framework as CASE 1.1 JSON (CFPackage), including prerequisite edges added here. Staff export
    (access.can_export_frameworks); for anyone else an existing framework answers 404 like an unknown one."""

    renderer_classes = [JSONRenderer]  # a file to download, never the browsable page

    @extend_schema(
        summary="A framework as CASE 1.1 JSON (CFPackage)",
        parameters=[OpenApiParameter("download", OpenApiTypes.BOOL, description="Send as a file attachment.")],
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="No such framework.")},
    )
    def get(self, request: Request, framework_id: int) -> Response:
        if not access.can_export_frameworks(request.user):
            raise Http404(NO_SUCH_FRAMEWORK)
        framework = scoped_get_or_404(Framework.objects.all(), framework_id, NO_SUCH_FRAMEWORK)
        response = Response(case_export(framework=framework))
        if request.query_params.get("download"):
            response["Content-Disposition"] = f'attachment; filename="framework-{framework.pk}-case.json"'
        return response
