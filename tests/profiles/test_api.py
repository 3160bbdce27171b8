"""API v1 of the profiles app, checked user by user against the known world (tests/world.py)."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from profiles.models import Demographics, Enrollment, Goal, LearnerProfile, Role, School, Section, User
from tests.world import PASSWORD, STUDENTS, VISIBLE_STUDENTS, World, make_section, make_student, make_user

UNKNOWN_ID = 10**9
LIST_URL_NAMES = ["school-list", "section-list", "student-list", "learner-profile-list", "goal-list"]
NOT_AUTHENTICATED = {"detail": "Authentication credentials were not provided."}
# Every Demographics column except its key (named `student`, which a goal or a profile also has).
DEMOGRAPHIC_KEYS = {field.name for field in Demographics._meta.concrete_fields if not field.primary_key} | {
    "demographics"
}
VISIBLE_SCHOOLS = {
    "s_a1_1": {"north-a"},
    "t_a1": {"north-a"},
    "t_b1": {"north-b"},
    "p_a": {"north-a"},
    "p_s": {"south-a"},
    "admin_north": {"north-a", "north-b"},
    "admin_south": {"south-a"},
    "g_1": {"north-a"},
}
VISIBLE_SECTIONS = {
    "s_a1_1": {"A1"},
    "s_left": set(),
    "t_a1": {"A1"},
    "t_a2": {"A2"},
    "p_a": {"A1", "A2"},
    "p_b": {"B1"},
    "admin_north": {"A1", "A2", "B1"},
    "admin_south": {"S1"},
    "g_1": {"A1"},
}


# --- helpers -----------------------------------------------------------------------------------


def url(name: str, *args: Any) -> str:
    return reverse(f"api-v1:{name}", args=args)


def client_for(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def student_ids(world: World, names: set[str] | list[str]) -> set[int]:
    return {world.users[name].pk for name in names}


def result_ids(response: Any) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def all_keys(data: Any) -> set[str]:
    """Every key anywhere in a JSON document."""
    if isinstance(data, dict):
        return set(data) | {key for value in data.values() for key in all_keys(value)}
    if isinstance(data, list):
        return {key for item in data for key in all_keys(item)}
    return set()


def add_bulk_students(school: School, count: int) -> list[User]:
    """Students of a school, created in two statements; no password (nobody signs in as them)."""
    users = User.objects.bulk_create(
        User(username=f"bulk_{n:04d}", first_name="Bulk", last_name=f"Student {n:04d}", password="!")
        for n in range(count)
    )
    LearnerProfile.objects.bulk_create(LearnerProfile(user=user, school=school, grade_level=5) for user in users)
    return users


def filter_value(world: World, key: str, value: Any) -> Any:
    """Parametrized filters name sections and schools by code; the API takes their ids."""
    if key == "section":
        return world.sections[value].pk
    if key == "school":
        return world.schools[value].pk
    return value


def profile_state(student: User) -> tuple:
    row = LearnerProfile.objects.get(pk=student.pk)
    return (row.strengths, row.needs, row.interests, row.motivations, row.accommodations, row.notes, row.updated_at)


def goal_state(goal: Goal) -> tuple:
    row = Goal.objects.get(pk=goal.pk)
    return (row.title, row.description, row.target_date, row.status, row.conference_notes, row.updated_at)


# --- who sees which student --------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_students_list_is_exactly_the_visible_students(world, username):
    response = client_for(world.users[username]).get(url("student-list"))
    assert response.status_code == 200
    assert response.json()["count"] == len(VISIBLE_STUDENTS[username])
    assert result_ids(response) == student_ids(world, VISIBLE_STUDENTS[username])


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_student_detail_is_404_for_unseen_exactly_like_unknown(world, username):
    client = client_for(world.users[username])
    unknown = client.get(url("student-detail", UNKNOWN_ID))
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "No such student."}
    for name in STUDENTS:
        response = client.get(url("student-detail", world.users[name].pk))
        if name in VISIBLE_STUDENTS[username]:
            assert response.status_code == 200
            assert response.json()["id"] == world.users[name].pk
        else:
            assert response.status_code == 404
            assert response.json() == unknown.json()


def test_student_detail_fields(world):
    student = world.users["s_a1_1"]
    response = client_for(world.users["t_a1"]).get(url("student-detail", student.pk))
    assert response.json() == {
        "id": student.pk,
        "first_name": "S",
        "last_name": "s_a1_1",
        "school": world.schools["north-a"].pk,
        "grade_level": 5,
    }


def test_an_id_beyond_any_integer_is_404_not_an_error(world):
    response = client_for(world.users["admin_north"]).get(url("student-detail", 10**30))
    assert response.status_code == 404
    assert response.json() == {"detail": "No such student."}


@pytest.mark.parametrize(
    ("username", "query", "expected"),
    [
        ("p_a", {"section": "A1"}, {"s_a1_1", "s_a1_2"}),  # s_left's enrollment is inactive
        ("p_a", {"grade": 6}, {"s_a2_1"}),
        ("p_a", {"school": "north-b"}, set()),  # a filter never widens what the user sees
        ("admin_north", {"school": "north-b"}, {"s_b1_1"}),
        ("admin_north", {"school": "north-a", "grade": 5}, {"s_a1_1", "s_a1_2", "s_left"}),
        ("t_a1", {"section": "A2"}, set()),
    ],
)
def test_students_filters(world, username, query, expected):
    params = {key: filter_value(world, key, value) for key, value in query.items()}
    response = client_for(world.users[username]).get(url("student-list"), params)
    assert response.status_code == 200
    assert result_ids(response) == student_ids(world, expected)


def test_a_malformed_filter_is_400_naming_it(world):
    response = client_for(world.users["p_a"]).get(url("student-list"), {"grade": "fifth"})
    assert response.status_code == 400
    assert response.json() == {"grade": ["A whole number is required."]}


# --- schools and sections ----------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_SCHOOLS))
def test_schools_list_is_exactly_the_visible_schools(world, username):
    response = client_for(world.users[username]).get(url("school-list"))
    assert response.status_code == 200
    assert result_ids(response) == {world.schools[code].pk for code in VISIBLE_SCHOOLS[username]}


def test_school_detail_fields_and_404_for_unseen_like_unknown(world):
    client = client_for(world.users["t_a1"])
    school = world.schools["north-a"]
    assert client.get(url("school-detail", school.pk)).json() == {
        "id": school.pk,
        "name": "North-A",
        "code": "north-a",
        "district": world.districts["north"].pk,
        "grade_low": 3,
        "grade_high": 8,
    }
    unseen = client.get(url("school-detail", world.schools["north-b"].pk))
    unknown = client.get(url("school-detail", UNKNOWN_ID))
    assert (unseen.status_code, unknown.status_code) == (404, 404)
    assert unseen.json() == unknown.json() == {"detail": "No such school."}


@pytest.mark.parametrize("username", sorted(VISIBLE_SECTIONS))
def test_sections_list_is_exactly_the_visible_sections(world, username):
    response = client_for(world.users[username]).get(url("section-list"))
    assert response.status_code == 200
    assert result_ids(response) == {world.sections[code].pk for code in VISIBLE_SECTIONS[username]}


def test_sections_filter_by_school(world):
    response = client_for(world.users["admin_north"]).get(url("section-list"), {"school": world.schools["north-b"].pk})
    assert result_ids(response) == {world.sections["B1"].pk}


def test_section_detail_fields_with_active_students_only(world):
    section = world.sections["A1"]
    response = client_for(world.users["t_a1"]).get(url("section-detail", section.pk))
    assert response.status_code == 200
    assert response.json() == {
        "id": section.pk,
        "school": world.schools["north-a"].pk,
        "term": {"id": section.term_id, "name": "2026-27", "start_date": "2026-08-24", "end_date": "2027-06-11"},
        "code": "A1",
        "name": "Math A1",
        "subject": "",
        "grade_level": 5,
        "teachers": [{"id": world.users["t_a1"].pk, "name": "T t_a1"}],
        "student_ids": sorted(student_ids(world, ["s_a1_1", "s_a1_2"])),
    }


@pytest.mark.parametrize("username", ["s_a1_1", "g_1"])
def test_a_student_or_guardian_sees_no_classmate_in_a_roster(world, username):
    response = client_for(world.users[username]).get(url("section-detail", world.sections["A1"].pk))
    assert response.json()["student_ids"] == [world.users["s_a1_1"].pk]


def test_section_detail_404_for_unseen_like_unknown(world):
    client = client_for(world.users["t_a1"])
    unseen = client.get(url("section-detail", world.sections["A2"].pk))
    unknown = client.get(url("section-detail", UNKNOWN_ID))
    assert (unseen.status_code, unknown.status_code) == (404, 404)
    assert unseen.json() == unknown.json() == {"detail": "No such section."}


# --- learner profiles --------------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_learner_profiles_list_is_exactly_the_visible_students(world, username):
    response = client_for(world.users[username]).get(url("learner-profile-list"))
    assert response.status_code == 200
    assert {row["student"] for row in response.json()["results"]} == student_ids(world, VISIBLE_STUDENTS[username])


def test_learner_profile_detail_fields(world):
    student = world.users["s_a1_1"]
    data = client_for(world.users["t_a1"]).get(url("learner-profile-detail", student.pk)).json()
    updated_at = datetime.datetime.fromisoformat(data.pop("updated_at"))
    assert updated_at == LearnerProfile.objects.get(pk=student.pk).updated_at
    assert data == {
        "student": student.pk,
        "grade_level": 5,
        "school": world.schools["north-a"].pk,
        "strengths": ["fractions"],
        "needs": [],
        "interests": ["soccer"],
        "motivations": [],
        "accommodations": ["extended time"],
        "notes": "",
    }


def test_learner_profile_detail_404_for_unseen_like_unknown(world):
    client = client_for(world.users["t_a1"])
    unseen = client.get(url("learner-profile-detail", world.users["s_b1_1"].pk))
    unknown = client.get(url("learner-profile-detail", UNKNOWN_ID))
    assert (unseen.status_code, unknown.status_code) == (404, 404)
    assert unseen.json() == unknown.json() == {"detail": "No such student."}


@pytest.mark.parametrize("username", ["s_a1_1", "g_1"])
def test_student_or_guardian_cannot_patch_a_profile_they_see(world, username):
    student = world.users["s_a1_1"]
    before = profile_state(student)
    response = client_for(world.users[username]).patch(
        url("learner-profile-detail", student.pk), {"strengths": ["hacked"]}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not edit this learner profile."}
    assert profile_state(student) == before


def test_patch_of_a_profile_the_user_cannot_see_is_404(world):
    student = world.users["s_a1_1"]
    before = profile_state(student)
    response = client_for(world.users["t_b1"]).patch(
        url("learner-profile-detail", student.pk), {"strengths": ["hacked"]}, format="json"
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "No such student."}
    assert profile_state(student) == before


def test_teacher_patches_a_profile(world):
    student = world.users["s_a1_1"]
    changes = {"strengths": ["fractions", "reading aloud"], "needs": ["place value"], "notes": "Works well in pairs."}
    response = client_for(world.users["t_a1"]).patch(url("learner-profile-detail", student.pk), changes, format="json")
    assert response.status_code == 200
    row = LearnerProfile.objects.get(pk=student.pk)
    assert (row.strengths, row.needs, row.notes) == (["fractions", "reading aloud"], ["place value"], changes["notes"])
    assert (row.interests, row.accommodations, row.grade_level) == (["soccer"], ["extended time"], 5)
    data = response.json()
    assert {key: data[key] for key in changes} == changes


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"strengths": "fractions"}, {"strengths": ['Expected a list of items but got type "str".']}),
        ({"needs": ["x" * 201]}, {"needs": {"0": ["Ensure this field has no more than 200 characters."]}}),
        ({"interests": [""]}, {"interests": {"0": ["This field may not be blank."]}}),
        ({"grade_level": 9}, {"grade_level": ["This field cannot be set here."]}),
        ({"school": 1, "notes": "ok"}, {"school": ["This field cannot be set here."]}),
    ],
)
def test_bad_profile_patch_is_400_naming_the_field_and_stores_nothing(world, changes, errors):
    student = world.users["s_a1_1"]
    before = profile_state(student)
    response = client_for(world.users["t_a1"]).patch(url("learner-profile-detail", student.pk), changes, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert profile_state(student) == before


# --- goals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_goals_list_is_exactly_the_goals_of_visible_students(world, username):
    response = client_for(world.users[username]).get(url("goal-list"))
    assert response.status_code == 200
    assert result_ids(response) == {world.goals[name].pk for name in VISIBLE_STUDENTS[username]}


def test_goals_filter_by_student(world):
    student = world.users["s_a1_2"]
    response = client_for(world.users["t_a1"]).get(url("goal-list"), {"student": student.pk})
    assert result_ids(response) == {world.goals["s_a1_2"].pk}


def test_goal_detail_fields_and_404_for_unseen_like_unknown(world):
    client = client_for(world.users["t_a1"])
    goal = world.goals["s_a1_1"]
    data = client.get(url("goal-detail", goal.pk)).json()
    assert datetime.datetime.fromisoformat(data.pop("created_at")) == goal.created_at
    assert data == {
        "id": goal.pk,
        "student": world.users["s_a1_1"].pk,
        "title": "Goal of s_a1_1",
        "description": "",
        "target_date": "2027-03-01",
        "status": "active",
        "conference_notes": "",
        "set_with": None,
    }
    unseen = client.get(url("goal-detail", world.goals["s_a2_1"].pk))
    unknown = client.get(url("goal-detail", UNKNOWN_ID))
    assert (unseen.status_code, unknown.status_code) == (404, 404)
    assert unseen.json() == unknown.json() == {"detail": "No such goal."}


def test_teacher_creates_a_goal_set_with_them(world):
    teacher, student = world.users["t_a1"], world.users["s_a1_2"]
    payload = {"student": student.pk, "title": "Read 20 minutes a day", "target_date": "2027-01-15"}
    response = client_for(teacher).post(url("goal-list"), payload, format="json")
    assert response.status_code == 201
    goal = Goal.objects.get(pk=response.json()["id"])
    assert (goal.student, goal.set_with, goal.title, goal.target_date, goal.status) == (
        student,
        teacher,
        "Read 20 minutes a day",
        datetime.date(2027, 1, 15),
        Goal.Status.ACTIVE,
    )
    assert response.json()["set_with"] == teacher.pk


@pytest.mark.parametrize("student_name", ["s_b1_1", "s_left", None])
def test_goal_for_an_unseen_or_unknown_student_is_400_on_student(world, student_name):
    student_id = world.users[student_name].pk if student_name else UNKNOWN_ID
    count = Goal.objects.count()
    payload = {"student": student_id, "title": "Sneaky", "target_date": "2027-01-15"}
    response = client_for(world.users["t_a1"]).post(url("goal-list"), payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"student": ["No such student."]}
    assert Goal.objects.count() == count


@pytest.mark.parametrize("username", ["s_a1_1", "g_1"])
def test_student_or_guardian_cannot_create_a_goal(world, username):
    count = Goal.objects.count()
    payload = {"student": world.users["s_a1_1"].pk, "title": "Mine", "target_date": "2027-01-15"}
    response = client_for(world.users[username]).post(url("goal-list"), payload, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not set goals for this student."}
    assert Goal.objects.count() == count


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"target_date": "not-a-date"},
            {"target_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),
        ({"title": ""}, {"title": ["This field may not be blank."]}),
        ({"title": None}, {"title": ["This field may not be null."]}),
        ({"status": "met"}, {"status": ["This field cannot be set here."]}),
        ({"student": None}, {"student": ["This field may not be null."]}),
        ({"student": "abc"}, {"student": ["Incorrect type. Expected pk value, received str."]}),
    ],
)
def test_bad_goal_create_is_400_naming_the_field_and_stores_nothing(world, changes, errors):
    count = Goal.objects.count()
    payload = {"student": world.users["s_a1_1"].pk, "title": "Read more", "target_date": "2027-01-15", **changes}
    response = client_for(world.users["t_a1"]).post(url("goal-list"), payload, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert Goal.objects.count() == count


def test_goal_create_without_required_fields_names_each(world):
    response = client_for(world.users["t_a1"]).post(url("goal-list"), {}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: ["This field is required."] for field in ("student", "title", "target_date")}


def test_teacher_updates_a_goal(world):
    goal = world.goals["s_a1_1"]
    changes = {"status": "met", "conference_notes": "Met early.", "target_date": "2027-02-01"}
    response = client_for(world.users["t_a1"]).patch(url("goal-detail", goal.pk), changes, format="json")
    assert response.status_code == 200
    row = Goal.objects.get(pk=goal.pk)
    assert (row.status, row.conference_notes, row.target_date) == ("met", "Met early.", datetime.date(2027, 2, 1))
    assert {key: response.json()[key] for key in changes} == changes


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"status": "bogus"}, {"status": ['"bogus" is not a valid choice.']}),
        (
            {"target_date": "not-a-date"},
            {"target_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),
        ({"title": ""}, {"title": ["This field may not be blank."]}),
        ({"title": "t" * 201}, {"title": ["Ensure this field has no more than 200 characters."]}),
        ({"student": 1}, {"student": ["This field cannot be set here."]}),
    ],
)
def test_bad_goal_patch_is_400_naming_the_field_and_stores_nothing(world, changes, errors):
    goal = world.goals["s_a1_1"]
    before = goal_state(goal)
    response = client_for(world.users["t_a1"]).patch(url("goal-detail", goal.pk), changes, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert goal_state(goal) == before


@pytest.mark.parametrize(("username", "status_code"), [("s_a1_1", 403), ("g_1", 403), ("t_b1", 404)])
def test_goal_patch_by_someone_who_may_not_change_it(world, username, status_code):
    goal = world.goals["s_a1_1"]
    before = goal_state(goal)
    response = client_for(world.users[username]).patch(url("goal-detail", goal.pk), {"status": "met"}, format="json")
    assert response.status_code == status_code
    expected = {"detail": "You may not change this goal."} if status_code == 403 else {"detail": "No such goal."}
    assert response.json() == expected
    assert goal_state(goal) == before


# --- methods that do not exist -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("post", "school-list"),
        ("post", "section-list"),
        ("post", "student-list"),
        ("post", "learner-profile-list"),
        ("put", "learner-profile-detail"),
        ("put", "goal-detail"),
        ("delete", "goal-detail"),
        ("delete", "learner-profile-detail"),
        ("delete", "student-detail"),
    ],
)
def test_no_create_replace_or_delete_beyond_the_ones_offered(world, method, name):
    count = (Goal.objects.count(), LearnerProfile.objects.count())
    target = world.goals["s_a1_1"].pk if name.startswith("goal") else world.users["s_a1_1"].pk
    path = url(name, target) if name.endswith("detail") else url(name)
    response = getattr(client_for(world.users["t_a1"]), method)(path, {}, format="json")
    assert response.status_code == 405
    assert (Goal.objects.count(), LearnerProfile.objects.count()) == count


@pytest.mark.parametrize("name", ["school", "section", "student", "learner-profile", "goal"])
def test_browsable_api_pages_render(world, name):
    # The browsable API builds forms from the views; it must not trip over the scoped lookups.
    client = client_for(world.users["t_a1"])
    detail_id = {
        "school": world.schools["north-a"].pk,
        "section": world.sections["A1"].pk,
        "goal": world.goals["s_a1_1"].pk,
    }.get(name, world.users["s_a1_1"].pk)
    for path in (url(f"{name}-list"), url(f"{name}-detail", detail_id)):
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/html; charset=utf-8"


# --- no demographics, ever ---------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_no_demographics_in_students_or_profiles(world, username):
    client = client_for(world.users[username])
    paths = [url("student-list"), url("learner-profile-list")]
    for name in VISIBLE_STUDENTS[username]:
        paths += [url("student-detail", world.users[name].pk), url("learner-profile-detail", world.users[name].pk)]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200
        assert all_keys(response.json()) & DEMOGRAPHIC_KEYS == set()
        assert b"female" not in response.content  # the world's students are recorded as female


# --- pagination --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LIST_URL_NAMES)
def test_every_list_is_paginated(world, name):
    data = client_for(world.users["admin_north"]).get(url(name)).json()
    assert set(data) == {"count", "next", "previous", "results"}


@pytest.mark.parametrize(
    ("query", "page_length"),
    [
        ({}, 50),
        ({"page_size": 120}, 120),
        ({"page_size": 500}, 500),
        ({"page_size": 1000}, 500),
        ({"page_size": 500, "page": 2}, 104),
    ],
)
def test_students_pagination(world, query, page_length):
    add_bulk_students(world.schools["north-a"], 600)
    response = client_for(world.users["p_a"]).get(url("student-list"), query)
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 604  # the 600 added and the 4 of north-a in the world
    assert len(data["results"]) == page_length


def test_pages_together_hold_every_visible_student_once(world):
    added = add_bulk_students(world.schools["north-a"], 120)
    client = client_for(world.users["p_a"])
    seen: list[int] = []
    for page in (1, 2, 3):
        seen += [row["id"] for row in client.get(url("student-list"), {"page": page}).json()["results"]]
    assert len(seen) == 124
    assert set(seen) == {user.pk for user in added} | student_ids(world, VISIBLE_STUDENTS["p_a"])


# --- no N+1 queries ----------------------------------------------------------------------------


def grow_north_a(world: World) -> None:
    """More sections, teachers, students and goals in north-a, all seen by its principal."""
    school = world.schools["north-a"]
    term = world.sections["A1"].term
    for n in range(4):
        teacher = make_user(world, f"t_extra_{n}", Role.TEACHER, school=school)
        section = make_section(world, f"X{n}", school, term, 5, teacher)
        for m in range(3):
            make_student(world, f"s_extra_{n}_{m}", school, 5, section)
        Enrollment.objects.create(section=section, user=world.users["t_a1"], role=Enrollment.Role.TEACHER)


@pytest.mark.parametrize("name", LIST_URL_NAMES)
def test_list_queries_do_not_grow_with_rows(world, name):
    client = client_for(world.users["p_a"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(name)).status_code == 200
        return len(captured)

    before = queries()
    grow_north_a(world)
    assert Section.objects.filter(school=world.schools["north-a"]).count() == 6
    assert queries() == before


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", LIST_URL_NAMES)
def test_unauthenticated_list_is_403_without_data(world, name):
    # Session authentication comes first in REST_FRAMEWORK, so DRF answers 403 rather than 401.
    response = client_for(None).get(url(name))
    assert response.status_code == 403
    assert response.json() == NOT_AUTHENTICATED


def test_token_auth(world):
    teacher = world.users["t_a1"]
    obtained = client_for(None).post(url("token"), {"username": "t_a1", "password": PASSWORD}, format="json")
    assert obtained.status_code == 200
    assert obtained.json() == {"token": Token.objects.get(user=teacher).key}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {obtained.json()['token']}")
    response = client.get(url("student-list"))
    assert response.status_code == 200
    assert result_ids(response) == student_ids(world, VISIBLE_STUDENTS["t_a1"])


def test_token_refused_for_a_wrong_password(world):
    response = client_for(None).post(url("token"), {"username": "t_a1", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
    assert Token.objects.count() == 0


def test_a_wrong_token_gets_no_data(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get(url("student-list"))
    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid token."}


# --- routes, schema and docs -------------------------------------------------------------------


def test_schema_lists_every_path(world):
    response = client_for(world.users["t_a1"]).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/auth/token/",
        "/api/v1/schools/",
        "/api/v1/schools/{id}/",
        "/api/v1/sections/",
        "/api/v1/sections/{id}/",
        "/api/v1/students/",
        "/api/v1/students/{id}/",
        "/api/v1/learner-profiles/",
        "/api/v1/learner-profiles/{student}/",
        "/api/v1/goals/",
        "/api/v1/goals/{id}/",
        "/api/v1/evidence/",
        "/api/v1/evidence/{id}/",
        "/api/v1/evidence/bulk/",
        "/api/v1/mastery-states/",
        "/api/v1/mastery-states/{id}/",
        "/api/v1/mastery-states/{id}/explanation/",
        "/api/v1/mastery-states/{id}/lift-override/",
        "/api/v1/mastery-states/override/",
        "/api/v1/frameworks/{framework_id}/case/",
        "/api/v1/paths/",
        "/api/v1/paths/{id}/",
        "/api/v1/paths/{id}/regenerate/",
        "/api/v1/paths/{id}/dates/",
        "/api/v1/paths/{id}/steps/",
        "/api/v1/path-steps/{id}/",
        "/api/v1/path-steps/{id}/reorder/",
        "/api/v1/path-steps/{id}/pin/",
        "/api/v1/path-steps/{id}/unpin/",
        "/api/v1/path-steps/{id}/skip/",
        "/api/v1/path-steps/{id}/unskip/",
        "/api/v1/step-choices/",
        "/api/v1/step-choices/{id}/",
        "/api/v1/step-choices/{id}/decide/",
        "/api/v1/choice-limits/",
        "/api/v1/choice-limits/{section}/",
        "/api/v1/activities/",
        "/api/v1/activities/{id}/",
        "/api/v1/activities/{id}/review/",
        "/api/v1/alerts/",
        "/api/v1/alerts/{id}/",
        "/api/v1/alerts/{id}/acknowledge/",
        "/api/v1/alerts/{id}/resolve/",
        "/api/v1/equity/districts/{id}/",
        "/api/v1/equity/schools/{id}/",
        "/api/v1/equity/schools/{id}/grades/{grade}/",
        "/api/v1/equity/sections/{id}/",
    }
    assert set(schema["paths"]["/api/v1/goals/{id}/"]) == {"get", "patch"}
    assert set(schema["paths"]["/api/v1/learner-profiles/{student}/"]) == {"get", "patch"}
    assert set(schema["paths"]["/api/v1/path-steps/{id}/"]) == {"get", "delete"}
    assert set(schema["paths"]["/api/v1/choice-limits/{section}/"]) == {"get", "put"}
    student_fields = set(schema["components"]["schemas"]["Student"]["properties"])
    assert student_fields == {"id", "first_name", "last_name", "school", "grade_level"}


def test_docs_load_their_assets_from_our_static_files(world):
    response = client_for(world.users["t_a1"]).get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    static_url = "/" + settings.STATIC_URL.lstrip("/")
    prefix = f"{static_url}drf_spectacular_sidecar/swagger-ui-dist/"
    assert sorted(assets) == sorted(
        prefix + name
        for name in ("favicon-32x32.png", "swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")
    )
    assert re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html) is None
    for asset in assets:
        assert finders.find(asset.removeprefix(static_url)) is not None, asset


def test_schema_generates_without_warnings(tmp_path):
    """Every view documents its fields and parameters: drf-spectacular's warnings fail this test."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/v1/mastery-states/{id}/explanation/:" in (tmp_path / "schema.yml").read_text()
