"""Evidence from learning tools: the xAPI statements endpoint and the Caliper envelope endpoint.

Both authenticate the tool with HTTP Basic auth (key:secret of a `ToolCredential`, xAPI's usual scheme);
no user session or token reaches them. An unknown, inactive or wrong credential gets 401 before the body is
read. Mounted outside /api/v1/ (plplatform/urls.py): /xapi/statements and /caliper/events.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.urls import path
from rest_framework import status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mastery.interop import caliper, xapi
from mastery.interop.tools import (
    IngestReport,
    comparable,
    observations_ingest,
    stored_statements,
    tool_credential_authenticate,
)
from mastery.models import ToolCredential
from mastery.services import EvidenceBatchError

BAD_CREDENTIALS = "Invalid tool credentials."


class ToolBasicAuthentication(BaseAuthentication):
    """HTTP Basic auth with a tool's key and secret. The request's user stays anonymous; `request.auth` is
    the ToolCredential."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ToolCredential] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"basic":
            return None
        try:
            key, _, secret = base64.b64decode(parts[1], validate=True).decode("utf-8").partition(":")
        except (IndexError, ValueError, binascii.Error):
            raise AuthenticationFailed(BAD_CREDENTIALS) from None
        credential = tool_credential_authenticate(key=key, secret=secret)
        if credential is None:
            raise AuthenticationFailed(BAD_CREDENTIALS)
        return AnonymousUser(), credential

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="plplatform evidence"'  # makes DRF answer 401 (not 403) without credentials


class IsTool(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ToolCredential)


class _ToolView(APIView):
    authentication_classes = [ToolBasicAuthentication]
    permission_classes = [IsTool]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    throttle_classes: list[Any] = []
    schema = None  # the xAPI and Caliper specifications describe these; the OpenAPI schema is the user API

    def tool(self, request: Request) -> ToolCredential:
        assert isinstance(request.auth, ToolCredential)  # IsTool
        return request.auth


def _field_error(field: str, message: str) -> Response:
    return Response({"field": field, "error": message}, status=status.HTTP_400_BAD_REQUEST)


def _batch_error(refused: EvidenceBatchError) -> Response:
    # Parsing checked the shape; this is what the evidence service refused (a NUL in the raw payload, ...).
    return Response({"error": str(refused), "errors": refused.errors}, status=status.HTTP_400_BAD_REQUEST)


class XapiStatementsView(_ToolView):
    """POST one statement or an array (answers their ids); PUT one with ?statementId= (204). A statement id
    stored before with a different statement is a conflict (409); the same statement again is stored once."""

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response[xapi.VERSION_HEADER] = xapi.VERSION
        return response

    def _version_problem(self, request: Request) -> Response | None:
        version = request.headers.get(xapi.VERSION_HEADER)
        if version is None:
            return _field_error(xapi.VERSION_HEADER, "This header is required.")
        if not version.startswith("1.0"):
            return _field_error(xapi.VERSION_HEADER, f"Version {version} is not supported; send 1.0.3.")
        return None

    def _ingest(self, request: Request, statement_id: str | None) -> tuple[xapi.ParsedStatements, Response | None]:
        problem = self._version_problem(request)
        if problem is not None:
            return xapi.ParsedStatements(), problem
        try:
            parsed = xapi.parse_request(request.data, statement_id=statement_id)
        except xapi.StatementError as error:
            return xapi.ParsedStatements(), _field_error(error.field, error.message)
        tool = self.tool(request)
        for known_id, stored in stored_statements(tool=tool, statement_ids=list(parsed.statements)).items():
            if comparable(stored) != comparable(parsed.statements[known_id]):
                return parsed, Response(
                    {"field": "id", "error": f"Statement {known_id} exists with different content."},
                    status=status.HTTP_409_CONFLICT,
                )
        try:
            observations_ingest(tool=tool, observations=parsed.observations, voids=parsed.voids)
        except EvidenceBatchError as refused:
            return parsed, _batch_error(refused)
        return parsed, None

    def post(self, request: Request) -> Response:
        parsed, problem = self._ingest(request, None)
        return problem or Response(parsed.ids, status=status.HTTP_200_OK)

    def put(self, request: Request) -> Response:
        statement_id = request.query_params.get("statementId")
        if not statement_id:
            return _field_error("statementId", "This parameter is required.")
        _, problem = self._ingest(request, statement_id)
        return problem or Response(status=status.HTTP_204_NO_CONTENT)


class CaliperEventsView(_ToolView):
    """POST a Caliper envelope. Answers what became of each event: stored, duplicates (stored before),
    unmatched (kept for an admin), not_evidence and unsupported (acknowledged, nothing recorded)."""

    def post(self, request: Request) -> Response:
        try:
            parsed = caliper.parse_envelope(request.data)
        except caliper.EnvelopeError as error:
            return _field_error(error.field, error.message)
        try:
            report: IngestReport = observations_ingest(tool=self.tool(request), observations=parsed.observations)
        except EvidenceBatchError as refused:
            return _batch_error(refused)
        outcome = report.as_dict()
        del outcome["voided"]  # Caliper has no voiding
        return Response({**outcome, "unsupported": parsed.unsupported}, status=status.HTTP_200_OK)


urlpatterns = [
    path("xapi/statements", XapiStatementsView.as_view(), name="xapi-statements"),
    path("caliper/events", CaliperEventsView.as_view(), name="caliper-events"),
]
