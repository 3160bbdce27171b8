"""The district admin's page of unmatched xAPI statements and Caliper events (/districts/<id>/unmatched/), on
PostgreSQL: statements sent through the real endpoints, listed by tool and unmapped identifier for the admins of the
tools' district only; mapping a person or an activity records exactly the evidence it unlocks; a student outside
the admin's district (or the tool's school), an unknown choice or an empty form is refused naming the field, and
nothing changes."""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse

from mastery.interop import tools
from mastery.interop.tools import tool_credential_create
from mastery.interop.unmatched import unmatched_map
from mastery.models import Competency, Evidence, Framework, ToolCredential, UnmatchedStatement
from mastery.unmatched_views import GROUPS_PER_PAGE
from profiles.models import LearnerProfile, Role, RoleMembership, SourceIdentity, User
from tests.mastery.interop_support import basic_auth
from tests.mastery.test_caliper import ASSESSMENT, GRADED, STUDENT_IRI, envelope
from tests.mastery.test_caliper import sample as caliper_sample
from tests.world import PASSWORD, World

QUIZ = "https://fractions.example/quiz/1"  # maps by its competency's source identifier
NEW_ACTIVITY = "https://fractions.example/quiz/99"  # maps to nothing yet
KID = "mailto:kid@fractions.example"
OTHER_KID = "mailto:other@fractions.example"
KNOWN_KID = "mailto:known@fractions.example"  # mapped to s_a1_2 before anything is sent
KID_B = "mailto:b@reading.example"
SOUTH_KID = "mailto:south@quiz.example"
ANSWERED = "http://adlnet.gov/expapi/verbs/answered"


