"""xAPI 1.0.3 statements endpoint (/xapi/statements) on PostgreSQL, with the ADL conformance suite's statement,
result and agent templates (shared samples, evidence/xapi): exact evidence when the person and activity map,
exact unmatched rows when they do not, duplicates stored once, voiding flags the row and the next nightly
recompute leaves it out, bad credentials and malformed statements change nothing."""

from __future__ import annotations

import datetime
import json
from fractions import Fraction
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from mastery.interop import tools, xapi
from mastery.interop.tools import tool_credential_create
from mastery.models import Competency, Evidence, Framework, MasteryState, ToolCredential, UnmatchedStatement
from mastery.selectors import mastery_explanation, mastery_pairs_with_new_evidence
from mastery.services import mastery_recompute
from profiles.models import SourceIdentity, User
from tests.mastery.interop_support import basic_auth, replaced, without
from tests.mastery.test_recompute import bkt
from tests.shared_data import shared_path
from tests.world import World

SOURCE = "adl-lrs-suite"
MEETING = "http://www.example.com/meetings/occurances/34534"  # the templates' activity (sic)
UNICODE_ACTIVITY = "http://www.example.com/unicode"
MBOX = "mailto:xapi@adlnet.gov"
ACCOUNT_NAME = "xAPI account name"
SHA1 = "cd9b00a5611f94eaa7b1661edab976068e364975"
VOIDED_ID = "8f87ccde-bb56-4c2e-ab83-44982ef22df0"  # the object of the voiding template
STATEMENT_SAMPLES = ["context.json", "default.json", "result.json", "unicode.json"]
LONG_AGO = datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC)
UTC = datetime.UTC


def sample(*parts: str) -> Any:
    return json.loads(shared_path("samples", "evidence", "xapi", *parts).read_text(encoding="utf-8"))


def composed(actor: str = "default", *, statement_id: str | None = None, **result: Any) -> dict[str, Any]:
    """A statement as the conformance suite composes them: the default statement, the default result (score
    scaled 0.95, raw 95 of 0-100, success, completion), and optionally an agent template as the actor."""
    statement = sample("statements", "default.json")
    statement["result"] = {**sample("results", "default.json"), **result}
    if actor != "default":
        statement["actor"] = sample("agents", f"{actor}.json")
    if statement_id is not None:
        statement["id"] = statement_id
    return statement


class Setup:
    """World (tests/world.py), a tool of district North, and two competencies the templates' activities map to:
    the meeting by its source identifier, the unicode activity by a SourceIdentity of the tool."""

    def __init__(self, world: World) -> None:
        self.world = world
        framework = Framework.objects.create(name="Meetings", subject="Civics", grade_low=3, grade_high=8)
        self.meeting = Competency.objects.create(
            framework=framework, code="C.1", statement="Attend", grade_level=5, source_identifier=MEETING
        )
        self.unicode = Competency.objects.create(framework=framework, code="C.2", statement="Mark", grade_level=5)
        made = tool_credential_create(name="LRS north", source=SOURCE, district=world.districts["north"])
        self.tool, self.secret = made.credential, made.secret
        tools.activity_identity_create(tool=self.tool, activity=UNICODE_ACTIVITY, competency=self.unicode)

    def other_tool(self, school: str, secret: str, *, active: bool = True) -> ToolCredential:
        return ToolCredential.objects.create(
            name=f"LRS {school}",
            source=f"{SOURCE}-{school}",
            key=f"key-{school}",
            secret_hash=make_password(secret),
            school=self.world.schools[school],
            active=active,
        )

    def auth(self, key: str | None = None, secret: str | None = None) -> str:
        return basic_auth(key or self.tool.key, secret or self.secret)

    def map_person(self, person: str, username: str, tool: ToolCredential | None = None) -> None:
        tools.person_identity_create(tool=tool or self.tool, person=person, student=self.world.users[username])


@pytest.fixture
def setup(world) -> Setup:
    return Setup(world)


def send(
    method: str, body: Any, *, auth: str | None, version: str | None = "1.0.3", query: str = "", raw: bool = False
) -> Any:
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth
    if version is not None:
        headers["X-Experience-API-Version"] = version
    data = body if raw else json.dumps(body)
    call = getattr(Client(), method)
    return call(reverse("xapi-statements") + query, data=data, content_type="application/json", headers=headers)


