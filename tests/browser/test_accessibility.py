"""Accessibility in Chromium: every HTML page a user can open, for each role, passes axe-core (the npm
package, pinned in package.json and installed by `make test`) with no serious or critical violation; the
student pages also at a phone's width; and the sign-in form and the student's choice of a step work with the
keyboard alone.

The data is built through the services, like a real term: a curriculum with strands and prerequisites,
evidence recorded (mastery recomputed, paths updated), generated paths, a teacher override, approved and
pending activities, a section's choice limits with approval, a pending choice and an open pacing alert.

`test_every_page_is_checked` fails when a page is added to profiles, mastery, pathways or monitoring without a case here
(or an entry in NOT_PAGES saying why it is not a page of its own).
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse
from django.utils import timezone
from playwright.sync_api import expect

from mastery.services import evidence_record_bulk, mastery_override_set, mastery_recompute
from pathways import choice_selectors
from pathways.models import Activity, PacingAlert, PathStep, SmallGroupSession, StepChoice
from pathways.services import evidence_record_and_update, groups, pacing_compute, path_generate
from pathways.services.activities import activity_create, activity_review
from pathways.services.choice import choice_limits_set, step_choose
from profiles.models import Role, RoleMembership, User
from tests.browser.conftest import PHONE
from tests.mastery.test_unmatched_page import Unmatched
from tests.mastery.test_views import Curriculum, build_curriculum
from tests.monitoring.test_dashboard import build_equity
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
ON = datetime.date(2026, 11, 2)


# --- the data ------------------------------------------------------------------------------------------


@dataclass
class Term:
    world: World
    cur: Curriculum
    alert: PacingAlert
    chosen_step: PathStep
    session: SmallGroupSession

    def user(self, username: str) -> User:
        return self.world.users[username]

    def pk(self, username: str) -> int:
        return self.world.users[username].pk


def _observed(day: int) -> datetime.datetime:
    return datetime.datetime(2026, 10, day, 10, tzinfo=datetime.UTC)


def build_term(world: World) -> Term:
    cur = build_curriculum(world)
    c = cur.c
    t_a1 = world.users["t_a1"]
    s1, s2 = world.users["s_a1_1"], world.users["s_a1_2"]

    # Evidence in: mastery recomputed and paths updated at once.
    for student, code, scores in (
        (s1, "4.NF.1", (1.0, 1.0, 1.0, 1.0, 1.0)),
        (s1, "5.NF.1", (0.0, 1.0, 0.5, 1.0)),
        (s1, "5.OA.1", (0.0, 0.0)),
        (s2, "4.NF.1", (1.0, 1.0, 1.0, 1.0, 1.0)),
        (s2, "5.OA.1", (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)),
    ):
        for day, score in enumerate(scores, start=1):
            evidence_record_and_update(
                student_id=student.pk,
                competency_id=c[code].pk,
                observed_at=_observed(day * 2),
                score=score,
                source="quiz-app",
                external_id=f"{student.username}-{code}-{day}",
            )
    # More than a page of the evidence timeline (20 a page) for s_a1_1, in one batch.
    evidence_record_bulk(
        items=[
            {
                "student_id": s1.pk,
                "competency_id": c["6.RP.1"].pk,
                "observed_at": _observed(day),
                "score": 0.5,
                "source": "quiz-app",
                "external_id": f"ratio-{day}",
            }
            for day in range(1, 11)
        ]
    )
    mastery_recompute(pairs=[(s1.pk, c["6.RP.1"].pk)])
    evidence_record_and_update(
        student_id=s1.pk,
        competency_id=c["5.NF.2"].pk,
        observed_at=_observed(20),
        rating=3,
        recorded_by=t_a1,
        note="Explained the steps aloud.",
    )
    mastery_override_set(
        student_id=s1.pk,
        competency_id=c["5.NF.2"].pk,
        status="mastered",
        note="Solved three at the board.",
        author=t_a1,
    )

    path = path_generate(student_id=s1.pk, on=ON, created_by=t_a1)
    classmate_path = path_generate(student_id=s2.pk, on=ON, created_by=t_a1)
    pacing_compute(student_ids=[s1.pk, s2.pk], on=ON)

    # Activities: approved ones students are offered, one waiting for review, one rejected.
    ids = [c[code].pk for code in ("5.NF.1", "5.NF.2", "5.OA.1", "4.NF.1")]
    for title, review in (
        ("Fraction strips", "approved"),
        ("Number line game", "approved"),
        ("Unchecked worksheet", None),
        ("Broken video", "rejected"),
    ):
        activity = activity_create(
            title=title, competency_ids=ids, by=t_a1, description=f"{title}, for the class.", url=""
        )
        if review:
            note = "The link is broken." if review == "rejected" else ""
            activity_review(activity_id=activity.pk, status=review, note=note, by=t_a1)

    choice_limits_set(
        section_id=world.sections["A1"].pk,
        open_ready_steps=3,
        required_first_ids=[],
        approval_required=True,
        by=t_a1,
    )
    chosen_step = choice_selectors.choosable_steps(student_id=s2.pk, path_id=classmate_path.pk)[0]
    step_choose(student_user=s2, step_id=chosen_step.pk)

    alert = PacingAlert.objects.create(
        student=s1,
        path=path,
        kind=PacingAlert.Kind.INACTIVE,
        severity=PacingAlert.Severity.HIGH,
        numbers={"last_evidence_on": "2026-10-20", "school_days_without_evidence": 9},
        reason="No evidence for 9 school days.",
        opened_on=ON,
    )
    # Someone signed in with no role yet: home shows them what to do.
    User.objects.create_user(username="no_role", password=PASSWORD, first_name="Newcomer")
    # A small-group session today on 5.OA.1 with both students and an approved material.
    session = groups.session_plan(
        section_id=world.sections["A1"].pk,
        competency_id=c["5.OA.1"].pk,
        student_ids=[s1.pk, s2.pk],
        planned_for=timezone.localdate(),
        by=t_a1,
        material_ids=[Activity.objects.get(title="Fraction strips").pk],
        note="At the back table.",
    )
    return Term(world=world, cur=cur, alert=alert, chosen_step=chosen_step, session=session)


@pytest.fixture
def term(world: World) -> Term:
    return build_term(world)


# --- axe ---------------------------------------------------------------------------------------------


@pytest.fixture
def axe() -> Callable[[Any], dict[str, list[dict[str, Any]]]]:
    """Inject axe-core into a page and return its violations and its "needs review" (incomplete) results, of
    every impact: the test decides."""
    if not AXE.exists():
        # `make test` runs `npm ci`; CI must never skip quietly.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            f"axe-core is not installed at {AXE.relative_to(settings.BASE_DIR)}: run `npm ci` (or `make test`)"
        )

    def run(page) -> dict[str, list[dict[str, Any]]]:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return {"violations": result["violations"], "incomplete": result["incomplete"]}

    return run


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"]:
            target = " ".join(json.dumps(part) if not isinstance(part, str) else part for part in node["target"])
            lines.append(f"    at {target}")
            lines.append(f"       {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n         ")
            if summary:
                lines.append(f"         {summary}")
    return "\n".join(lines)


def sign_in_as(page, live_server, username: str) -> None:
    """The session cookie of a signed-in client (signing in through the form is tested on its own)."""
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


# --- the pages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    route: str  # the URL name the page is checked under (test_every_page_is_checked)
    user: str | None  # None: signed out
    url: Callable[[Term], str]
    phone: bool = False
    prepare: Callable[[Any, Term], None] | None = None  # after the page loads: fill a form, open a panel
    status: int = 200
    xfail: str = ""  # a temporary xfail(strict=True), with the fix, for a template this change may not edit


def student(name: str = "s_a1_1") -> Callable[[Term], dict[str, int]]:
    return lambda t: {"student_id": t.pk(name)}


def at(route: str, kwargs: Callable[[Term], dict[str, int]] = lambda t: {}, query: str = "") -> Callable[[Term], str]:
    return lambda t: reverse(route, kwargs=kwargs(t)) + query


def explained(t: Term) -> dict[str, int]:
    return {"student_id": t.pk("s_a1_1"), "competency_id": t.cur.c["5.NF.2"].pk}


def section(t: Term) -> dict[str, int]:
    return {"section_id": t.world.sections["A1"].pk}


def session(t: Term) -> dict[str, int]:
    return {"session_id": t.session.pk}


def suggested_plan(t: Term) -> str:
    """The plan form as a suggestion opens it: competency and students filled in."""
    students = "&".join(f"students={t.pk(name)}" for name in ("s_a1_1", "s_a1_2"))
    return reverse("small-group-plan", kwargs=section(t)) + f"?competency={t.cur.c['5.OA.1'].pk}&{students}"


def rating_mode(t: Term) -> str:
    return reverse("mastery-grid", kwargs=section(t)) + f"?rate={t.cur.c['5.OA.1'].pk}"


def submit_a_bad_rating(page, t: Term) -> None:
    page.get_by_label(re.compile("^Rating for S s_a1_1")).fill("7")
    page.get_by_role("button", name="Save ratings").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.wait_for_load_state("networkidle")


def show_more_evidence(page, t: Term) -> None:
    page.get_by_role("link", name="Show more evidence").click()
    expect(page.get_by_role("link", name="Show more evidence")).to_have_count(0)
    page.wait_for_load_state("networkidle")


def submit_an_override_without_a_note(page, t: Term) -> None:
    page.get_by_label("Note (required)").fill("")
    page.get_by_role("button", name="Save override").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")


def submit_bad_limits(page, t: Term) -> None:
    page.locator("#id_open_ready_steps").fill("0")
    page.get_by_role("button", name="Save limits").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was changed.")


def submit_empty_goal(page, t: Term) -> None:
    page.get_by_label(re.compile("^Goal")).fill("")
    page.get_by_role("button", name=re.compile("^(Save|Add|Create)")).first.click()
    page.wait_for_load_state("networkidle")


def wrong_password(page, t: Term) -> None:
    page.get_by_label("Username").fill("t_a1")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()


def open_step_edit(page, t: Term) -> None:
    for summary in page.locator("details.step-edit > summary").all()[:2]:
        summary.click()


def with_snapshots(url: Callable[[Term], str]) -> Callable[[Term], str]:
    """An equity dashboard page, with the snapshot rows of tests/monitoring/test_dashboard.py written first."""

    def build(t: Term) -> str:
        build_equity(t.world)
        return url(t)

    return build


def equity_school(t: Term) -> dict[str, int]:
    return {"school_id": t.world.schools["north-a"].pk}


def second_school_for_p_a(t: Term) -> str:
    """p_a runs north-b too: the dashboard's home lets them choose."""
    RoleMembership.objects.create(user=t.user("p_a"), role=Role.PRINCIPAL, school=t.world.schools["north-b"])
    return reverse("equity-dashboard")


