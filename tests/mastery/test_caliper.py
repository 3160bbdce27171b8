"""Caliper 1.1/1.2 envelope endpoint (/caliper/events) on PostgreSQL, with IMS Global's caliper-common-fixtures
(shared samples, evidence/caliper): every fixture posted, exact evidence when the person and activity map,
exact unmatched rows when they do not, unsupported events reported and not stored, duplicates stored once,
bad credentials and malformed envelopes change nothing."""

from __future__ import annotations

import datetime
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from mastery.interop import tools
from mastery.interop.tools import tool_credential_create
from mastery.models import Competency, Evidence, Framework, UnmatchedStatement
from tests.mastery.interop_support import basic_auth, without
from tests.shared_data import shared_path
from tests.world import World

SOURCE = "caliper-fixtures"
STUDENT_IRI = "https://example.edu/users/554433"
ASSESSMENT = "https://example.edu/terms/201601/courses/7/sections/1/assess/1"
ITEM_3 = f"{ASSESSMENT}/items/3"
GRADED = "urn:uuid:a50ca17f-5971-47bb-8fca-4e6e6879001d"
GRADED_ITEM = "urn:uuid:12c05c4e-253f-4073-9f29-5786f3ff3f36"
SUBMITTED = "urn:uuid:dad88464-0c20-4a19-a1ba-ddf2f9c3ff33"
ITEM_COMPLETED = "urn:uuid:e5891791-3d27-4df1-a272-091806a43dfb"
SINGLE_EVENTS = {
    "caliperEventGradeGraded.json": GRADED,
    "caliperEventGradeGradedItem.json": GRADED_ITEM,
    "caliperEventAssessmentSubmitted.json": SUBMITTED,
    "caliperEventAssessmentItemCompleted.json": ITEM_COMPLETED,
}
UNSUPPORTED = {
    "caliperEnvelopeEventSingle.json": [
        {"id": "urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc594", "type": "AssessmentEvent", "action": "Started"}
    ],
    "caliperEnvelopeEventBatch.json": [
        {"id": "urn:uuid:72f66ce5-d2ec-44cc-bce5-41602e1015dc", "type": "NavigationEvent", "action": "NavigatedTo"},
        {"id": "urn:uuid:c0afa013-64df-453f-b0a6-50f3efbe4cc0", "type": "AnnotationEvent", "action": "Bookmarked"},
        {"id": "urn:uuid:94bad4bd-a7b1-4c3e-ade4-2253efe65172", "type": "ViewEvent", "action": "Viewed"},
    ],
}


def sample(name: str) -> Any:
    return json.loads(shared_path("samples", "evidence", "caliper", name).read_text(encoding="utf-8"))


def envelope(*events: dict[str, Any]) -> dict[str, Any]:
    """The fixtures' own envelope header (caliperEnvelopeEventSingle.json) around the given events."""
    return {**sample("caliperEnvelopeEventSingle.json"), "data": list(events)}


class Setup:
    """World (tests/world.py), a tool of district North; the assessment maps by its competency's source
    identifier, item 3 by a SourceIdentity of the tool."""

    def __init__(self, world: World) -> None:
        self.world = world
        framework = Framework.objects.create(name="CPS 435", subject="Computing", grade_low=3, grade_high=8)
        self.quiz = Competency.objects.create(
            framework=framework, code="Q.1", statement="Quiz one", grade_level=5, source_identifier=ASSESSMENT
        )
        self.item = Competency.objects.create(framework=framework, code="Q.1.3", statement="Item 3", grade_level=5)
        made = tool_credential_create(name="Quiz app", source=SOURCE, district=world.districts["north"])
        self.tool, self.secret = made.credential, made.secret
        tools.activity_identity_create(tool=self.tool, activity=ITEM_3, competency=self.item)

    def auth(self, secret: str | None = None) -> str:
        return basic_auth(self.tool.key, secret or self.secret)

    def map_student(self) -> None:
        tools.person_identity_create(tool=self.tool, person=STUDENT_IRI, student=self.world.users["s_a1_1"])


@pytest.fixture
def setup(world) -> Setup:
    return Setup(world)


def post(body: Any, *, auth: str | None, raw: bool = False) -> Any:
    headers = {"Authorization": auth} if auth is not None else {}
    data = body if raw else json.dumps(body)
    return Client().post(reverse("caliper-events"), data=data, content_type="application/json", headers=headers)


def evidence_rows() -> set[tuple]:
    return {
        (e.student.username, e.competency.code, e.kind, e.score, e.observed_at, e.source, e.external_id)
        for e in Evidence.objects.select_related("student", "competency")
    }


def unmatched_rows() -> set[tuple]:
    return {
        (u.format, u.statement_id, u.reason, u.person, u.activity, u.resolved_at is not None)
        for u in UnmatchedStatement.objects.all()
    }


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def test_every_fixture_is_stored_exactly_when_mapped(setup):
    setup.map_student()
    outcomes = {}
    for name in SINGLE_EVENTS:
        response = post(envelope(sample(name)), auth=setup.auth())
        outcomes[name] = (response.status_code, response.json())
    for name in UNSUPPORTED:
        response = post(sample(name), auth=setup.auth())
        outcomes[name] = (response.status_code, response.json())

    empty = {"stored": [], "duplicates": [], "unmatched": [], "not_evidence": [], "unsupported": []}
    assert outcomes == {
        **{name: (200, {**empty, "stored": [event_id]}) for name, event_id in SINGLE_EVENTS.items()},
        **{name: (200, {**empty, "unsupported": reported}) for name, reported in UNSUPPORTED.items()},
    }
    assert evidence_rows() == {
        # GradeEvent: the Attempt's assignee scored scoreGiven / maxScore on its assignable.
        ("s_a1_1", "Q.1", "score", 10 / 15, at("2016-11-15T10:57:06+00:00"), SOURCE, GRADED),
        ("s_a1_1", "Q.1.3", "score", 1.0, at("2016-11-15T10:57:06+00:00"), SOURCE, GRADED_ITEM),
        # Submitted / Completed without a score: activity completions.
        ("s_a1_1", "Q.1", "completion", None, at("2016-11-15T10:25:30+00:00"), SOURCE, SUBMITTED),
        ("s_a1_1", "Q.1.3", "completion", None, at("2016-11-15T10:15:12+00:00"), SOURCE, ITEM_COMPLETED),
    }
    assert Evidence.objects.get(external_id=GRADED).raw == {
        "format": "caliper",
        "statement": sample("caliperEventGradeGraded.json"),
    }
    assert UnmatchedStatement.objects.count() == 0