def post(setup: Setup, body: Any, **kwargs: Any) -> Any:
    return send("post", body, auth=setup.auth(), **kwargs)


def evidence_rows() -> set[tuple]:
    return {
        (e.student.username, e.competency.code, e.kind, e.score, e.source, e.external_id, e.voided_at is not None)
        for e in Evidence.objects.select_related("student", "competency")
    }


def unmatched_rows() -> set[tuple]:
    return {
        (u.tool.name, u.format, u.statement_id, u.reason, u.person, u.activity, u.resolved_at is not None)
        for u in UnmatchedStatement.objects.select_related("tool")
    }


# --- the samples ---------------------------------------------------------------------------------------


def test_statement_samples_naming_an_unknown_person_are_kept_unmatched(setup):
    ids = {}
    for name in STATEMENT_SAMPLES:
        response = post(setup, sample("statements", name))
        assert response.status_code == 200, response.content
        assert response["X-Experience-API-Version"] == "1.0.3"
        (ids[name],) = response.json()
    voiding = post(setup, sample("statements", "voiding.json"))
    (voiding_id,) = voiding.json()

    assert Evidence.objects.count() == 0
    stored = {name: UnmatchedStatement.objects.get(statement_id=ids[name]).statement for name in STATEMENT_SAMPLES}
    assert stored == {name: {**sample("statements", name), "id": ids[name]} for name in STATEMENT_SAMPLES}
    assert unmatched_rows() == {
        ("LRS north", "xapi", ids["context.json"], "unknown person", MBOX, "", False),
        ("LRS north", "xapi", ids["default.json"], "unknown person", MBOX, "", False),
        ("LRS north", "xapi", ids["result.json"], "unknown person", MBOX, "", False),
        ("LRS north", "xapi", ids["unicode.json"], "unknown person", MBOX, "", False),
        # The voiding template voids a statement this LRS never received: kept, to void it if it arrives.
        ("LRS north", "xapi", voiding_id, "voids a statement not stored here", "", "", False),
    }


def test_statement_samples_without_a_result_record_nothing_once_mapped(setup):
    setup.map_person(MBOX, "s_a1_1")
    for name in STATEMENT_SAMPLES:
        response = post(setup, sample("statements", name))
        assert response.status_code == 200, response.content
    # "attended", with no result or an empty one: no score, no success, no completion. Nothing to record.
    assert Evidence.objects.count() == 0
    assert UnmatchedStatement.objects.count() == 0


def test_composed_samples_are_stored_exactly_for_each_kind_of_agent(setup):
    setup.map_person(MBOX, "s_a1_1")
    setup.map_person(ACCOUNT_NAME, "s_a1_2")
    setup.map_person(SHA1, "s_a2_1")
    ids = ["00000000-0000-4000-8000-00000000000" + str(n) for n in range(3)]
    body = [
        composed(statement_id=ids[0]),
        composed("account", statement_id=ids[1]),
        composed("mbox_sha1sum", statement_id=ids[2]),
    ]
    body[2]["object"] = {"objectType": "Activity", "id": UNICODE_ACTIVITY}
    response = post(setup, body)
    assert (response.status_code, response.json()) == (200, ids)
    assert evidence_rows() == {
        ("s_a1_1", "C.1", "score", 0.95, SOURCE, ids[0], False),
        ("s_a1_2", "C.1", "score", 0.95, SOURCE, ids[1], False),
        ("s_a2_1", "C.2", "score", 0.95, SOURCE, ids[2], False),
    }
    assert Evidence.objects.get(external_id=ids[1]).raw == {"format": "xapi", "statement": body[1]}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({}, ("score", 0.95)),  # scaled wins
        ({"score": {"raw": 95, "min": 0, "max": 100}}, ("score", 0.95)),
        ({"score": {"raw": 3, "min": 1, "max": 5}}, ("score", 0.5)),
        ({"score": {"raw": 4, "max": 5}}, ("score", 0.8)),  # min absent: 0
        ({"score": {"scaled": -0.5}}, ("score", 0.0)),  # xAPI allows negative scaled scores; they count as 0
        ({"score": {}, "success": False}, ("score", 0.0)),
        ({"score": {}, "success": True}, ("score", 1.0)),
        ({"score": {}, "completion": True, "success": None}, ("completion", None)),
    ],
)
def test_scores_are_normalized(setup, result, expected):
    setup.map_person(MBOX, "s_a1_1")
    statement = composed()
    statement["result"].update(result)
    statement["result"] = {key: value for key, value in statement["result"].items() if value is not None}
    assert post(setup, statement).status_code == 200
    assert Evidence.objects.values_list("kind", "score").get() == expected


