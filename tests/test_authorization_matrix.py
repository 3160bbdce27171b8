"""Authorization matrix: every route of the site, for every kind of user.

Each row says what a GET answers for each user of tests/world.py, about one subject: the student
s_a1_1 (section A1, school north-a, district North). The users include the student's classmate,
guardian and teacher, a teacher of another section and of another school, the principal and a
principal of another school, the district admin and an admin of another district, and nobody.

`test_every_route_has_a_row` fails when a route is added without a row here.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mastery.models import Competency, Evidence, Framework, MasteryState
from pathways.models import Activity, LearningPath, PacingAlert, PathStep, StepChoice
from profiles.models import Goal, LearnerProfile
from tests.world import PASSWORD, World

ANONYMOUS = "anonymous"
USERS = [
    ANONYMOUS,
    "s_a1_1",  # the subject student
    "s_a1_2",  # a classmate
    "g_1",  # the subject's guardian
    "t_a1",  # the subject's teacher
    "t_a2",  # a teacher of another section in the same school
    "t_b1",  # a teacher in another school of the district
    "p_a",  # the subject's principal
    "p_b",  # a principal of another school
    "admin_north",  # the subject's district admin
    "admin_south",  # an admin of another district
]
SIGNED_IN = set(USERS) - {ANONYMOUS}

SEES_STUDENT = {"s_a1_1", "g_1", "t_a1", "p_a", "admin_north"}
EDITS_STUDENT = {"t_a1", "p_a", "admin_north"}
SEES_SECTION = {"s_a1_1", "s_a1_2", "g_1", "t_a1", "p_a", "admin_north"}
SEES_SCHOOL = {"s_a1_1", "s_a1_2", "g_1", "t_a1", "t_a2", "p_a", "admin_north"}
SCHOOL_OVERVIEW = {"p_a", "admin_north"}
PRINCIPALS_AND_ADMINS = {"p_a", "p_b", "admin_north", "admin_south"}
STAFF = {"t_a1", "t_a2", "t_b1", "p_a", "p_b", "admin_north", "admin_south"}


def page(allowed: set[str], *, read_only: frozenset[str] = frozenset()) -> Callable[[str], int]:
    """An HTML page: anonymous users go to sign-in; `read_only` users may see but not use it (403)."""

    def expected(user: str) -> int:
        if user == ANONYMOUS:
            return 302
        if user in allowed:
            return 200
        return 403 if user in read_only else 404

    return expected


def api(allowed: set[str]) -> Callable[[str], int]:
    """An API route: anonymous gets 403 (session auth first), the rest 200 or 404."""
    return lambda user: 403 if user == ANONYMOUS else 200 if user in allowed else 404


def dashboard(allowed: set[str], *, api_route: bool = False) -> Callable[[str], int]:
    """The equity dashboard (pages and API): refused (403) to everyone but principals and district admins, who get
    404 outside their schools and districts; anonymous users go to sign-in (pages) or get 403 (API)."""

    def expected(user: str) -> int:
        if user == ANONYMOUS:
            return 403 if api_route else 302
        if user not in PRINCIPALS_AND_ADMINS:
            return 403
        return 200 if user in allowed else 404

    return expected


def everyone(status: int) -> Callable[[str], int]:
    return lambda user: status


@dataclass(frozen=True)
class Row:
    expected: Callable[[str], int]
    kwargs: Callable[[World], dict] = lambda world: {}


def student_id(world: World) -> dict:
    return {"student_id": world.users["s_a1_1"].pk}


def mastery_pair(world: World) -> dict:
    """The subject student and one competency (made on first use: the world has no curriculum)."""
    framework, _ = Framework.objects.get_or_create(
        name="Matrix mathematics", defaults={"subject": "Mathematics", "grade_low": 3, "grade_high": 8}
    )
    competency, _ = Competency.objects.get_or_create(
        framework=framework, code="5.M.1", defaults={"statement": "A competency", "grade_level": 5}
    )
    return {"student_id": world.users["s_a1_1"].pk, "competency_id": competency.pk}


def matrix_framework_id(world: World) -> int:
    """The framework of the matrix competency (made on first use)."""
    return Competency.objects.get(pk=mastery_pair(world)["competency_id"]).framework_id


def subject_evidence(world: World) -> dict:
    """One piece of evidence about the subject (made on first use)."""
    pair = mastery_pair(world)
    evidence, _ = Evidence.objects.get_or_create(
        source="matrix",
        external_id="subject-1",
        defaults={
            "student_id": pair["student_id"],
            "competency_id": pair["competency_id"],
            "kind": Evidence.Kind.RATING,
            "rating": 3,
            "observed_at": datetime.datetime(2026, 9, 14, 12, tzinfo=datetime.UTC),
        },
    )
    return {"pk": evidence.pk}


def subject_state(world: World) -> dict:
    """The subject's mastery state on the matrix competency (made on first use)."""
    pair = mastery_pair(world)
    state, _ = MasteryState.objects.get_or_create(student_id=pair["student_id"], competency_id=pair["competency_id"])
    return {"pk": state.pk}