def test_every_fixture_naming_an_unknown_person_is_kept_unmatched(setup):
    events = [sample(name) for name in SINGLE_EVENTS]
    response = post(envelope(*events), auth=setup.auth())
    batch = post(sample("caliperEnvelopeEventBatch.json"), auth=setup.auth())
    assert response.status_code == 200
    assert response.json()["unmatched"] == list(SINGLE_EVENTS.values())
    assert batch.json()["unsupported"] == UNSUPPORTED["caliperEnvelopeEventBatch.json"]  # not kept: no evidence
    assert Evidence.objects.count() == 0
    assert unmatched_rows() == {
        ("caliper", event_id, "unknown person", STUDENT_IRI, "", False) for event_id in SINGLE_EVENTS.values()
    }
    assert UnmatchedStatement.objects.get(statement_id=GRADED).statement == sample("caliperEventGradeGraded.json")


def test_an_item_response_with_a_score_is_a_score(setup):
    setup.map_student()
    event = sample("caliperEventAssessmentItemCompleted.json")
    event["generated"].update(scoreGiven=0.5, maxScore=2.0)
    post(envelope(event), auth=setup.auth())
    assert Evidence.objects.values_list("kind", "score").get() == ("score", 0.25)


def test_the_same_event_twice_is_stored_once(setup):
    setup.map_student()
    event = sample("caliperEventGradeGraded.json")
    first = post(envelope(event, event), auth=setup.auth())
    again = post(envelope(event), auth=setup.auth())
    assert (first.json()["stored"], again.json()["stored"], again.json()["duplicates"]) == ([GRADED], [], [GRADED])
    assert Evidence.objects.filter(external_id=GRADED).count() == 1
    assert Evidence.objects.count() == 1


def test_bad_credentials_get_401_and_store_nothing(setup, world):
    setup.map_student()
    body = envelope(sample("caliperEventGradeGraded.json"))
    teacher = Client()
    teacher.force_login(world.users["t_a1"])
    session = teacher.post(reverse("caliper-events"), data=json.dumps(body), content_type="application/json")
    setup.tool.active = False
    setup.tool.save()
    inactive = post(body, auth=setup.auth())
    assert [post(body, auth=None).status_code, post(body, auth=setup.auth("wrong")).status_code] == [401, 401]
    assert (session.status_code, inactive.status_code) == (401, 401)
    assert Evidence.objects.count() == 0 and UnmatchedStatement.objects.count() == 0


REQUIRED = "This field is required."
GRADE_EVENT = "caliperEventGradeGraded.json"
SUBMIT_EVENT = "caliperEventAssessmentSubmitted.json"


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        ({**envelope(), "data": None}, "data", REQUIRED),
        ({**envelope(), "data": []}, "data", "Must be a non-empty array."),
        ({**envelope(), "sendTime": "noon"}, "sendTime", "Must be an ISO 8601 timestamp."),
        (envelope(without(sample(GRADE_EVENT), "eventTime")), "data[0].eventTime", REQUIRED),
        (envelope(without(sample("caliperEventGradeGraded.json"), "id")), "data[0].id", "This field is required."),
        (
            envelope(without(sample("caliperEventGradeGraded.json"), "generated", "maxScore")),
            "data[0].generated.maxScore",
            "This field is required.",
        ),
        (
            envelope(without(sample("caliperEventGradeGraded.json"), "object", "assignee")),
            "data[0].object.assignee",
            "This field is required.",
        ),
        (
            envelope(sample(SUBMIT_EVENT), without(sample(SUBMIT_EVENT), "actor")),
            "data[1].actor",
            "This field is required.",
        ),
        ([], "", "Must be a JSON object."),
    ],
)
def test_malformed_envelopes_are_refused_naming_the_field(setup, body, field, error):
    setup.map_student()
    response = post(body, auth=setup.auth())
    assert (response.status_code, response.json()) == (400, {"field": field, "error": error})
    assert Evidence.objects.count() == 0 and UnmatchedStatement.objects.count() == 0


def test_malformed_json_is_refused(setup):
    response = post('{"sensor": ', auth=setup.auth(), raw=True)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert Evidence.objects.count() == 0 and UnmatchedStatement.objects.count() == 0


def test_mapping_an_unmatched_event_replays_it(setup):
    post(envelope(sample("caliperEventGradeGraded.json")), auth=setup.auth())
    row = UnmatchedStatement.objects.get()
    out = StringIO()
    call_command("map_unmatched_statement", row.pk, "--student", setup.world.users["s_a1_1"].pk, stdout=out)
    assert out.getvalue() == "resolved: 1; still unmatched: 0\n"
    assert evidence_rows() == {("s_a1_1", "Q.1", "score", 10 / 15, at("2016-11-15T10:57:06+00:00"), SOURCE, GRADED)}
    assert unmatched_rows() == {("caliper", GRADED, "unknown person", STUDENT_IRI, "", True)}