def test_an_mbox_matches_the_one_user_with_that_email(setup):
    User.objects.filter(username="s_a1_1").update(email="XAPI@adlnet.gov")
    post(setup, composed(statement_id="00000000-0000-4000-8000-000000000001"))
    User.objects.filter(username="p_a").update(email="xapi@adlnet.gov")  # now two users have it: no match
    post(setup, composed(statement_id="00000000-0000-4000-8000-000000000002"))
    assert evidence_rows() == {("s_a1_1", "C.1", "score", 0.95, SOURCE, "00000000-0000-4000-8000-000000000001", False)}
    assert unmatched_rows() == {
        ("LRS north", "xapi", "00000000-0000-4000-8000-000000000002", "unknown person", MBOX, "", False)
    }


def test_a_student_outside_the_tools_school_is_not_recorded(setup):
    north_b_secret = "s3cret-north-b"
    north_b_tool = setup.other_tool("north-b", north_b_secret)
    setup.map_person(MBOX, "s_a1_1", tool=north_b_tool)  # s_a1_1 is at north-a
    response = send("post", composed(statement_id=VOIDED_ID), auth=setup.auth(north_b_tool.key, north_b_secret))
    assert response.status_code == 200
    assert Evidence.objects.count() == 0
    assert unmatched_rows() == {
        (
            "LRS north-b",
            "xapi",
            VOIDED_ID,
            "person is not a student of this tool's school or district",
            MBOX,
            "",  # the activity maps (a competency's source identifier, whatever the tool)
            False,
        )
    }


def test_an_unknown_activity_is_kept_unmatched(setup):
    setup.map_person(MBOX, "s_a1_1")
    statement = composed(statement_id=VOIDED_ID)
    statement["object"]["id"] = "http://www.example.com/not-a-competency"
    post(setup, statement)
    assert unmatched_rows() == {
        ("LRS north", "xapi", VOIDED_ID, "unknown activity", "", "http://www.example.com/not-a-competency", False)
    }


# --- duplicates and PUT ---------------------------------------------------------------------------------


def test_the_same_statement_twice_is_stored_once(setup):
    setup.map_person(MBOX, "s_a1_1")
    statement = composed(statement_id=VOIDED_ID)
    first = post(setup, statement)
    again = post(setup, [statement, statement])
    put = send("put", statement, auth=setup.auth(), query=f"?statementId={VOIDED_ID.upper()}")
    assert (first.json(), again.json(), put.status_code) == ([VOIDED_ID], [VOIDED_ID], 204)
    assert evidence_rows() == {("s_a1_1", "C.1", "score", 0.95, SOURCE, VOIDED_ID, False)}


def test_put_stores_a_statement_under_the_given_id(setup):
    setup.map_person(MBOX, "s_a1_1")
    response = send("put", composed(), auth=setup.auth(), query=f"?statementId={VOIDED_ID}")
    assert (response.status_code, response.content, response["X-Experience-API-Version"]) == (204, b"", "1.0.3")
    assert evidence_rows() == {("s_a1_1", "C.1", "score", 0.95, SOURCE, VOIDED_ID, False)}


def test_an_id_stored_with_a_different_statement_is_a_conflict(setup):
    setup.map_person(MBOX, "s_a1_1")
    send("put", composed(), auth=setup.auth(), query=f"?statementId={VOIDED_ID}")
    different = composed(statement_id=VOIDED_ID, score={"scaled": 0.1})
    put = send("put", different, auth=setup.auth(), query=f"?statementId={VOIDED_ID}")
    posted = post(setup, [composed(statement_id="00000000-0000-4000-8000-000000000009"), different])
    assert (put.status_code, posted.status_code) == (409, 409)
    assert put.json() == {"field": "id", "error": f"Statement {VOIDED_ID} exists with different content."}
    assert evidence_rows() == {("s_a1_1", "C.1", "score", 0.95, SOURCE, VOIDED_ID, False)}


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        ("", composed(), {"field": "statementId", "error": "This parameter is required."}),
        (
            f"?statementId={VOIDED_ID}",
            composed(statement_id=VOIDED_ID.replace("8f", "9f")),
            {"field": "id", "error": "Differs from the statementId parameter."},
        ),
        ("?statementId=not-a-uuid", composed(), {"field": "statementId", "error": "Must be a UUID."}),
    ],
)
def test_put_needs_a_matching_statement_id(setup, query, body, expected):
    setup.map_person(MBOX, "s_a1_1")
    response = send("put", body, auth=setup.auth(), query=query)
    assert (response.status_code, response.json()) == (400, expected)
    assert Evidence.objects.count() == 0