def pathways_api_subjects(world: World) -> dict[str, int]:
    """For the Pathways API rows: the subject's path with one step and one choice, an approved activity
    and an alert about the subject (made on first use)."""
    pair = mastery_pair(world)
    path, _ = LearningPath.objects.get_or_create(
        student_id=pair["student_id"],
        framework=Competency.objects.get(pk=pair["competency_id"]).framework,
        term=world.sections["A1"].term,
        defaults={"start_date": datetime.date(2026, 8, 24), "target_date": datetime.date(2027, 6, 11)},
    )
    step, _ = PathStep.objects.get_or_create(
        path=path,
        competency_id=pair["competency_id"],
        defaults={"order": 1, "reason": PathStep.Reason.GRADE_LEVEL_TARGET, "state": PathStep.State.READY},
    )
    choice, _ = StepChoice.objects.get_or_create(step=step)
    activity, _ = Activity.objects.get_or_create(
        title="Matrix activity",
        defaults={
            "review_status": Activity.Review.APPROVED,
            "reviewed_by": world.users["t_a1"],
            "reviewed_at": datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC),
        },
    )
    alert, _ = PacingAlert.objects.get_or_create(
        student_id=pair["student_id"],
        kind=PacingAlert.Kind.INACTIVE,
        path=path,
        defaults={"reason": "No evidence for 10 school days.", "opened_on": datetime.date(2026, 11, 3)},
    )
    return {"path": path.pk, "step": step.pk, "choice": choice.pk, "activity": activity.pk, "alert": alert.pk}


def small_group_session(world: World) -> dict:
    """A small-group session of section A1 with the subject in it (made on first use)."""
    from pathways.models import SmallGroupMember, SmallGroupSession

    pair = mastery_pair(world)
    session, _ = SmallGroupSession.objects.get_or_create(
        section=world.sections["A1"],
        competency_id=pair["competency_id"],
        planned_for=datetime.date(2026, 11, 16),
        defaults={"created_by": world.users["t_a1"]},
    )
    SmallGroupMember.objects.get_or_create(session=session, student_id=pair["student_id"])
    return {"session_id": session.pk}