def with_unmatched(t: Term) -> str:
    """The unmatched statements page, with the tools and statements of tests/mastery/test_unmatched_page.py sent
    first."""
    Unmatched(t.world)
    return reverse("district-unmatched", args=[t.world.districts["north"].pk])


def search_a_student(page, t: Term) -> None:
    page.get_by_label("Find the student by name or username").first.fill("s_a1")
    expect(page.get_by_role("radio").first).to_be_visible()
    page.wait_for_load_state("networkidle")


def map_nobody(page, t: Term) -> None:
    page.get_by_role("button", name=re.compile("^Map and replay")).first.click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was mapped.")


CASES = [
    # Signed out
    Case("sign-in", "login", None, at("login")),
    Case("sign-in-refused", "login", None, at("login"), prepare=wrong_password),
    # Teacher
    Case("teacher-home", "teacher-home", "t_a1", at("teacher-home")),
    Case("teacher-section", "section-detail", "t_a1", at("section-detail", section)),
    Case("teacher-profile", "student-profile", "t_a1", at("student-profile", student())),
    Case(
        "teacher-profile-more-evidence",
        "student-profile",
        "t_a1",
        at("student-profile", student()),
        prepare=show_more_evidence,
    ),
    Case("teacher-profile-edit", "student-profile-edit", "t_a1", at("student-profile-edit", student())),
    Case("teacher-goal-create", "goal-create", "t_a1", at("goal-create", student())),
    Case("teacher-goal-create-refused", "goal-create", "t_a1", at("goal-create", student()), prepare=submit_empty_goal),
    Case("teacher-goal-edit", "goal-edit", "t_a1", lambda t: reverse("goal-edit", args=[t.world.goals["s_a1_1"].pk])),
    Case("teacher-mastery-grid", "mastery-grid", "t_a1", at("mastery-grid", section)),
    Case("teacher-mastery-grid-ratings", "mastery-grid", "t_a1", lambda t: rating_mode(t)),
    Case(
        "teacher-mastery-grid-ratings-refused",
        "mastery-grid",
        "t_a1",
        lambda t: rating_mode(t),
        prepare=submit_a_bad_rating,
    ),
    Case("teacher-mastery-map", "mastery-map", "t_a1", at("mastery-map", student())),
    Case("teacher-mastery-explanation", "mastery-explanation", "t_a1", at("mastery-explanation", explained)),
    Case(
        "teacher-mastery-explanation-refused",
        "mastery-explanation",
        "t_a1",
        at("mastery-explanation", explained),
        prepare=submit_an_override_without_a_note,
    ),
    Case("teacher-evidence-timeline", "evidence-timeline", "t_a1", at("evidence-timeline", student())),
    Case(
        "teacher-evidence-timeline-page-2", "evidence-timeline", "t_a1", at("evidence-timeline", student(), "?page=2")
    ),
    Case("teacher-path", "path-page", "t_a1", at("path-page", student()), prepare=open_step_edit),
    Case("teacher-section-choices", "section-choices", "t_a1", at("section-choices", section)),
    Case(
        "teacher-section-choices-refused",
        "section-choices",
        "t_a1",
        at("section-choices", section),
        prepare=submit_bad_limits,
    ),
    Case("teacher-activities", "activity-list", "t_a1", at("activity-list")),
    Case("teacher-small-group-plan", "small-group-plan", "t_a1", lambda t: suggested_plan(t)),
    Case("teacher-small-group-session", "small-group-session", "t_a1", at("small-group-session", session)),
    # Student (desktop and phone)
    *(
        Case(f"student-{name}{'-phone' if phone else ''}", route, "s_a1_1", url, phone=phone)
        for phone in (False, True)
        for name, route, url in (
            ("profile", "student-profile", at("student-profile", student())),
            ("mastery-map", "mastery-map", at("mastery-map", student())),
            ("mastery-explanation", "mastery-explanation", at("mastery-explanation", explained)),
            ("evidence-timeline", "evidence-timeline", at("evidence-timeline", student())),
            ("path", "path-page", at("path-page", student())),
        )
    ),
    Case("student-section", "section-detail", "s_a1_1", at("section-detail", section)),
    # Guardian
    Case("guardian-home", "guardian-home", "g_1", at("guardian-home")),
    Case("guardian-child-profile", "student-profile", "g_1", at("student-profile", student())),
    Case("guardian-child-path", "path-page", "g_1", at("path-page", student())),
    Case("guardian-child-mastery-map", "mastery-map", "g_1", at("mastery-map", student())),
    # Principal
    Case("principal-school-list", "school-list", "p_a", at("school-list")),
    Case(
        "principal-school-detail",
        "school-detail",
        "p_a",
        lambda t: reverse("school-detail", args=[t.world.schools["north-a"].pk]),
    ),
    # District admin
    Case("admin-district-home", "district-home", "admin_north", at("district-home")),
    Case("admin-school-list", "school-list", "admin_north", at("school-list")),
    Case(
        "admin-school-detail",
        "school-detail",
        "admin_north",
        lambda t: reverse("school-detail", args=[t.world.schools["north-b"].pk]),
    ),
    # Data in: a district admin imports a CASE framework and a OneRoster roster
    Case("admin-framework-case-import", "framework-case-import", "admin_north", at("framework-case-import")),
    Case(
        "admin-oneroster-upload",
        "oneroster-upload",
        "admin_north",
        lambda t: reverse("oneroster-upload", args=[t.world.districts["north"].pk]),
    ),
    # Data in: a district admin maps the statements of learning tools that named someone we could not match,
    # after a search (htmx), and after a refused mapping
    Case("admin-unmatched", "district-unmatched", "admin_north", with_unmatched, prepare=search_a_student),
    Case("admin-unmatched-refused", "district-unmatched", "admin_north", with_unmatched, prepare=map_nobody),
    # The equity dashboard (principal and district admin), its empty state, and its refusal
    Case("principal-equity-school", "equity-school", "p_a", with_snapshots(at("equity-school", equity_school))),
    Case(
        "principal-equity-school-phone",
        "equity-school",
        "p_a",
        with_snapshots(at("equity-school", equity_school)),
        phone=True,
    ),
    Case(
        "principal-equity-grade",
        "equity-grade",
        "p_a",
        with_snapshots(lambda t: reverse("equity-grade", args=[t.world.schools["north-a"].pk, 5])),
    ),
    Case("principal-equity-section", "equity-section", "p_a", with_snapshots(at("equity-section", section))),
    Case("principal-equity-no-snapshot", "equity-school", "p_a", at("equity-school", equity_school)),
    Case("principal-equity-home", "equity-dashboard", "p_a", second_school_for_p_a),
    Case(
        "admin-equity-district",
        "equity-district",
        "admin_north",
        with_snapshots(at("equity-dashboard")),  # sends the admin on to their district
    ),
    Case("teacher-equity-refused", "equity-school", "t_a1", at("equity-school", equity_school), status=403),
    # No role yet: home explains (everyone else is redirected to their role's home)
    Case("no-role-home", "home", "no_role", at("home")),
    # Error pages a signed-in user can land on
    Case("not-found", "", "t_a1", at("student-profile", student("s_b1_1")), status=404),
    Case("forbidden", "", "s_a1_1", at("student-profile-edit", student()), status=403),
]