# --- voiding -------------------------------------------------------------------------------------------


def test_voiding_flags_the_evidence_and_the_next_night_leaves_it_out(setup):
    setup.map_person(MBOX, "s_a1_1")
    student, competency = setup.world.users["s_a1_1"], setup.meeting
    ids = ["00000000-0000-4000-8000-000000000001", VOIDED_ID, "00000000-0000-4000-8000-000000000003"]
    statements = []
    for day, statement_id in enumerate(ids):
        statement = composed(statement_id=statement_id, score={"scaled": 1.0})
        statement["timestamp"] = f"2026-09-0{day + 1}T09:00:00Z"
        statements.append(statement)
    assert post(setup, statements).status_code == 200
    Evidence.objects.update(created_at=LONG_AGO)  # recorded before last night's run
    assert mastery_recompute(pairs=[(student.pk, competency.pk)]) == 1
    three_right = bkt(bkt(bkt(Fraction(1, 4), Fraction(1)), Fraction(1)), Fraction(1))
    first_mastered = datetime.datetime(2026, 9, 3, 9, tzinfo=UTC)
    state = MasteryState.objects.get()
    assert (state.status, state.estimate, state.evidence_count, state.first_mastered_at) == (
        "mastered",
        pytest.approx(float(three_right), abs=1e-12),
        3,
        first_mastered,
    )
    last_night = datetime.datetime(2026, 9, 2, tzinfo=UTC)
    assert mastery_pairs_with_new_evidence(school_id=student.learner_profile.school_id, since=last_night) == []

    response = post(setup, sample("statements", "voiding.json"))
    assert response.status_code == 200
    voided = Evidence.objects.get(external_id=VOIDED_ID).voided_at
    assert voided is not None
    assert evidence_rows() == {
        ("s_a1_1", "C.1", "score", 1.0, SOURCE, ids[0], False),
        ("s_a1_1", "C.1", "score", 1.0, SOURCE, VOIDED_ID, True),
        ("s_a1_1", "C.1", "score", 1.0, SOURCE, ids[2], False),
    }
    assert UnmatchedStatement.objects.count() == 0

    # The night finds the pair through the voided row alone (nothing was recorded since) and recomputes it
    # without that row: two right answers are not mastery (3 are needed); first_mastered_at is history.
    pairs = mastery_pairs_with_new_evidence(school_id=student.learner_profile.school_id, since=last_night)
    assert pairs == [(student.pk, competency.pk)]
    assert mastery_recompute(pairs=pairs) == 1
    two_right = bkt(bkt(Fraction(1, 4), Fraction(1)), Fraction(1))
    state = MasteryState.objects.get()
    assert (state.status, state.estimate, state.evidence_count, state.first_mastered_at) == (
        "needs_review",
        pytest.approx(float(two_right), abs=1e-12),
        2,
        first_mastered,
    )
    assert mastery_recompute() == 0  # the full path reads without the voided row too

    # Voiding again changes nothing.
    assert post(setup, sample("statements", "voiding.json")).status_code == 200
    assert Evidence.objects.get(external_id=VOIDED_ID).voided_at == voided


