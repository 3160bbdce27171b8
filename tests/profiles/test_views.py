"""The HTML pages of the foundation, through the Django test client, against the known world."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from profiles.context_processors import viewer
from profiles.forms import SIGN_IN_FAILED
from profiles.models import Goal, LearnerProfile, Role, RoleMembership, User
from tests.world import PASSWORD, STUDENTS, VISIBLE_STUDENTS, make_student

LINK = {kind: re.compile(rf'href="/{kind}/(\d+)/"') for kind in ("students", "sections", "schools")}
# Words that would mean demographics leaked onto a learner profile page (whole words, any case).
DEMOGRAPHIC_WORDS = re.compile(
    r"\b(demographics?|sex|female|male|race|races|ethnicity|hispanic|latino|asian|black|white|american indian|"
    r"alaska native|pacific islander|two or more|english learner|iep|504|section_504|economically|disadvantaged)\b",
    re.IGNORECASE,
)


def sign_in(client, username: str, password: str = PASSWORD, follow: bool = True):
    return client.post(reverse("login"), {"username": username, "password": password}, follow=follow)


def html(response) -> str:
    return response.content.decode()


def linked(response, kind: str) -> set[int]:
    return {int(pk) for pk in LINK[kind].findall(html(response))}


def usernames(pks: set[int]) -> set[str]:
    return set(User.objects.filter(pk__in=pks).values_list("username", flat=True))


def profile_url(world, username: str) -> str:
    return reverse("student-profile", args=[world.users[username].pk])


# --- sign-in lands on each role's home ---------------------------------------------------------------


@pytest.mark.parametrize("username", ["t_a1", "t_a2", "t_b1", "t_s1"])
def test_teacher_lands_on_their_classes_with_exactly_their_students(client, world, username):
    response = sign_in(client, username)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("teacher-home")
    assert usernames(linked(response, "students")) == VISIBLE_STUDENTS[username]
    taught = {s.pk for s in world.sections.values() if s.enrollments.filter(user__username=username).exists()}
    assert linked(response, "sections") == taught


def test_teacher_home_shows_roster_details_and_not_the_inactive_student(client, world):
    response = sign_in(client, "t_a1")
    page = html(response)
    assert "Math A1" in page
    assert "S s_a1_1" in page and "S s_a1_2" in page
    assert "s_left" not in page
    assert "extended time" in page  # s_a1_1's accommodation summary
    rows = {row.student.username: row for roster in response.context["rosters"] for row in roster.rows}
    assert set(rows) == {"s_a1_1", "s_a1_2"}
    assert rows["s_a1_1"].active_goal_count == 1
    assert rows["s_a1_1"].profile.accommodations == ["extended time"]
    assert rows["s_a1_2"].profile.accommodations == []


@pytest.mark.parametrize("username", ["s_a1_1", "s_a1_2", "s_a2_1", "s_b1_1", "s_s1_1"])
def test_student_lands_on_their_own_profile_with_their_goals(client, world, username):
    response = sign_in(client, username)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == profile_url(world, username)
    page = html(response)
    assert f"<h1>S {username}</h1>" in page
    assert f"Goal of {username}" in page
    assert "Your learner profile" in page
    assert "Edit profile" not in page and "Add a goal" not in page


@pytest.mark.parametrize(("username", "school"), [("p_a", "north-a"), ("p_b", "north-b"), ("p_s", "south-a")])
def test_principal_lands_on_their_school(client, world, username, school):
    response = sign_in(client, username)
    assert response.redirect_chain[-1][0] == reverse("school-detail", args=[world.schools[school].pk])
    expected = {s.pk for s in world.sections.values() if s.school.code == school}
    assert linked(response, "sections") == expected


def test_school_page_counts_students_by_grade_and_lists_sections_with_teachers(client, world):
    response = sign_in(client, "p_a")
    grades = {g.grade: g for g in response.context["grades"]}
    assert {grade: g.student_count for grade, g in grades.items()} == {5: 3, 6: 1}
    assert [(s.code, s.student_count) for s in grades[5].sections] == [("A1", 2)]
    assert [(s.code, s.student_count) for s in grades[6].sections] == [("A2", 1)]
    page = html(response)
    assert "T t_a1" in page and "T t_a2" in page
    assert "3 students" in page


def test_principal_of_several_schools_lands_on_a_list(client, world):
    RoleMembership.objects.create(user=world.p_a, role=Role.PRINCIPAL, school=world.schools["north-b"])
    response = sign_in(client, "p_a")
    assert response.redirect_chain[-1][0] == reverse("school-list")
    assert linked(response, "schools") == {world.schools["north-a"].pk, world.schools["north-b"].pk}


@pytest.mark.parametrize(
    ("username", "schools"), [("admin_north", {"north-a", "north-b"}), ("admin_south", {"south-a"})]
)
def test_district_admin_lands_on_their_district(client, world, username, schools):
    response = sign_in(client, username)
    assert response.redirect_chain[-1][0] == reverse("district-home")
    assert linked(response, "schools") == {world.schools[code].pk for code in schools}


def test_district_home_counts_students_and_sections(client, world):
    response = sign_in(client, "admin_north")
    counts = {s.code: (s.student_count, s.section_count) for s in response.context["schools"]}
    assert counts == {"north-a": (4, 2), "north-b": (1, 1)}
    assert "North District" in html(response)
    assert "South District" not in html(response)


def test_guardian_lands_on_a_list_of_their_children(client, world):
    response = sign_in(client, "g_1")
    assert response.redirect_chain[-1][0] == reverse("guardian-home")
    assert usernames(linked(response, "students")) == {"s_a1_1"}


def test_user_without_a_role_sees_whom_to_ask(client, world):
    User.objects.create_user(username="newcomer", password=PASSWORD)
    response = sign_in(client, "newcomer")
    assert response.redirect_chain == [(reverse("home"), 302)]
    assert response.status_code == 200
    page = html(response)
    assert "Your account has no role yet" in page
    assert "Ask your school office" in page


@pytest.mark.parametrize(
    ("username", "route", "args", "role"),
    [
        ("t_a1", "mastery-grid", lambda w: [w.sections["A1"].pk], "Teacher"),
        ("t_a1", "path-page", lambda w: [w.s_a1_1.pk], "Teacher"),
        ("p_a", "equity-dashboard", lambda w: [], "Principal"),
        ("admin_north", "district-unmatched", lambda w: [w.districts["north"].pk], "District admin"),
    ],
)
def test_every_apps_pages_name_the_viewers_role_in_the_header(client, world, username, route, args, role):
    """The role comes from one context processor (profiles/context_processors.py), whichever app renders."""
    client.force_login(world.users[username])
    response = client.get(reverse(route, args=args(world)), follow=True)
    assert response.status_code == 200
    assert f'<span class="account__role">{role}</span>' in html(response)
    assert ('<nav class="site-nav" aria-label="Main">' in html(response)) is (role != "Teacher")


def test_the_viewers_role_is_asked_only_when_a_template_shows_it(world, rf, django_assert_num_queries):
    request = rf.get("/")
    request.user = User.objects.get(pk=world.p_a.pk)  # nothing cached on it yet
    with django_assert_num_queries(0):
        context = viewer(request)
    with django_assert_num_queries(1):
        assert context["viewer_role"]() == "Principal"
    with django_assert_num_queries(0):
        assert context["viewer_role"]() == "Principal"  # kept on the user


def test_header_names_the_user_and_their_role_and_signs_out_by_post(client, world):
    page = html(sign_in(client, "t_a1"))
    assert '<span class="account__name">T t_a1</span><span class="account__role">Teacher</span>' in page
    assert f'<form class="account__signout" method="post" action="{reverse("logout")}">' in page
    assert '<a class="skip-link" href="#main">' in page
    assert '<main id="main"' in page


# --- sign-in failures and sign-out --------------------------------------------------------------------


def _without_values(page: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', page)


def test_wrong_password_and_unknown_user_get_the_identical_answer(client, world):
    wrong_password = sign_in(client, "t_a1", "not-the-password", follow=False)
    unknown_user = sign_in(client, "nobody_here", PASSWORD, follow=False)
    assert wrong_password.status_code == unknown_user.status_code == 400
    for response in (wrong_password, unknown_user):
        assert html(response).count(SIGN_IN_FAILED) == 1
        assert "_auth_user_id" not in client.session
    assert _without_values(html(wrong_password)) == _without_values(html(unknown_user))


def test_inactive_user_gets_the_same_message(client, world):
    User.objects.filter(username="t_a1").update(is_active=False)
    response = sign_in(client, "t_a1", follow=False)
    assert response.status_code == 400
    assert SIGN_IN_FAILED in html(response)


def test_sign_out_is_a_post_that_returns_to_sign_in(client, world):
    sign_in(client, "t_a1")
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "You have signed out." in html(response)
    assert client.get(reverse("teacher-home")).status_code == 302


ANONYMOUS_URLS = [
    ("home", []),
    ("teacher-home", []),
    ("guardian-home", []),
    ("district-home", []),
    ("school-list", []),
    ("school-detail", [1]),
    ("section-detail", [1]),
    ("student-profile", [1]),
    ("student-profile-edit", [1]),
    ("goal-create", [1]),
    ("goal-edit", [1]),
]


@pytest.mark.parametrize(("name", "args"), ANONYMOUS_URLS)
def test_anonymous_is_sent_to_sign_in(client, db, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_sign_in_page_labels_its_inputs(client, db):
    page = html(client.get(reverse("login")))
    assert '<label for="id_username">Username' in page
    assert '<label for="id_password">Password' in page


# --- unseen and unknown records answer 404 -------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_profile_pages_of_unseen_and_unknown_students_are_404(client, world, username):
    client.force_login(world.users[username])
    for student in STUDENTS:
        expected = 200 if student in VISIBLE_STUDENTS[username] else 404
        assert client.get(profile_url(world, student)).status_code == expected, student
    assert client.get(reverse("student-profile", args=[10**9])).status_code == 404


@pytest.mark.parametrize(
    ("username", "seen"),
    [("t_a1", {"A1"}), ("s_a1_1", {"A1"}), ("g_1", {"A1"}), ("p_a", {"A1", "A2"}), ("admin_south", {"S1"})],
)
def test_section_pages_of_unseen_and_unknown_sections_are_404(client, world, username, seen):
    client.force_login(world.users[username])
    for code, section in world.sections.items():
        expected = 200 if code in seen else 404
        assert client.get(reverse("section-detail", args=[section.pk])).status_code == expected, code
    assert client.get(reverse("section-detail", args=[10**9])).status_code == 404


@pytest.mark.parametrize(
    ("username", "seen"),
    [
        ("t_a1", set()),
        ("s_a1_1", set()),
        ("g_1", set()),
        ("p_a", {"north-a"}),
        ("admin_north", {"north-a", "north-b"}),
        ("admin_south", {"south-a"}),
    ],
)
def test_school_overview_is_for_principals_and_district_admins_only(client, world, username, seen):
    client.force_login(world.users[username])
    for code, school in world.schools.items():
        expected = 200 if code in seen else 404
        assert client.get(reverse("school-detail", args=[school.pk])).status_code == expected, code
    assert client.get(reverse("school-detail", args=[10**9])).status_code == 404


@pytest.mark.parametrize("username", ["t_a1", "s_a1_1", "p_a", "g_1"])
def test_district_home_is_404_for_everyone_but_district_admins(client, world, username):
    client.force_login(world.users[username])
    assert client.get(reverse("district-home")).status_code == 404


def test_section_page_shows_teachers_and_roster(client, world):
    client.force_login(world.t_a1)
    response = client.get(reverse("section-detail", args=[world.sections["A1"].pk]))
    assert usernames(linked(response, "students")) == {"s_a1_1", "s_a1_2"}
    assert [t.username for t in response.context["roster"].teachers] == ["t_a1"]
    assert "s_left" not in html(response)


def test_a_student_sees_only_themself_on_their_section_roster(client, world):
    client.force_login(world.s_a1_1)
    response = client.get(reverse("section-detail", args=[world.sections["A1"].pk]))
    assert usernames(linked(response, "students")) == {"s_a1_1"}
    assert "s_a1_2" not in html(response)
    assert "You see 1 of the 2 students" in html(response)


# --- the learner profile page -------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["t_a1", "p_a", "admin_north", "s_a1_1", "g_1"])
def test_profile_page_shows_the_profile_and_never_demographics(client, world, username):
    client.force_login(world.users[username])
    response = client.get(profile_url(world, "s_a1_1"))
    page = html(response)
    assert response.status_code == 200
    for shown in (
        "S s_a1_1",
        "Grade 5",
        "North-A",
        "Math A1",
        "fractions",
        "soccer",
        "extended time",
        "Goal of s_a1_1",
    ):
        assert shown in page, shown
    assert "Active" in page and "1 March 2027" in page
    assert DEMOGRAPHIC_WORDS.findall(page) == []
    assert "demographics" not in response.context


def test_profile_page_shows_goal_details_in_words(client, world):
    goal = world.goals["s_a1_1"]
    Goal.objects.filter(pk=goal.pk).update(
        status=Goal.Status.NOT_MET, conference_notes="Talked about practice plans.", set_with=world.t_a1
    )
    client.force_login(world.s_a1_1)
    page = html(client.get(profile_url(world, "s_a1_1")))
    assert "Not met" in page
    assert "Talked about practice plans." in page
    assert "<dt>Set with</dt><dd>T t_a1</dd>" in page


def test_edit_links_only_for_those_who_may_edit(client, world):
    client.force_login(world.t_a1)
    page = html(client.get(profile_url(world, "s_a1_1")))
    assert reverse("student-profile-edit", args=[world.s_a1_1.pk]) in page
    assert reverse("goal-create", args=[world.s_a1_1.pk]) in page
    assert reverse("goal-edit", args=[world.goals["s_a1_1"].pk]) in page


# --- editing: who may, and what is saved -------------------------------------------------------------


PROFILE_POST = {
    "strengths": "fractions\n\n  place value  \n",
    "needs": "reading word problems",
    "interests": "soccer\nchess",
    "motivations": "",
    "accommodations": "extended time\nread aloud",
    "notes": "Works best early in the day.",
}


def _profile_state(world, username: str) -> tuple:
    profile = LearnerProfile.objects.get(pk=world.users[username].pk)
    return (profile.strengths, profile.needs, profile.interests, profile.accommodations, profile.notes)


@pytest.mark.parametrize("username", ["s_a1_1", "g_1"])
def test_students_and_guardians_cannot_edit_and_nothing_changes(client, world, username):
    client.force_login(world.users[username])
    student = world.s_a1_1
    goal = world.goals["s_a1_1"]
    before = _profile_state(world, "s_a1_1")
    assert client.get(reverse("student-profile-edit", args=[student.pk])).status_code == 403
    assert client.post(reverse("student-profile-edit", args=[student.pk]), PROFILE_POST).status_code == 403
    new_goal = {"title": "Mine", "target_date": "2027-05-01"}
    assert client.post(reverse("goal-create", args=[student.pk]), new_goal).status_code == 403
    edited = {**new_goal, "status": "met"}
    assert client.post(reverse("goal-edit", args=[goal.pk]), edited).status_code == 403
    assert _profile_state(world, "s_a1_1") == before
    assert list(Goal.objects.filter(student=student).values_list("title", "status")) == [("Goal of s_a1_1", "active")]


def test_a_teacher_who_does_not_see_the_student_gets_404_not_403(client, world):
    client.force_login(world.t_a2)
    assert client.post(reverse("student-profile-edit", args=[world.s_a1_1.pk]), PROFILE_POST).status_code == 404
    assert client.post(reverse("goal-edit", args=[world.goals["s_a1_1"].pk]), {}).status_code == 404
    assert _profile_state(world, "s_a1_1")[0] == ["fractions"]


def test_teacher_edits_the_profile_one_item_per_line(client, world):
    client.force_login(world.t_a1)
    url = reverse("student-profile-edit", args=[world.s_a1_1.pk])
    form_page = html(client.get(url))
    assert '<label for="id_strengths">Strengths</label>' in form_page
    response = client.post(url, PROFILE_POST, follow=True)
    assert response.redirect_chain == [(profile_url(world, "s_a1_1"), 302)]
    assert _profile_state(world, "s_a1_1") == (
        ["fractions", "place value"],
        ["reading word problems"],
        ["soccer", "chess"],
        ["extended time", "read aloud"],
        "Works best early in the day.",
    )
    assert "Learner profile saved." in html(response)


def test_a_line_too_long_is_a_field_error_and_nothing_is_saved(client, world):
    client.force_login(world.t_a1)
    before = _profile_state(world, "s_a1_1")
    data = {**PROFILE_POST, "needs": "x" * 201}
    response = client.post(reverse("student-profile-edit", args=[world.s_a1_1.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors["needs"][0].startswith("Each line can be at most 200 characters")
    assert 'id="id_needs_error"' in html(response)
    assert _profile_state(world, "s_a1_1") == before


def test_teacher_adds_a_goal_set_with_them(client, world):
    client.force_login(world.t_a1)
    data = {"title": "Read two chapter books", "target_date": "2027-04-15", "conference_notes": "Chose the books."}
    response = client.post(reverse("goal-create", args=[world.s_a1_1.pk]), data)
    assert response.status_code == 302
    goal = Goal.objects.get(student=world.s_a1_1, title="Read two chapter books")
    assert (goal.target_date, goal.set_with, goal.status) == (datetime.date(2027, 4, 15), world.t_a1, "active")
    assert goal.conference_notes == "Chose the books."


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": "", "target_date": "2027-04-15"}, "title", "This field is required."),
        ({"title": "Read more", "target_date": "2027-02-30"}, "target_date", "Enter a valid date."),
        ({"title": "Read more", "target_date": "next spring"}, "target_date", "Enter a valid date."),
    ],
)
def test_bad_goal_input_is_400_with_a_field_error_and_no_row(client, world, data, field, message):
    client.force_login(world.t_a1)
    before = Goal.objects.count()
    response = client.post(reverse("goal-create", args=[world.s_a1_1.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{message}</li></ul>' in html(response)
    assert "Nothing was saved." in html(response)
    assert Goal.objects.count() == before


def test_teacher_updates_a_goal_status(client, world):
    client.force_login(world.t_a1)
    goal = world.goals["s_a1_1"]
    data = {"title": goal.title, "target_date": "2027-03-01", "status": "met", "conference_notes": "Done early."}
    response = client.post(reverse("goal-edit", args=[goal.pk]), data, follow=True)
    assert response.redirect_chain == [(profile_url(world, "s_a1_1"), 302)]
    goal.refresh_from_db()
    assert (goal.status, goal.conference_notes) == ("met", "Done early.")
    assert "Goal saved." in html(response)


def test_bad_goal_edit_changes_nothing(client, world):
    client.force_login(world.t_a1)
    goal = world.goals["s_a1_1"]
    response = client.post(reverse("goal-edit", args=[goal.pk]), {"title": "New", "target_date": "x", "status": "met"})
    assert response.status_code == 400
    goal.refresh_from_db()
    assert (goal.title, goal.status) == ("Goal of s_a1_1", "active")


# --- the teacher home stays a fixed number of queries ------------------------------------------------------


def _teacher_home_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("teacher-home"))
    assert response.status_code == 200
    return len(queries)


def test_teacher_home_query_count_does_not_grow_with_the_roster(client, world, django_assert_max_num_queries):
    client.force_login(world.t_a1)
    with_two = _teacher_home_queries(client)
    section = world.sections["A1"]
    for number in range(18):
        make_student(world, f"s_extra_{number}", world.schools["north-a"], 5, section)
    with_twenty = _teacher_home_queries(client)
    assert with_twenty == with_two
    # The teacher home is the Today page (pathways): rosters plus ranked alerts, suggested groups and sessions.
    with django_assert_max_num_queries(22):
        response = client.get(reverse("teacher-home"))
    assert len(linked(response, "students")) == 20


# --- error pages ---------------------------------------------------------------------------------------


def test_unknown_address_shows_our_404_page(client, world):
    client.force_login(world.t_a1)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in html(response)


def test_403_page_says_why(client, world):
    client.force_login(world.s_a1_1)
    response = client.get(reverse("student-profile-edit", args=[world.s_a1_1.pk]))
    assert response.status_code == 403
    assert "You can read this learner profile but not change it." in html(response)


def test_500_page_renders_without_a_request():
    from django.template.loader import render_to_string

    page = render_to_string("500.html")
    assert "<h1>Something went wrong</h1>" in page
    assert "plplatform/site.css" in page