# Routes of profiles, mastery and pathways that are not pages of their own: POST-only actions (their
# refusals re-render the pages above), the htmx fragments loaded into those pages (checked inside them,
# after they load) and a download.
NOT_PAGES = {
    "logout": "POST only",
    "mastery-summary": "fragment in the learner profile",
    "path-summary": "fragment in the learner profile",
    "student-alerts": "fragment in the learner profile",
    "mastery-grid-export": "CSV download",
    "framework-case-api": "CASE JSON download (the link is on framework-case-import)",
    "oneroster-export": "OneRoster zip download (the link and form are on oneroster-upload)",
    "district-unmatched-search": "POST only: the choices fragment of district-unmatched (checked inside it)",
    "district-unmatched-count": "fragment in the district home (its link to district-unmatched, with the open count)",
    **{
        f"{scope}-{what}-csv": "CSV download"
        for scope in ("section", "school", "district")
        for what in ("mastery", "evidence")
    },
    "mastery-override-lift": "POST only",
    "path-choose": "POST only",
    "path-generate": "POST only",
    "path-dates": "POST only",
    "path-step-add": "POST only",
    "path-step-move": "POST only",
    "path-step-pin": "POST only",
    "path-step-skip": "POST only",
    "path-step-unskip": "POST only",
    "path-step-remove": "POST only",
    "alert-acknowledge": "POST only",
    "alert-resolve": "POST only",
    "step-choice-decide": "POST only",
    "section-choice-limits": "POST only (the form is on section-choices)",
    "section-ratings": "POST only (the form is on the mastery grid)",
    "activity-create": "POST only (the form is on activity-list)",
    "activity-review": "POST only",
    "today-alert-acknowledge": "POST only (the form is on Today)",
    "today-alert-resolve": "POST only (the form is on Today)",
    "small-group-ratings": "POST only (the form is on small-group-session)",
    "small-group-cancel": "POST only",
}