def test_withdrawn_evidence_is_left_out_of_the_explanation_and_marked_on_the_timeline(setup, client):
    setup.map_person(MBOX, "s_a1_1")
    student, competency = setup.world.users["s_a1_1"], setup.meeting
    ids = ["00000000-0000-4000-8000-000000000001", VOIDED_ID]
    for day, statement_id in enumerate(ids):
        statement = composed(statement_id=statement_id, score={"scaled": 1.0})
        statement["timestamp"] = f"2026-09-0{day + 1}T09:00:00Z"
        assert post(setup, statement).status_code == 200
    assert post(setup, sample("statements", "voiding.json")).status_code == 200
    assert mastery_recompute(pairs=[(student.pk, competency.pk)]) == 1
    kept, withdrawn = (Evidence.objects.get(external_id=i) for i in ids)
    assert (kept.voided_at, withdrawn.voided_at is not None) == (None, True)

    # The explanation's evidence and estimates are the stored state's: one right answer, not two.
    explanation = mastery_explanation(student_id=student.pk, competency_id=competency.pk)
    one_right = bkt(Fraction(1, 4), Fraction(1))
    assert [row["id"] for row in explanation["evidence"]] == [kept.pk]
    assert explanation["computed"]["estimate"] == pytest.approx(float(one_right), abs=1e-12)
    assert explanation["state"]["estimate"] == pytest.approx(float(one_right), abs=1e-12)
    assert explanation["state"]["evidence_count"] == 1

    # The timeline keeps both, the withdrawn one marked; the API says when it was withdrawn.
    client.force_login(setup.world.t_a1)
    timeline = client.get(reverse("evidence-timeline", args=[student.pk]), headers={"HX-Request": "true"})
    html = timeline.content.decode()
    assert html.count('class="timeline__item"') == 1
    assert html.count('class="timeline__item timeline__item--voided"') == 1
    assert html.count("Withdrawn by its source on") == 1
    listed = client.get(reverse("api-v1:evidence-list")).json()["results"]
    assert sorted((row["external_id"], row["voided_at"] is not None) for row in listed) == [
        (ids[0], False),
        (VOIDED_ID, True),
    ]


def test_a_void_that_arrives_before_its_statement_voids_it_on_arrival(setup):
    setup.map_person(MBOX, "s_a1_1")
    (voiding_id,) = post(setup, sample("statements", "voiding.json")).json()
    assert unmatched_rows() == {("LRS north", "xapi", voiding_id, "voids a statement not stored here", "", "", False)}
    post(setup, composed(statement_id=VOIDED_ID.upper()))
    assert evidence_rows() == {("s_a1_1", "C.1", "score", 0.95, SOURCE, VOIDED_ID, True)}
    assert unmatched_rows() == {("LRS north", "xapi", voiding_id, "voids a statement not stored here", "", "", True)}


def test_voiding_an_unmatched_statement_resolves_it(setup):
    post(setup, composed(statement_id=VOIDED_ID))  # the person is unknown: kept unmatched
    post(setup, sample("statements", "voiding.json"))
    assert unmatched_rows() == {("LRS north", "xapi", VOIDED_ID, "unknown person", MBOX, "", True)}


# --- mapping an unmatched statement ---------------------------------------------------------------------


def test_mapping_an_unmatched_person_replays_the_tools_statements(setup):
    post(setup, [composed(statement_id=VOIDED_ID), composed("account", statement_id=ids_9())])
    mbox_row = UnmatchedStatement.objects.get(statement_id=VOIDED_ID)
    out = StringIO()
    call_command("map_unmatched_statement", mbox_row.pk, "--student", setup.world.users["s_a1_1"].pk, stdout=out)
    assert out.getvalue() == "resolved: 1; still unmatched: 1\n"
    assert evidence_rows() == {("s_a1_1", "C.1", "score", 0.95, SOURCE, VOIDED_ID, False)}
    assert unmatched_rows() == {
        ("LRS north", "xapi", VOIDED_ID, "unknown person", MBOX, "", True),
        ("LRS north", "xapi", ids_9(), "unknown person", ACCOUNT_NAME, "", False),
    }
    identity = SourceIdentity.objects.get(system=SOURCE, entity_type="person", external_id=MBOX)
    assert (identity.content_type, identity.object_id) == (
        ContentType.objects.get_for_model(User),
        setup.world.users["s_a1_1"].pk,
    )


def ids_9() -> str:
    return "00000000-0000-4000-8000-000000000009"


# --- credentials ---------------------------------------------------------------------------------------