def statement_id(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def statement(number: int, person: str, activity: str, scaled: float) -> dict[str, Any]:
    return {
        "id": statement_id(number),
        "actor": {"objectType": "Agent", "mbox": person},
        "verb": {"id": ANSWERED, "display": {"en-US": "answered"}},
        "object": {"id": activity, "definition": {"name": {"en-US": f"Quiz {activity.rsplit('/', 1)[-1]}"}}},
        "result": {"score": {"scaled": scaled}},
        "timestamp": f"2026-10-{number:02d}T10:00:00Z",
    }


class Tool:
    """A tool credential with its secret, sending through the real endpoints."""

    def __init__(self, name: str, source: str, **scope: Any) -> None:
        made = tool_credential_create(name=name, source=source, **scope)
        self.credential, self.secret = made.credential, made.secret

    def send_xapi(self, *statements: dict[str, Any]) -> None:
        response = Client().post(
            reverse("xapi-statements"),
            data=json.dumps(list(statements)),
            content_type="application/json",
            headers={"Authorization": self.auth(), "X-Experience-API-Version": "1.0.3"},
        )
        assert response.status_code == 200, response.content

    def send_caliper(self, *events: dict[str, Any]) -> None:
        response = Client().post(
            reverse("caliper-events"),
            data=json.dumps(envelope(*events)),
            content_type="application/json",
            headers={"Authorization": self.auth()},
        )
        assert response.status_code == 200, response.content

    def auth(self) -> str:
        return basic_auth(self.credential.key, self.secret)


class Unmatched:
    """World (tests/world.py), a fractions framework, and three tools that sent statements naming people and
    activities we cannot map: one of district North, one of its school north-b, one of district South."""

    def __init__(self, world: World) -> None:
        self.world = world
        framework = Framework.objects.create(name="Fractions", subject="Mathematics", grade_low=3, grade_high=8)
        strand = Competency.objects.create(
            framework=framework, code="5.NF", statement="Number and operations: fractions", grade_level=5
        )
        strand.assessable = False
        strand.save()
        self.strand = strand
        self.quiz = Competency.objects.create(
            framework=framework,
            parent=strand,
            code="5.NF.1",
            statement="Add fractions",
            grade_level=5,
            source_identifier=QUIZ,
        )
        self.other = Competency.objects.create(
            framework=framework, parent=strand, code="5.NF.2", statement="Word problems with fractions", grade_level=5
        )
        self.north = Tool("Fraction practice", "fraction-practice", district=world.districts["north"])
        self.north_b = Tool("Reading app", "reading-app", school=world.schools["north-b"])
        self.south = Tool("South quiz", "south-quiz", district=world.districts["south"])
        tools.person_identity_create(tool=self.north.credential, person=KNOWN_KID, student=world.users["s_a1_2"])
        self.north.send_xapi(
            statement(1, KID, QUIZ, 0.8),
            statement(2, KID, QUIZ, 0.5),
            statement(3, KID, QUIZ, 1.0),
            statement(4, OTHER_KID, QUIZ, 0.25),
            statement(5, KNOWN_KID, NEW_ACTIVITY, 0.75),
            statement(6, KNOWN_KID, NEW_ACTIVITY, 0.4),
        )
        self.north.send_caliper(caliper_sample("caliperEventGradeGraded.json"))  # names STUDENT_IRI on ASSESSMENT
        self.north_b.send_xapi(statement(7, KID_B, QUIZ, 0.9))
        self.south.send_xapi(statement(8, SOUTH_KID, QUIZ, 0.6))

    def first(self, tool: Tool, person: str = "", activity: str = "") -> int:
        """The id of the first open statement of a group: what its form sends."""
        rows = UnmatchedStatement.objects.filter(
            tool=tool.credential, person=person, activity=activity, resolved_at__isnull=True
        )
        return min(rows.values_list("pk", flat=True))

    def url(self, district: str = "north", name: str = "district-unmatched") -> str:
        return reverse(name, args=[self.world.districts[district].pk])


@pytest.fixture
def data(world) -> Unmatched:
    return Unmatched(world)


def signed_in(world: World, username: str, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    assert client.login(username=username, password=PASSWORD)
    return client


def groups(response: Any) -> list[tuple]:
    return [
        (
            group.tool.name,
            group.person,
            group.activity,
            group.count,
            group.reasons,
            group.format,
            group.summary.verb,
            group.summary.activity_name,
            group.summary.event_type,
        )
        for group, _ in response.context["rows"]
    ]


def evidence_rows() -> set[tuple]:
    return {
        (e.student.username, e.competency.code, e.kind, e.score, e.source, e.external_id)
        for e in Evidence.objects.select_related("student", "competency")
    }


def unmatched_rows() -> set[tuple]:
    return {
        (u.tool.name, u.statement_id, u.reason, u.person, u.activity, u.resolved_at is not None)
        for u in UnmatchedStatement.objects.select_related("tool")
    }


def snapshot() -> tuple:
    """Everything a mapping could change."""
    identities = set(SourceIdentity.objects.values_list("system", "entity_type", "external_id", "object_id"))
    return evidence_rows(), unmatched_rows(), identities


NORTH_OPEN = [
    ("Fraction practice", KID, "", 3, "unknown person", "xapi", "answered", "Quiz 1", ""),
    ("Fraction practice", "", NEW_ACTIVITY, 2, "unknown activity", "xapi", "answered", "Quiz 99", ""),
    (
        "Fraction practice",
        STUDENT_IRI,
        ASSESSMENT,
        1,
        "unknown person; unknown activity",
        "caliper",
        "Graded",
        "",
        "GradeEvent",
    ),
    ("Fraction practice", OTHER_KID, "", 1, "unknown person", "xapi", "answered", "Quiz 1", ""),
    ("Reading app", KID_B, "", 1, "unknown person", "xapi", "answered", "Quiz 1", ""),
]


# --- the list ----------------------------------------------------------------------------------------------


def test_the_admin_sees_the_open_statements_of_their_districts_tools_by_identifier(data, world):
    response = signed_in(world, "admin_north").get(data.url())
    assert response.status_code == 200
    assert groups(response) == NORTH_OPEN
    assert response.context["open_count"] == 8
    kid_rows = UnmatchedStatement.objects.filter(person=KID)
    kid_group = response.context["rows"][0][0]
    assert (kid_group.first_id, kid_group.first_at, kid_group.last_at) == (
        min(row.pk for row in kid_rows),
        min(row.created_at for row in kid_rows),
        max(row.created_at for row in kid_rows),
    )
    page = response.content.decode()
    assert SOUTH_KID not in page and "South quiz" not in page
    assert response.context["resolved"] == []


def test_another_districts_admin_sees_only_their_own_tools(data, world):
    client = signed_in(world, "admin_south")
    assert client.get(data.url("north")).status_code == 404
    response = client.get(data.url("south"))
    assert groups(response) == [("South quiz", SOUTH_KID, "", 1, "unknown person", "xapi", "answered", "Quiz 1", "")]
    assert response.context["open_count"] == 1
    assert KID not in response.content.decode()


@pytest.mark.parametrize("username", ["admin_south", "p_a", "p_b", "t_a1", "s_a1_1", "g_1"])
def test_everyone_but_the_districts_admins_gets_404_and_changes_nothing(data, world, username):
    client = signed_in(world, username)
    before = snapshot()
    kid = data.first(data.north, person=KID)
    student = world.users["s_a1_1"].pk
    answers = [
        client.get(data.url()),
        client.get(data.url(name="district-unmatched-count")),
        client.post(data.url(), {"unmatched": kid, "student": student, "action": "map"}),
        client.post(data.url(), {"unmatched": kid, "student_query": "s_a1", "action": "search"}),
        client.post(
            data.url(name="district-unmatched-search"), {"unmatched": kid, "field": "student", "student_query": "s_a1"}
        ),
    ]
    assert [answer.status_code for answer in answers] == [404] * 5
    assert all(KID not in answer.content.decode() for answer in answers)
    assert snapshot() == before


def test_signed_out_visitors_go_to_sign_in_and_change_nothing(data):
    before = snapshot()
    answer = Client().post(data.url(), {"unmatched": data.first(data.north, person=KID), "action": "map"})
    assert (answer.status_code, answer["Location"].split("?")[0]) == (302, reverse("login"))
    assert snapshot() == before


def test_the_district_home_links_to_the_page_with_the_open_count(data, world):
    client = signed_in(world, "admin_north")
    home = client.get(reverse("district-home")).content.decode()
    assert f'hx-get="{data.url(name="district-unmatched-count")}"' in home
    assert f'href="{data.url()}"' in home
    count = client.get(data.url(name="district-unmatched-count"))
    assert count.status_code == 200
    assert f'href="{data.url()}"' in count.content.decode()
    assert '<span class="count" id="unmatched-open-' in count.content.decode()
    assert ">8 open</span>" in count.content.decode()
    assert (
        ">1 open</span>"
        in signed_in(world, "admin_south").get(data.url("south", "district-unmatched-count")).content.decode()
    )


def test_more_groups_than_a_page_are_paged(data, world):
    UnmatchedStatement.objects.bulk_create(
        UnmatchedStatement(
            tool=data.south.credential,
            format="xapi",
            statement_id=statement_id(100 + number),
            statement=statement(100 + number, f"mailto:kid{number:02d}@quiz.example", QUIZ, 0.5),
            reason="unknown person",
            person=f"mailto:kid{number:02d}@quiz.example",
        )
        for number in range(GROUPS_PER_PAGE)
    )
    client = signed_in(world, "admin_south")
    first = client.get(data.url("south"))
    second = client.get(data.url("south") + "?page=2")
    assert (len(first.context["rows"]), len(second.context["rows"])) == (GROUPS_PER_PAGE, 1)
    people = [row[1] for row in groups(first) + groups(second)]
    assert sorted(people) == sorted([SOUTH_KID, *(f"mailto:kid{n:02d}@quiz.example" for n in range(GROUPS_PER_PAGE))])
    assert second.context["open_count"] == GROUPS_PER_PAGE + 1


# --- searching ---------------------------------------------------------------------------------------------


def search(client: Client, data: Unmatched, first: int, field: str, query: str) -> Any:
    return client.post(
        data.url(name="district-unmatched-search"), {"unmatched": first, "field": field, f"{field}_query": query}
    )


def found(response: Any) -> list[str]:
    result = response.context["result"]
    return [str(item.user.username if hasattr(item, "user") else item.code) for item in result.found]


def test_the_student_search_offers_the_students_the_tool_writes_for_in_the_admins_district(data, world):
    client = signed_in(world, "admin_north")
    district_tool, school_tool = data.first(data.north, person=KID), data.first(data.north_b, person=KID_B)
    assert found(search(client, data, district_tool, "student", "s_a")) == ["s_a1_1", "s_a1_2", "s_a2_1"]
    assert found(search(client, data, district_tool, "student", "S  a1")) == ["s_a1_1", "s_a1_2"]  # every word
    assert found(search(client, data, district_tool, "student", "s_")) == [
        "s_a1_1",
        "s_a1_2",
        "s_a2_1",
        "s_b1_1",
        "s_left",
    ]
    assert found(search(client, data, school_tool, "student", "s_")) == ["s_b1_1"]  # a north-b tool: its school only
    assert found(search(client, data, district_tool, "student", "s_s1")) == []  # district South's student
    answer = search(client, data, district_tool, "student", "s")
    assert (answer.context["result"].searched, found(answer)) == (False, [])
    assert "Type at least 2 letters" in answer.content.decode()
    assert client.get(data.url(name="district-unmatched-search")).status_code == 405  # no name in a URL


def test_a_long_result_list_is_cut_short(data, world):
    for number in range(12):
        user = User.objects.create_user(username=f"many_{number:02d}", password=PASSWORD, last_name="Many")
        RoleMembership.objects.create(user=user, role=Role.STUDENT, school=world.schools["north-a"])
        LearnerProfile.objects.create(user=user, school=world.schools["north-a"], grade_level=5)
    answer = search(signed_in(world, "admin_north"), data, data.first(data.north, person=KID), "student", "many")
    assert found(answer) == [f"many_{number:02d}" for number in range(10)]
    assert answer.context["result"].more is True
    assert "More match: type more of the name" in answer.content.decode()


def test_the_competency_search_offers_assessable_competencies_by_code_or_statement(data, world):
    client = signed_in(world, "admin_north")
    first = data.first(data.north, activity=NEW_ACTIVITY)
    assert found(search(client, data, first, "competency", "5.NF")) == ["5.NF.1", "5.NF.2"]  # not the strand
    assert found(search(client, data, first, "competency", "word problems")) == ["5.NF.2"]


def test_the_search_button_without_javascript_shows_the_choices_in_that_groups_form(data, world):
    before = snapshot()
    kid = data.first(data.north, person=KID)
    response = signed_in(world, "admin_north").post(
        data.url(), {"unmatched": kid, "student_query": "s_a1", "action": "search"}
    )
    assert response.status_code == 200
    states = {group.first_id: state for group, state in response.context["rows"]}
    assert [profile.user.username for profile in states[kid].student_search.found] == ["s_a1_1", "s_a1_2"]
    assert all(not state.student_search.searched for first, state in states.items() if first != kid)
    page = response.content.decode()
    assert f'id="u{kid}-student-{world.users["s_a1_1"].pk}"' in page
    assert snapshot() == before


# --- mapping -----------------------------------------------------------------------------------------------


def test_mapping_a_person_records_exactly_their_statements(data, world, caplog):
    client = signed_in(world, "admin_north")
    kid = data.first(data.north, person=KID)
    open_before = unmatched_rows()
    with caplog.at_level(logging.DEBUG):
        response = client.post(data.url(), {"unmatched": kid, "student": world.users["s_a1_1"].pk, "action": "map"})
    assert (response.status_code, response["Location"]) == (302, data.url())
    assert evidence_rows() == {
        ("s_a1_1", "5.NF.1", "score", 0.8, "fraction-practice", statement_id(1)),
        ("s_a1_1", "5.NF.1", "score", 0.5, "fraction-practice", statement_id(2)),
        ("s_a1_1", "5.NF.1", "score", 1.0, "fraction-practice", statement_id(3)),
    }
    resolved = {statement_id(number) for number in (1, 2, 3)}
    assert unmatched_rows() == {
        (tool, sid, reason, person, activity, sid in resolved) for tool, sid, reason, person, activity, _ in open_before
    }
    identity = SourceIdentity.objects.get(system="fraction-practice", entity_type="person", external_id=KID)
    assert (identity.content_type, identity.object_id) == (
        ContentType.objects.get_for_model(User),
        world.users["s_a1_1"].pk,
    )
    assert SourceIdentity.objects.count() == 2  # and the one made before anything was sent
    assert KID not in caplog.text and "s_a1_1" not in caplog.text  # no personal data in the logs

    page = client.get(response["Location"])
    assert [str(message) for message in page.context["messages"]] == [
        "Mapped: 3 statements recorded, 4 still unmatched from this tool."
    ]
    assert groups(page) == [row for row in NORTH_OPEN if row[1] != KID]
    assert page.context["open_count"] == 5
    (resolved_at,) = set(UnmatchedStatement.objects.filter(person=KID).values_list("resolved_at", flat=True))
    assert isinstance(resolved_at, datetime.datetime)  # the three at once, in the replay's one update
    assert page.context["resolved"] == [
        {"tool__name": "Fraction practice", "person": KID, "activity": "", "count": 3, "last_resolved_at": resolved_at}
    ]


def test_mapping_an_activity_records_its_statements_for_the_student_already_mapped(data, world):
    client = signed_in(world, "admin_north")
    first = data.first(data.north, activity=NEW_ACTIVITY)
    response = client.post(data.url(), {"unmatched": first, "competency": data.other.pk, "action": "map"})
    assert response.status_code == 302
    assert evidence_rows() == {
        ("s_a1_2", "5.NF.2", "score", 0.75, "fraction-practice", statement_id(5)),
        ("s_a1_2", "5.NF.2", "score", 0.4, "fraction-practice", statement_id(6)),
    }
    assert set(UnmatchedStatement.objects.filter(resolved_at__isnull=False).values_list("statement_id", flat=True)) == {
        statement_id(5),
        statement_id(6),
    }
    page = client.get(data.url())
    assert [str(message) for message in page.context["messages"]] == [
        "Mapped: 2 statements recorded, 5 still unmatched from this tool."
    ]


def test_mapping_both_of_a_caliper_events_identifiers_records_its_grade(data, world):
    client = signed_in(world, "admin_north")
    first = data.first(data.north, person=STUDENT_IRI, activity=ASSESSMENT)
    response = client.post(
        data.url(),
        {"unmatched": first, "student": world.users["s_b1_1"].pk, "competency": data.quiz.pk, "action": "map"},
    )
    assert response.status_code == 302
    assert evidence_rows() == {("s_b1_1", "5.NF.1", "score", 10 / 15, "fraction-practice", GRADED)}
    assert UnmatchedStatement.objects.get(statement_id=GRADED).resolved_at is not None


def test_mapping_only_the_person_of_a_statement_naming_two_unknowns_leaves_its_activity_waiting(data, world):
    client = signed_in(world, "admin_north")
    first = data.first(data.north, person=STUDENT_IRI, activity=ASSESSMENT)
    client.post(data.url(), {"unmatched": first, "student": world.users["s_b1_1"].pk, "action": "map"})
    assert Evidence.objects.count() == 0
    row = UnmatchedStatement.objects.get(statement_id=GRADED)
    assert (row.reason, row.person, row.activity, row.resolved_at) == ("unknown activity", "", ASSESSMENT, None)
    assert (
        "Fraction practice",
        "",
        ASSESSMENT,
        1,
        "unknown activity",
        "caliper",
        "Graded",
        "",
        "GradeEvent",
    ) in groups(client.get(data.url()))


# --- refusals: nothing changes -----------------------------------------------------------------------------


def refused(client: Client, data: Unmatched, form: dict[str, Any]) -> tuple[int, list[tuple[str, str]], str]:
    before = snapshot()
    response = client.post(data.url(), {**form, "action": "map"})
    assert snapshot() == before
    states = [state for _, state in response.context["rows"] if state.errors]
    return response.status_code, [error for state in states for error in state.errors], response.context["lost"]


def test_a_student_of_another_district_is_refused_and_nothing_changes(data, world):
    client = signed_in(world, "admin_north")
    counts = (
        Evidence.objects.count(),
        SourceIdentity.objects.count(),
        UnmatchedStatement.objects.filter(resolved_at__isnull=True).count(),
    )
    form = {"unmatched": data.first(data.north, person=KID), "student": world.users["s_s1_1"].pk}
    assert refused(client, data, form) == (
        400,
        [("Student", "Choose one of the students the search found in your district.")],
        "",
    )
    assert counts == (0, 1, 9)  # the south tool's statement too
    assert (
        Evidence.objects.count(),
        SourceIdentity.objects.count(),
        UnmatchedStatement.objects.filter(resolved_at__isnull=True).count(),
    ) == counts


def test_a_student_of_another_school_than_a_school_tools_is_refused(data, world):
    form = {"unmatched": data.first(data.north_b, person=KID_B), "student": world.users["s_a1_1"].pk}
    assert refused(signed_in(world, "admin_north"), data, form) == (
        400,
        [("Student", "Choose a student of North-B: Reading app writes for them only.")],
        "",
    )


@pytest.mark.parametrize(
    ("group", "choices", "error"),
    [
        (
            "person",
            {"student": "not-a-number"},
            ("Student", "Choose one of the students the search found in your district."),
        ),
        ("person", {"student": "999999"}, ("Student", "Choose one of the students the search found in your district.")),
        ("person", {}, ("Student", "Choose the student this person is (search by name or username).")),
        ("person", {"competency": "QUIZ"}, ("Competency", "Choose one of the competencies the search found.")),
        ("person", {"competency": "COMPETENCY"}, ("Competency", "These statements name no activity left to map.")),
        ("activity", {}, ("Competency", "Choose the competency this activity is (search by code or statement).")),
        ("activity", {"competency": "STRAND"}, ("Competency", "Choose one of the competencies the search found.")),
        ("activity", {"student": "s_a1_1"}, ("Student", "These statements name no person left to map.")),
        ("both", {}, ("", "Choose a student, a competency or both.")),
    ],
)
def test_an_invalid_form_names_the_field_and_changes_nothing(data, world, group, choices, error):
    first = {
        "person": data.first(data.north, person=KID),
        "activity": data.first(data.north, activity=NEW_ACTIVITY),
        "both": data.first(data.north, person=STUDENT_IRI, activity=ASSESSMENT),
    }[group]
    ids = {"COMPETENCY": data.other.pk, "STRAND": data.strand.pk, "s_a1_1": world.users["s_a1_1"].pk, "QUIZ": "5.NF.1"}
    form = {"unmatched": first, **{name: ids.get(value, value) for name, value in choices.items()}}
    assert refused(signed_in(world, "admin_north"), data, form) == (400, [error], "")


def test_an_invalid_form_comes_back_with_its_search_and_choice(data, world):
    kid = data.first(data.north, person=KID)
    response = signed_in(world, "admin_north").post(
        data.url(), {"unmatched": kid, "student_query": "s_a1", "competency": "12345678", "action": "map"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert f'id="u{kid}-student-query" name="student_query" value="s_a1"' in page
    assert "<li>Competency: Choose one of the competencies the search found.</li>" in page
    assert page.count('role="alert"') == 1


@pytest.mark.parametrize("posted", ["resolved", "other district", "missing"])
def test_statements_not_open_in_the_admins_district_are_refused(data, world, posted):
    kid = data.first(data.north, person=KID)
    if posted == "resolved":
        unmatched_map(unmatched=UnmatchedStatement.objects.get(pk=kid), student=world.users["s_a1_1"])
    first = {"resolved": kid, "other district": data.first(data.south, person=SOUTH_KID), "missing": ""}[posted]
    form = {"unmatched": first, "student": world.users["s_a1_1"].pk}
    assert refused(signed_in(world, "admin_north"), data, form) == (
        400,
        [],
        "Those statements are not open any more (mapped meanwhile?): nothing was changed.",
    )


def test_the_service_refuses_a_resolved_statement(data, world):
    kid = UnmatchedStatement.objects.get(statement_id=statement_id(1))
    unmatched_map(unmatched=kid, student=world.users["s_a1_1"])
    before = snapshot()
    with pytest.raises(ValueError, match="resolved already"):
        unmatched_map(unmatched=kid, student=world.users["s_a1_2"])
    assert snapshot() == before


def test_a_post_without_the_csrf_token_is_refused(data, world):
    before = snapshot()
    client = signed_in(world, "admin_north", enforce_csrf_checks=True)
    form = {"unmatched": data.first(data.north, person=KID), "student": world.users["s_a1_1"].pk, "action": "map"}
    assert client.post(data.url(), form).status_code == 403
    assert snapshot() == before


def test_a_deactivated_tools_statements_are_still_listed(data, world):
    ToolCredential.objects.filter(pk=data.north_b.credential.pk).update(active=False)
    response = signed_in(world, "admin_north").get(data.url())
    assert groups(response) == NORTH_OPEN
    assert "writes for North-B · deactivated" in response.content.decode()