# axe's "needs review" results fail the test too when serious or critical (a dangling aria-describedby id is
# one), except colour contrast: axe cannot compute it for the SVG chart's text or for the aria-hidden status
# glyphs (✓ ➜ ◐ ○), which were checked by hand (ink-soft #4a5365 on white: 7.6:1).
REVIEWED_BY_HAND = {"color-contrast"}


def app_routes() -> set[str]:
    names: set[str] = set()
    for module in ("profiles.urls", "mastery.urls", "pathways.urls", "monitoring.urls"):
        for entry in import_module(module).urlpatterns:
            if isinstance(entry, URLPattern) and entry.name:
                names.add(entry.name)
    return names


def test_every_page_is_checked():
    assert get_resolver()  # the project's URLconf loads
    checked = {case.route for case in CASES} | set(NOT_PAGES)
    routes = app_routes()
    assert routes <= checked, f"pages without an accessibility case: {sorted(routes - checked)}"
    assert checked - {""} <= routes, f"stale entries: {sorted(checked - {''} - routes)}"


def _params() -> list[Any]:
    return [
        pytest.param(case, id=case.id, marks=[pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else [])
        for case in CASES
    ]


@pytest.mark.parametrize("case", _params())
def test_page_has_no_serious_or_critical_violations(page, term, live_server, axe, case: Case):
    if case.user:
        sign_in_as(page, live_server, case.user)
    if case.phone:
        page.set_viewport_size(PHONE)
    response = page.goto(case.url(term))
    assert response is not None and response.status == case.status, (response and response.status, page.url)
    page.wait_for_load_state("networkidle")  # htmx has loaded the cards
    if case.prepare:
        case.prepare(page, term)
    results = axe(page)
    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING]
    unsure = [v for v in results["incomplete"] if v["impact"] in BLOCKING and v["id"] not in REVIEWED_BY_HAND]
    others = [v for v in results["violations"] if v["impact"] not in BLOCKING]
    if others:  # reported, not failed: moderate and minor findings show with -rP
        print(f"{case.id}: moderate or minor findings\n{describe(others)}")
    assert not blocking, f"{case.id} ({page.url}): serious or critical axe violations\n{describe(blocking)}"
    assert not unsure, f"{case.id} ({page.url}): serious or critical axe results to review\n{describe(unsure)}"