ROUTES: dict[str, Row] = {
    # HTML pages
    "login": Row(lambda user: 200 if user == ANONYMOUS else 302),  # signed in: on to their home
    "logout": Row(everyone(405)),  # POST only
    "home": Row(lambda user: 302),  # anonymous → sign-in; everyone else → their role's home
    "teacher-home": Row(page({"t_a1", "t_a2", "t_b1"})),
    "guardian-home": Row(page({"g_1"})),
    "district-home": Row(page({"admin_north", "admin_south"})),
    # Roster import and export: only the district's own admin brings a roster in or takes it out.
    "oneroster-upload": Row(page({"admin_north"}), lambda w: {"district_id": w.districts["north"].pk}),
    "oneroster-export": Row(page({"admin_north"}), lambda w: {"district_id": w.districts["north"].pk}),
    "school-list": Row(page(PRINCIPALS_AND_ADMINS)),
    "school-detail": Row(page(SCHOOL_OVERVIEW), lambda w: {"school_id": w.schools["north-a"].pk}),
    "section-detail": Row(page(SEES_SECTION), lambda w: {"section_id": w.sections["A1"].pk}),
    "student-profile": Row(page(SEES_STUDENT), student_id),
    "student-profile-edit": Row(page(EDITS_STUDENT, read_only=frozenset({"s_a1_1", "g_1"})), student_id),
    "goal-create": Row(page(EDITS_STUDENT, read_only=frozenset({"s_a1_1", "g_1"})), student_id),
    "goal-edit": Row(
        page(EDITS_STUDENT, read_only=frozenset({"s_a1_1", "g_1"})), lambda w: {"goal_id": w.goals["s_a1_1"].pk}
    ),
    # Mastery pages: the grid is for staff who see the section (it shows classmates side by side).
    "mastery-grid": Row(page(SEES_SECTION & STAFF), lambda w: {"section_id": w.sections["A1"].pk}),
    "mastery-map": Row(page(SEES_STUDENT), student_id),
    "mastery-summary": Row(page(SEES_STUDENT), student_id),
    "mastery-explanation": Row(page(SEES_STUDENT), mastery_pair),
    "mastery-override-lift": Row(everyone(405), mastery_pair),  # POST only
    # Frameworks (CASE): district admins import them (frameworks are shared by every district); staff download
    # one as CASE JSON (an API read at /api/v1/frameworks/<id>/case/); students and guardians get 404.
    "framework-case-import": Row(page({"admin_north", "admin_south"})),
    "framework-case-api": Row(api(STAFF), lambda w: {"framework_id": matrix_framework_id(w)}),
    # Unmatched statements from learning tools: only the district's own admins see and map them (the page, and the
    # home's link with the open count); the search of students and competencies is POST only.
    "district-unmatched": Row(page({"admin_north"}), lambda w: {"district_id": w.districts["north"].pk}),
    "district-unmatched-count": Row(page({"admin_north"}), lambda w: {"district_id": w.districts["north"].pk}),
    "district-unmatched-search": Row(everyone(405), lambda w: {"district_id": w.districts["north"].pk}),
    # Pathways pages: the path is seen by whoever sees the student (alerts and editing only by staff, inside
    # the page); the section's limits and the activity library are for staff. Every change is POST only
    # (a GET answers 405 before any lookup, so the ids of the POST-only rows need not exist).
    "path-page": Row(page(SEES_STUDENT), student_id),
    "path-summary": Row(page(SEES_STUDENT), student_id),
    "path-choose": Row(everyone(405), student_id),
    "path-generate": Row(everyone(405), student_id),
    "path-dates": Row(everyone(405), lambda w: {"path_id": 1}),
    "path-step-add": Row(everyone(405), lambda w: {"path_id": 1}),
    "path-step-move": Row(everyone(405), lambda w: {"step_id": 1}),
    "path-step-pin": Row(everyone(405), lambda w: {"step_id": 1}),
    "path-step-skip": Row(everyone(405), lambda w: {"step_id": 1}),
    "path-step-unskip": Row(everyone(405), lambda w: {"step_id": 1}),
    "path-step-remove": Row(everyone(405), lambda w: {"step_id": 1}),
    "alert-acknowledge": Row(everyone(405), lambda w: {"alert_id": 1}),
    "alert-resolve": Row(everyone(405), lambda w: {"alert_id": 1}),
    "step-choice-decide": Row(everyone(405), lambda w: {"choice_id": 1}),
    "section-choices": Row(page(SEES_SECTION & STAFF), lambda w: {"section_id": w.sections["A1"].pk}),
    "section-choice-limits": Row(everyone(405), lambda w: {"section_id": w.sections["A1"].pk}),
    "activity-list": Row(page(STAFF)),
    "activity-create": Row(everyone(405)),
    "activity-review": Row(everyone(405), lambda w: {"activity_id": 1}),
    # Teacher workspace: evidence, grid export, profile
    # The grid's CSV is the grid (staff who see the section); ratings are POST only; the evidence timeline is
    # seen by whoever sees the student; the profile's alerts card only by staff who see the student.
    "section-ratings": Row(everyone(405), lambda w: {"section_id": w.sections["A1"].pk}),
    "mastery-grid-export": Row(page(SEES_SECTION & STAFF), lambda w: {"section_id": w.sections["A1"].pk}),
    # Mastery and evidence CSVs: a section's staff, a school's principal and district admins, a district's admins.
    **{
        f"section-{what}-csv": Row(page(SEES_SECTION & STAFF), lambda w: {"section_id": w.sections["A1"].pk})
        for what in ("mastery", "evidence")
    },
    **{
        f"school-{what}-csv": Row(page(SCHOOL_OVERVIEW), lambda w: {"school_id": w.schools["north-a"].pk})
        for what in ("mastery", "evidence")
    },
    **{
        f"district-{what}-csv": Row(page({"admin_north"}), lambda w: {"district_id": w.districts["north"].pk})
        for what in ("mastery", "evidence")
    },
    "evidence-timeline": Row(page(SEES_STUDENT), student_id),
    # A family's request to inspect the record goes through the school: its principal or a district admin.
    "student-record-json": Row(page(SCHOOL_OVERVIEW), student_id),
    "student-record-csv": Row(page(SCHOOL_OVERVIEW), student_id),
    "student-alerts": Row(page(SEES_STUDENT & STAFF), student_id),
    # Teacher workspace: Today and groups
    # Today ("teacher-home", above) is every teacher's home; its alert actions are POST only. A section's small
    # groups are planned and rated by the teachers of that section only (A1: t_a1); everyone else gets 404.
    "today-alert-acknowledge": Row(everyone(405), lambda w: {"alert_id": 1}),
    "today-alert-resolve": Row(everyone(405), lambda w: {"alert_id": 1}),
    "small-group-plan": Row(page({"t_a1"}), lambda w: {"section_id": w.sections["A1"].pk}),
    "small-group-session": Row(page({"t_a1"}), small_group_session),
    "small-group-ratings": Row(everyone(405), lambda w: {"session_id": 1}),
    "small-group-cancel": Row(everyone(405), lambda w: {"session_id": 1}),
    # The equity dashboard: district North as a whole for its admin; school north-a, its grade 5 and section A1
    # for their principal and district admin. "equity-dashboard" sends each of them on to their district or school.
    "equity-dashboard": Row(lambda user: 302 if user == ANONYMOUS or user in PRINCIPALS_AND_ADMINS else 403),
    "equity-district": Row(dashboard({"admin_north"}), lambda w: {"district_id": w.districts["north"].pk}),
    "equity-school": Row(dashboard(SCHOOL_OVERVIEW), lambda w: {"school_id": w.schools["north-a"].pk}),
    "equity-grade": Row(dashboard(SCHOOL_OVERVIEW), lambda w: {"school_id": w.schools["north-a"].pk, "grade": 5}),
    "equity-section": Row(dashboard(SCHOOL_OVERVIEW), lambda w: {"section_id": w.sections["A1"].pk}),
    # API v1
    "api-v1:api-root": Row(api(SIGNED_IN)),
    "api-v1:token": Row(everyone(405)),  # POST only
    "api-v1:school-list": Row(api(SIGNED_IN)),
    "api-v1:school-detail": Row(api(SEES_SCHOOL), lambda w: {"pk": w.schools["north-a"].pk}),
    "api-v1:section-list": Row(api(SIGNED_IN)),
    "api-v1:section-detail": Row(api(SEES_SECTION), lambda w: {"pk": w.sections["A1"].pk}),
    "api-v1:student-list": Row(api(SIGNED_IN)),
    "api-v1:student-detail": Row(api(SEES_STUDENT), lambda w: {"id": w.users["s_a1_1"].pk}),
    "api-v1:learner-profile-list": Row(api(SIGNED_IN)),
    "api-v1:learner-profile-detail": Row(api(SEES_STUDENT), lambda w: {"student": w.users["s_a1_1"].pk}),
    "api-v1:goal-list": Row(api(SIGNED_IN)),
    "api-v1:goal-detail": Row(api(SEES_STUDENT), lambda w: {"pk": w.goals["s_a1_1"].pk}),
    "api-v1:evidence-list": Row(api(SIGNED_IN)),
    "api-v1:evidence-detail": Row(api(SEES_STUDENT), subject_evidence),
    "api-v1:evidence-bulk": Row(lambda user: 403 if user == ANONYMOUS else 405),  # POST only
    "api-v1:mastery-state-list": Row(api(SIGNED_IN)),
    "api-v1:mastery-state-detail": Row(api(SEES_STUDENT), subject_state),
    "api-v1:mastery-state-explanation": Row(api(SEES_STUDENT), subject_state),
    "api-v1:mastery-state-override": Row(lambda user: 403 if user == ANONYMOUS else 405),  # POST only
    "api-v1:mastery-state-lift-override": Row(lambda user: 403 if user == ANONYMOUS else 405, subject_state),
    # Pathways API: paths, their steps and choices are seen by whoever sees the student; a section's choice
    # limits by those who set them (403 for others who see the section); approved activities by everyone
    # signed in; alerts only by staff who see the student. Changes are POST (PUT, DELETE) only.
    "api-v1:learning-path-list": Row(api(SIGNED_IN)),
    "api-v1:learning-path-detail": Row(api(SEES_STUDENT), lambda w: {"pk": pathways_api_subjects(w)["path"]}),
    "api-v1:learning-path-regenerate": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    "api-v1:learning-path-dates": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    "api-v1:learning-path-steps": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    "api-v1:path-step-detail": Row(api(SEES_STUDENT), lambda w: {"pk": pathways_api_subjects(w)["step"]}),
    "api-v1:path-step-reorder": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    "api-v1:path-step-pin": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    "api-v1:path-step-unpin": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    "api-v1:path-step-skip": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    "api-v1:path-step-unskip": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    "api-v1:step-choice-list": Row(api(SIGNED_IN)),
    "api-v1:step-choice-detail": Row(api(SEES_STUDENT), lambda w: {"pk": pathways_api_subjects(w)["choice"]}),
    "api-v1:step-choice-decide": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    "api-v1:choice-limits-list": Row(api(SIGNED_IN)),
    # A1's limits are set by its teacher, principal and district admin; its students and guardian get 403.
    "api-v1:choice-limits-detail": Row(
        lambda user: {"s_a1_1": 403, "s_a1_2": 403, "g_1": 403}.get(user, api({"t_a1", "p_a", "admin_north"})(user)),
        lambda w: {"section": w.sections["A1"].pk},
    ),
    "api-v1:activity-list": Row(api(SIGNED_IN)),
    "api-v1:activity-detail": Row(api(SIGNED_IN), lambda w: {"pk": pathways_api_subjects(w)["activity"]}),
    "api-v1:activity-review": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    "api-v1:alert-list": Row(api(SIGNED_IN)),  # empty for students and guardians
    "api-v1:alert-detail": Row(api(SEES_STUDENT & STAFF), lambda w: {"pk": pathways_api_subjects(w)["alert"]}),
    "api-v1:alert-acknowledge": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    "api-v1:alert-resolve": Row(lambda user: 403 if user == ANONYMOUS else 405, lambda w: {"pk": 1}),
    # The equity dashboard's figures: as the pages, but JSON.
    "api-v1:equity-district-detail": Row(
        dashboard({"admin_north"}, api_route=True), lambda w: {"pk": w.districts["north"].pk}
    ),
    "api-v1:equity-school-detail": Row(
        dashboard(SCHOOL_OVERVIEW, api_route=True), lambda w: {"pk": w.schools["north-a"].pk}
    ),
    "api-v1:equity-school-grade": Row(
        dashboard(SCHOOL_OVERVIEW, api_route=True), lambda w: {"pk": w.schools["north-a"].pk, "grade": 5}
    ),
    "api-v1:equity-section-detail": Row(
        dashboard(SCHOOL_OVERVIEW, api_route=True), lambda w: {"pk": w.sections["A1"].pk}
    ),
    # API schema and documentation: describe the API, hold no student data.
    "api-schema": Row(api(SIGNED_IN)),
    "api-docs": Row(api(SIGNED_IN)),
    "api-redoc": Row(api(SIGNED_IN)),
    # Evidence from learning tools: HTTP Basic with a tool credential only; no user's session opens them.
    "xapi-statements": Row(everyone(401)),
    "caliper-events": Row(everyone(401)),
    # Operations
    "health": Row(everyone(200)),
}

