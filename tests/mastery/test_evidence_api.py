"""API v1 evidence endpoints, user by user against the known world (tests/world.py)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from mastery import api as mastery_api
from mastery.models import Evidence
from mastery.services import evidence as service
from profiles import access
from profiles.models import Enrollment, Role, RoleMembership, User
from tests.mastery.test_evidence_service import Curriculum, make_curriculum
from tests.world import STUDENTS, VISIBLE_STUDENTS, World, make_section

UTC = datetime.UTC
UNKNOWN_ID = 10**9
RECORDERS = {"t_a1", "p_a", "admin_north"}  # staff who see s_a1_1
MAY_NOT_RECORD = {"detail": "You may not record evidence."}


@pytest.fixture
def curriculum(db) -> Curriculum:
    return make_curriculum()


def url(name: str, *args: Any) -> str:
    return reverse(f"api-v1:{name}", args=args)


def client_for(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def post(user: User | None, name: str, body: Any) -> Any:
    return client_for(user).post(url(name), body, format="json")


def item(world: World, curriculum: Curriculum, student: str = "s_a1_1", **fields: Any) -> dict[str, Any]:
    return {
        "student": world.users[student].pk,
        "competency": curriculum.nf1.pk,
        "observed_at": "2026-09-14T10:30:00",
        "score": 0.75,
        **fields,
    }


def evidence_of_each_student(world: World, curriculum: Curriculum) -> dict[str, Evidence]:
    return {
        name: Evidence.objects.create(
            student=world.users[name],
            competency=curriculum.nf1,
            kind="score",
            score=0.5,
            observed_at=datetime.datetime(2026, 9, 1 + n, 12, tzinfo=UTC),
            source="seed",
            external_id=name,
        )
        for n, name in enumerate(STUDENTS)
    }


# --- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_the_list_is_exactly_the_evidence_of_visible_students(world, curriculum, username):
    rows = evidence_of_each_student(world, curriculum)
    response = client_for(world.users[username]).get(url("evidence-list"))
    assert response.status_code == 200
    body = response.json()
    visible = sorted(VISIBLE_STUDENTS[username], key=lambda name: rows[name].observed_at, reverse=True)
    assert body["count"] == len(visible)
    assert [row["id"] for row in body["results"]] == [rows[name].pk for name in visible]  # newest first


def test_list_filters(world, curriculum):
    rows = evidence_of_each_student(world, curriculum)
    other = Evidence.objects.create(
        student=world.users["s_a1_1"],
        competency=curriculum.nf2,
        kind="rating",
        rating=3,
        observed_at=rows["s_a1_1"].observed_at,
    )
    client = client_for(world.users["p_a"])
    by_student = client.get(url("evidence-list"), {"student": world.users["s_a1_1"].pk}).json()
    by_competency = client.get(url("evidence-list"), {"competency": curriculum.nf2.pk}).json()
    both = client.get(url("evidence-list"), {"student": world.users["s_a1_2"].pk, "competency": curriculum.nf2.pk})
    unseen = client.get(url("evidence-list"), {"student": world.users["s_b1_1"].pk}).json()
    assert [row["id"] for row in by_student["results"]] == [other.pk, rows["s_a1_1"].pk]
    assert [row["id"] for row in by_competency["results"]] == [other.pk]
    assert both.json()["count"] == 0
    assert unseen["count"] == 0
    malformed = client.get(url("evidence-list"), {"student": "s_a1_1"})
    assert (malformed.status_code, malformed.json()) == (400, {"student": ["A whole number is required."]})


def test_detail_fields(world, curriculum):
    evidence, _ = service.evidence_record(
        student_id=world.users["s_a1_1"].pk,
        competency_id=curriculum.nf1.pk,
        observed_at="2026-09-14T10:30:00",
        raw_score=3,
        max_score=4,
        source="lms",
        external_id="a-1",
        note="second try",
        recorded_by=world.users["t_a1"],
    )
    response = client_for(world.users["g_1"]).get(url("evidence-detail", evidence.pk))
    assert response.status_code == 200
    assert response.json() == {
        "id": evidence.pk,
        "student": world.users["s_a1_1"].pk,
        "competency": curriculum.nf1.pk,
        "kind": "score",
        "observed_at": "2026-09-14T10:30:00-04:00",
        "score": 0.75,
        "rating": None,
        "source": "lms",
        "external_id": "a-1",
        "recorded_by": world.users["t_a1"].pk,
        "note": "second try",
        "raw": {"raw_score": 3.0, "max_score": 4.0},
        "created_at": timezone.localtime(evidence.created_at).isoformat(),
        "voided_at": None,
    }


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_detail_is_404_for_unseen_exactly_like_unknown(world, curriculum, username):
    rows = evidence_of_each_student(world, curriculum)
    client = client_for(world.users[username])
    unknown = client.get(url("evidence-detail", UNKNOWN_ID))
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "No such evidence."})
    for name, evidence in rows.items():
        response = client.get(url("evidence-detail", evidence.pk))
        if name in VISIBLE_STUDENTS[username]:
            assert (response.status_code, response.json()["id"]) == (200, evidence.pk)
        else:
            assert (response.status_code, response.json()) == (404, unknown.json())


def test_anonymous_gets_nothing(world, curriculum):
    evidence_of_each_student(world, curriculum)
    for response in (
        APIClient().get(url("evidence-list")),
        post(None, "evidence-list", item(world, curriculum)),
        post(None, "evidence-bulk", {"items": [item(world, curriculum)]}),
    ):
        assert (response.status_code, response.json()) == (
            403,
            {"detail": "Authentication credentials were not provided."},
        )
    assert Evidence.objects.count() == len(STUDENTS)


# --- who records for whom (profiles/access.py) ---------------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_staff_record_for_exactly_the_students_they_see(world, username):
    user = world.users[username]
    staff = bool(access.user_roles(user) & access.STAFF_ROLES)
    expected = {world.users[name].pk for name in VISIBLE_STUDENTS[username]} if staff else set()
    recordable = list(access.evidence_recordable_students(user).values_list("pk", flat=True))
    assert (sorted(recordable), access.can_record_evidence(user)) == (sorted(expected), staff)
    assert {name for name in STUDENTS if access.can_record_evidence(user, world.users[name].pk)} == (
        VISIBLE_STUDENTS[username] if staff else set()
    )


def test_several_roles_and_sections_add_up_without_duplicates(world):
    teacher = world.users["t_a2"]
    RoleMembership.objects.create(user=teacher, role=Role.PRINCIPAL, school=world.schools["north-b"])
    second = make_section(world, "A3", world.schools["north-a"], world.sections["A2"].term, 6, teacher)
    Enrollment.objects.create(section=second, user=world.users["s_a2_1"], role=Enrollment.Role.STUDENT)
    teacher = User.objects.get(pk=teacher.pk)  # roles are cached per user object
    recordable = list(access.evidence_recordable_students(teacher).values_list("pk", flat=True))
    assert sorted(recordable) == sorted([world.users["s_a2_1"].pk, world.users["s_b1_1"].pk])
    superuser = User.objects.create_superuser("root", password="x")
    assert access.evidence_recordable_students(superuser).count() == len(STUDENTS)
    assert access.can_record_evidence(superuser) is True


# --- recording one ----------------------------------------------------------------------------


def test_a_teacher_records_evidence_and_a_retry_returns_the_first_row(world, curriculum):
    teacher = world.users["t_a1"]
    body = item(world, curriculum, source="lms", external_id="attempt-9", note="exit ticket")
    first = post(teacher, "evidence-list", body)
    assert first.status_code == 201
    stored = Evidence.objects.get()
    assert first.json() == {
        "id": stored.pk,
        "student": world.users["s_a1_1"].pk,
        "competency": curriculum.nf1.pk,
        "kind": "score",
        "observed_at": "2026-09-14T10:30:00-04:00",
        "score": 0.75,
        "rating": None,
        "source": "lms",
        "external_id": "attempt-9",
        "recorded_by": teacher.pk,
        "note": "exit ticket",
        "raw": {},
        "created_at": first.json()["created_at"],
        "voided_at": None,
    }
    retry = post(teacher, "evidence-list", {**body, "score": 0.1, "note": "changed"})
    assert (retry.status_code, retry.json()) == (200, first.json())
    assert Evidence.objects.count() == 1


@pytest.mark.parametrize(
    ("username", "student"),
    [("t_a1", "s_a1_2"), ("p_a", "s_a2_1"), ("p_a", "s_left"), ("admin_north", "s_b1_1"), ("admin_south", "s_s1_1")],
)
def test_staff_record_for_the_students_they_see(world, curriculum, username, student):
    response = post(
        world.users[username], "evidence-list", item(world, curriculum, student=student, rating=3, score=None)
    )
    assert response.status_code == 201
    row = Evidence.objects.get()
    assert (row.student_id, row.kind, row.rating, row.recorded_by_id) == (
        world.users[student].pk,
        "rating",
        3,
        world.users[username].pk,
    )


@pytest.mark.parametrize(
    ("username", "student"),
    [("t_a1", "s_a2_1"), ("t_a2", "s_a1_1"), ("t_b1", "s_a1_1"), ("p_b", "s_a1_1"), ("admin_south", "s_a1_1")],
)
def test_an_unseen_student_is_refused_like_an_unknown_one(world, curriculum, username, student):
    user = world.users[username]
    unseen = post(user, "evidence-list", item(world, curriculum, student=student))
    unknown = post(user, "evidence-list", {**item(world, curriculum), "student": UNKNOWN_ID})
    assert (unseen.status_code, unseen.json()) == (400, {"student": ["No such student."]})
    assert (unknown.status_code, unknown.json()) == (400, unseen.json())
    assert Evidence.objects.count() == 0


@pytest.mark.parametrize("username", ["s_a1_1", "s_a1_2", "g_1"])
def test_students_and_guardians_may_not_record(world, curriculum, username):
    one = post(world.users[username], "evidence-list", item(world, curriculum))
    bulk = post(world.users[username], "evidence-bulk", {"items": [item(world, curriculum)]})
    garbage = post(world.users[username], "evidence-list", {"nonsense": True})
    assert [(r.status_code, r.json()) for r in (one, bulk, garbage)] == [(403, MAY_NOT_RECORD)] * 3
    assert Evidence.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"score": None}, {"non_field_errors": [service.NO_VALUE]}),
        ({"rating": 3}, {"non_field_errors": [service.SEVERAL_VALUES]}),
        ({"score": 3}, {"score": [service.SCORE_RANGE]}),
        ({"competency": UNKNOWN_ID}, {"competency": [service.NO_SUCH_COMPETENCY]}),
        ({"competency": "5.NF.1"}, {"competency": [service.NOT_AN_ID]}),
        ({"observed_at": "last tuesday"}, {"observed_at": [service.BAD_DATE]}),
        ({"recorded_by": 1, "id": 5, "colour": "red"}, {
            "recorded_by": ["This field cannot be set here."], "id": ["This field cannot be set here."],
            "colour": [service.UNKNOWN_FIELD],
        }),
        ({"student_id": 5}, {"student_id": [service.UNKNOWN_FIELD]}),
        ({"colour": "red", "score": 9}, {"colour": [service.UNKNOWN_FIELD], "score": [service.SCORE_RANGE]}),
    ],
)  # fmt: skip
def test_refused_input_stores_nothing(world, curriculum, fields, errors):
    response = post(world.users["t_a1"], "evidence-list", {**item(world, curriculum), **fields})
    assert (response.status_code, response.json()) == (400, errors)
    assert Evidence.objects.count() == 0


def test_a_body_that_is_not_an_object_is_refused(world, curriculum):
    response = post(world.users["t_a1"], "evidence-list", [item(world, curriculum)])
    assert (response.status_code, response.json()) == (400, {"non_field_errors": ["A JSON object is required."]})
    assert Evidence.objects.count() == 0


def test_a_form_post_records_too(world, curriculum):
    client = client_for(world.users["t_a1"])
    response = client.post(url("evidence-list"), {**item(world, curriculum), "csrfmiddlewaretoken": "x"})
    assert response.status_code == 201
    assert (Evidence.objects.get().score, response.json()["score"]) == (0.75, 0.75)


# --- batches ----------------------------------------------------------------------------------


def test_a_batch_is_stored_and_its_replay_stores_nothing(world, curriculum):
    teacher = world.users["t_a1"]
    items = [
        item(world, curriculum, source="lms", external_id="b-1"),
        item(world, curriculum, student="s_a1_2", score=None, rating=2),
        item(world, curriculum, score=None, raw_score=4, max_score=5, source="lms", external_id="b-2"),
    ]
    first = post(teacher, "evidence-bulk", {"items": items})
    assert first.status_code == 201
    rows = list(Evidence.objects.order_by("pk"))
    assert first.json() == {
        "results": [{"id": row.pk, "created": True} for row in rows],
        "created": 3,
        "already_present": 0,
    }
    assert [(row.student_id, row.kind, row.score, row.rating, row.recorded_by_id) for row in rows] == [
        (world.users["s_a1_1"].pk, "score", 0.75, None, teacher.pk),
        (world.users["s_a1_2"].pk, "rating", None, 2, teacher.pk),
        (world.users["s_a1_1"].pk, "score", 0.8, None, teacher.pk),
    ]
    replay = post(teacher, "evidence-bulk", {"items": [items[0], items[2]]})
    assert (replay.status_code, replay.json()) == (
        200,
        {"results": [{"id": rows[0].pk, "created": False}, {"id": rows[2].pk, "created": False}], "created": 0,
         "already_present": 2},
    )  # fmt: skip
    assert Evidence.objects.count() == 3


def test_a_batch_with_a_bad_item_stores_nothing_and_says_which(world, curriculum):
    items: list[Any] = [
        item(world, curriculum),
        item(world, curriculum, student="s_a2_1"),  # not in t_a1's sections
        item(world, curriculum, score=2, colour="red"),
        item(world, curriculum),
        7,
    ]
    response = post(world.users["t_a1"], "evidence-bulk", {"items": items})
    assert (response.status_code, response.json()) == (
        400,
        {
            "items": {
                "1": {"student": ["No such student."]},
                "2": {"score": [service.SCORE_RANGE], "colour": [service.UNKNOWN_FIELD]},
                "4": {"non_field_errors": [service.NOT_AN_OBJECT]},
            }
        },
    )
    assert Evidence.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"items": ["A list of evidence items is required."]}),
        ({"items": {"0": {}}}, {"items": ["A list of evidence items is required."]}),
        ([], {"items": ["A list of evidence items is required."]}),
        ({"items": []}, {"items": ["At least one item is required."]}),
    ],
)
def test_a_batch_needs_a_list_of_items(world, curriculum, body, errors):
    response = post(world.users["t_a1"], "evidence-bulk", body)
    assert (response.status_code, response.json()) == (400, errors)
    assert Evidence.objects.count() == 0


def test_a_batch_of_5000_is_accepted_and_5001_is_refused_naming_the_limit(world, curriculum):
    teacher = world.users["t_a1"]
    too_many = [item(world, curriculum, external_id=f"n{n}") for n in range(5001)]
    refused = post(teacher, "evidence-bulk", {"items": too_many})
    assert (refused.status_code, refused.json()) == (
        413,
        {"items": ["A batch holds at most 5,000 items; this one has 5,001."]},
    )
    assert Evidence.objects.count() == 0
    # A full batch with long notes is a body well over Django's 2.5 MB form-data limit; JSON is not limited.
    accepted = post(teacher, "evidence-bulk", {"items": [{**row, "note": "n" * 600} for row in too_many[:5000]]})
    assert (accepted.status_code, accepted.json()["created"]) == (201, 5000)
    assert Evidence.objects.count() == 5000


def test_a_batch_body_has_its_own_size_limit(world, curriculum, monkeypatch):
    monkeypatch.setattr(mastery_api, "BULK_BODY_MAX_BYTES", 2 * 1024 * 1024)
    items = [item(world, curriculum, note="n" * 600) for _ in range(3500)]  # about 2.5 MB
    refused = post(world.users["t_a1"], "evidence-bulk", {"items": items})
    assert (refused.status_code, refused.json()) == (413, {"detail": "A batch body holds at most 2 MB."})
    assert Evidence.objects.count() == 0
    malformed = client_for(world.users["t_a1"]).post(url("evidence-bulk"), "{", content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.json()["detail"].startswith("JSON parse error - ")


def test_an_integration_sends_batches_with_a_token(world, curriculum):
    token = Token.objects.create(user=world.users["p_a"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.post(url("evidence-bulk"), {"items": [item(world, curriculum, student="s_a2_1")]}, format="json")
    assert response.status_code == 201
    assert Evidence.objects.get().recorded_by_id == world.users["p_a"].pk


# --- schema -----------------------------------------------------------------------------------


def test_schema_describes_the_evidence_routes(world):
    schema = client_for(world.users["t_a1"]).get(reverse("api-schema"), {"format": "json"}).json()
    assert {path: set(schema["paths"][path]) for path in schema["paths"] if path.startswith("/api/v1/evidence")} == {
        "/api/v1/evidence/": {"get", "post"},
        "/api/v1/evidence/{id}/": {"get"},
        "/api/v1/evidence/bulk/": {"post"},
    }
    assert set(schema["components"]["schemas"]["Evidence"]["properties"]) == {
        "id", "student", "competency", "kind", "observed_at", "score", "rating", "source", "external_id",
        "recorded_by", "note", "raw", "created_at", "voided_at",
    }  # fmt: skip