# --- the keyboard ------------------------------------------------------------------------------------


def tab_to(page, matches: str, *, most: int = 60) -> None:
    """Press Tab until the focused element satisfies the JS predicate `matches(element)`."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const e = document.activeElement; return !!e && ({matches})(e); }})()"):
            return
    pytest.fail(f"Tab never reached an element where {matches}")


def test_sign_in_works_with_the_keyboard_alone(page, world, live_server):
    page.goto("/accounts/login/")
    tab_to(page, "e => e.name === 'username'", most=6)
    page.keyboard.type("t_a1")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    button = page.get_by_role("button", name="Sign in")
    expect(button).to_be_focused()
    assert button.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # focus is visible
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/teacher/")


def test_a_wrong_password_is_announced_and_enter_submits_from_the_password_field(page, world, live_server):
    page.goto("/accounts/login/")
    tab_to(page, "e => e.name === 'username'", most=6)
    page.keyboard.type("t_a1")
    page.keyboard.press("Tab")
    page.keyboard.type("wrong-password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Password").focus()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/teacher/")


def test_student_chooses_a_step_and_an_activity_with_the_keyboard(page, term, live_server):
    sign_in_as(page, live_server, "s_a1_1")
    page.goto(reverse("path-page", args=[term.pk("s_a1_1")]))
    choices = page.get_by_role("region", name="What to work on next")
    first = choices.get_by_role("button", name=re.compile("^Choose")).first
    code = first.inner_text().removeprefix("Choose ").strip()
    # The first stop in the first option is its activity radio group (on its checked radio).
    tab_to(page, "e => e.type === 'radio' && e.closest('.choose-option') !== null")
    expect(page.locator(".choose-option").first.get_by_label("No activity for now")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the next radio: the first approved activity
    picked = page.evaluate("document.activeElement.labels[0].textContent")
    tab_to(page, "e => e.tagName === 'BUTTON' && e.textContent.startsWith('Choose')", most=4)
    expect(first).to_be_focused()
    assert first.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # focus is visible
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(f"You chose {code}")
    choice = StepChoice.objects.get(step__path__student=term.user("s_a1_1"))
    assert (choice.step.competency.code, choice.activity and choice.activity.title) == (code, picked)