# Django's admin is for superusers; no world user is staff, so every admin page sends them to its sign-in.
ADMIN_SAMPLES = ["admin:index", "admin:profiles_learnerprofile_changelist", "admin:profiles_demographics_changelist"]


def route_names(resolver: URLResolver | None = None, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names |= route_names(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(namespace + entry.name)
        elif isinstance(entry, URLPattern) and not namespace.startswith("admin:"):  # Django's own redirects
            raise AssertionError(f"Route {entry.pattern} has no name, so it cannot have a row in the matrix.")
    return names


def client_for(world: World, user: str) -> Client:
    client = Client()
    if user != ANONYMOUS:
        assert client.login(username=user, password=PASSWORD)
    return client


def test_every_route_has_a_row():
    names = {name for name in route_names() if not name.startswith("admin:")}
    assert names == set(ROUTES), (
        f"without a row: {sorted(names - set(ROUTES))}; stale rows: {sorted(set(ROUTES) - names)}"
    )


@pytest.mark.parametrize("user", USERS)
def test_get_of_every_route(world, user):
    client = client_for(world, user)
    outcomes = {}
    for name, row in ROUTES.items():
        response = client.get(reverse(name, kwargs=row.kwargs(world)))
        outcomes[name] = response.status_code
    assert outcomes == {name: row.expected(user) for name, row in ROUTES.items()}


@pytest.mark.parametrize("user", USERS)
def test_admin_pages_send_non_staff_to_the_admin_sign_in(world, user):
    client = client_for(world, user)
    for name in ADMIN_SAMPLES:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("user", USERS)
def test_lists_include_the_subject_exactly_for_those_who_see_them(world, user):
    client = client_for(world, user)
    subject = world.users["s_a1_1"].pk
    listed = {}
    for name in ("api-v1:student-list", "api-v1:learner-profile-list", "api-v1:goal-list"):
        response = client.get(reverse(name), {"page_size": 500})
        if user == ANONYMOUS:
            listed[name] = response.status_code
            continue
        rows = response.json()["results"]
        key = "student" if name != "api-v1:student-list" else "id"
        listed[name] = subject in {row[key] for row in rows}
    expected_listed = user in SEES_STUDENT
    assert listed == {
        name: 403 if user == ANONYMOUS else expected_listed
        for name in ("api-v1:student-list", "api-v1:learner-profile-list", "api-v1:goal-list")
    }


def _write_expected(user: str, allowed_status: int, unseen_status: int = 404) -> int:
    if user == ANONYMOUS:
        return 403
    if user in EDITS_STUDENT:
        return allowed_status
    return 403 if user in SEES_STUDENT else unseen_status


@pytest.mark.parametrize("user", USERS)
def test_api_writes_about_the_subject(world, user):
    client = client_for(world, user)
    student = world.users["s_a1_1"]
    goal = world.goals["s_a1_1"]
    goals_before = Goal.objects.count()

    profile = client.patch(
        reverse("api-v1:learner-profile-detail", kwargs={"student": student.pk}),
        {"notes": f"written by {user}"},
        content_type="application/json",
    )
    goal_change = client.patch(
        reverse("api-v1:goal-detail", kwargs={"pk": goal.pk}), {"title": f"by {user}"}, content_type="application/json"
    )
    goal_new = client.post(
        reverse("api-v1:goal-list"),
        {"student": student.pk, "title": "Fluency", "target_date": "2027-05-01"},
        content_type="application/json",
    )
    assert (profile.status_code, goal_change.status_code, goal_new.status_code) == (
        _write_expected(user, 200),
        _write_expected(user, 200),
        # An unseen student is a field error on `student`, like an unknown one.
        _write_expected(user, 201, unseen_status=400),
    )
    allowed = user in EDITS_STUDENT
    assert LearnerProfile.objects.get(pk=student.pk).notes == (f"written by {user}" if allowed else "")
    assert Goal.objects.get(pk=goal.pk).title == (f"by {user}" if allowed else "Goal of s_a1_1")
    assert Goal.objects.count() == goals_before + (1 if allowed else 0)


@pytest.mark.parametrize("user", USERS)
def test_form_posts_about_the_subject(world, user):
    client = client_for(world, user)
    student = world.users["s_a1_1"]
    goals_before = Goal.objects.count()
    response = client.post(
        reverse("goal-create", kwargs={"student_id": student.pk}),
        {"title": "Fractions", "target_date": "2027-04-01", "description": "", "conference_notes": ""},
    )
    expected = {ANONYMOUS: 302}.get(user, 302 if user in EDITS_STUDENT else 403 if user in SEES_STUDENT else 404)
    assert response.status_code == expected
    if user == ANONYMOUS:
        assert response["Location"].startswith(reverse("login"))
    assert Goal.objects.count() == goals_before + (1 if user in EDITS_STUDENT else 0)


@pytest.mark.parametrize("user", USERS)
def test_the_subjects_evidence_is_listed_exactly_for_those_who_see_them(world, user):
    evidence = subject_evidence(world)["pk"]
    response = client_for(world, user).get(reverse("api-v1:evidence-list"), {"page_size": 500})
    if user == ANONYMOUS:
        assert response.status_code == 403
        return
    assert (evidence in {row["id"] for row in response.json()["results"]}) == (user in SEES_STUDENT)


@pytest.mark.parametrize("user", USERS)
def test_evidence_writes_about_the_subject(world, user):
    """Staff who see the subject record (201); other staff get the field error an unknown student gets
    (400); students and guardians may not record evidence at all (403)."""
    client = client_for(world, user)
    pair = mastery_pair(world)
    observation = {
        "student": pair["student_id"],
        "competency": pair["competency_id"],
        "observed_at": "2026-09-14",
        "rating": 3,
    }
    before = Evidence.objects.count()
    one = client.post(reverse("api-v1:evidence-list"), observation, content_type="application/json")
    bulk = client.post(
        reverse("api-v1:evidence-bulk"), {"items": [observation, observation]}, content_type="application/json"
    )
    expected = 403 if user == ANONYMOUS or user not in STAFF else 201 if user in EDITS_STUDENT else 400
    assert (one.status_code, bulk.status_code) == (expected, expected)
    assert Evidence.objects.count() == before + (3 if user in EDITS_STUDENT else 0)