def test_bad_credentials_get_401_and_store_nothing(setup, world):
    setup.map_person(MBOX, "s_a1_1")
    inactive = setup.other_tool("north-a", "inactive-secret", active=False)
    teacher = Client()
    teacher.force_login(world.users["t_a1"])
    body = json.dumps(composed(statement_id=VOIDED_ID))
    headers = {"X-Experience-API-Version": "1.0.3"}
    responses = [
        send("post", composed(statement_id=VOIDED_ID), auth=None),
        send("post", composed(statement_id=VOIDED_ID), auth=setup.auth(secret="wrong")),
        send("post", composed(statement_id=VOIDED_ID), auth=setup.auth(key="0" * 32)),
        send("post", composed(statement_id=VOIDED_ID), auth=setup.auth(inactive.key, "inactive-secret")),
        send("post", composed(statement_id=VOIDED_ID), auth="Basic not-base64!"),
        send("put", composed(), auth=setup.auth(secret="wrong"), query=f"?statementId={VOIDED_ID}"),
        teacher.post(reverse("xapi-statements"), data=body, content_type="application/json", headers=headers),
    ]
    assert [(r.status_code, r["X-Experience-API-Version"]) for r in responses] == [(401, "1.0.3")] * 7
    assert responses[0]["WWW-Authenticate"] == 'Basic realm="plplatform evidence"'
    assert Evidence.objects.count() == 0
    assert UnmatchedStatement.objects.count() == 0


def test_create_tool_credential_prints_a_secret_that_authenticates(world):
    out = StringIO()
    arguments = ["Math Practice", "--source", "mathpractice", "--district", "north"]
    call_command("create_tool_credential", *arguments, stdout=out)
    lines = out.getvalue().splitlines()
    key, secret = lines[0].split()[-1], lines[1].split()[-1]
    credential = ToolCredential.objects.get()
    assert (credential.name, credential.source, credential.key, credential.district, credential.school) == (
        "Math Practice",
        "mathpractice",
        key,
        world.districts["north"],
        None,
    )
    assert secret not in credential.secret_hash and check_password(secret, credential.secret_hash)
    assert tools.tool_credential_authenticate(key=key, secret=secret) == credential
    assert tools.tool_credential_authenticate(key=key, secret=secret + "x") is None


# --- malformed requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        (without(composed(), "actor"), "actor", "This field is required."),
        (without(composed(), "verb", "id"), "verb.id", "This field is required."),
        (without(composed(), "object", "id"), "object.id", "This field is required."),
        (without(composed(), "actor", "mbox"), "actor", xapi.ONE_IDENTIFIER),
        (replaced(composed(), "xapi@adlnet.gov", "actor", "mbox"), "actor.mbox", "Must be a mailto: IRI."),
        (replaced(composed(), "42", "id"), "id", "Must be a UUID."),
        (replaced(composed(), 1.5, "result", "score", "scaled"), "result.score.scaled", "Must be between -1 and 1."),
        (replaced(composed(), 101, "result", "score", "raw"), "result.score.raw", "Must be between min and max."),
        (replaced(composed(), "yes", "result", "success"), "result.success", "Must be true or false."),
        (replaced(composed(), "yesterday", "timestamp"), "timestamp", "Must be an ISO 8601 timestamp."),
        ([composed(), without(composed(), "verb", "id")], "[1].verb.id", "This field is required."),
        ([], "", "A statement or an array of statements is required."),
        (
            replaced(sample("statements", "voiding.json"), "Activity", "object", "objectType"),
            "object.objectType",
            "A voiding statement's object must be a StatementRef.",
        ),
    ],
)
def test_malformed_statements_are_refused_naming_the_field(setup, body, field, error):
    setup.map_person(MBOX, "s_a1_1")
    response = post(setup, body)
    assert (response.status_code, response.json()) == (400, {"field": field, "error": error})
    assert Evidence.objects.count() == 0 and UnmatchedStatement.objects.count() == 0


def test_malformed_json_and_a_missing_version_header_are_refused(setup):
    setup.map_person(MBOX, "s_a1_1")
    broken = post(setup, '{"actor": ', raw=True)
    unversioned = post(setup, composed(), version=None)
    unsupported = post(setup, composed(), version="2.0.0")
    assert [broken.status_code, unversioned.status_code, unsupported.status_code] == [400, 400, 400]
    assert broken.json()["detail"].startswith("JSON parse error")
    assert unversioned.json() == {"field": "X-Experience-API-Version", "error": "This header is required."}
    assert unsupported.json() == {
        "field": "X-Experience-API-Version",
        "error": "Version 2.0.0 is not supported; send 1.0.3.",
    }
    assert Evidence.objects.count() == 0 and UnmatchedStatement.objects.count() == 0
