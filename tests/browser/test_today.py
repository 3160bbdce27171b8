"""Today in Chromium: a teacher signs in and lands on Today, acknowledges an alert (the list updates without a
reload), plans a small group from a suggestion, records one rating per student with the keyboard, and sees a
student's path step move from ready to in progress. Screenshots land in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from pathways.models import PacingAlert, PathStep, SmallGroupSession
from tests.browser.test_sign_in import sign_in
from tests.pathways.test_groups import Workspace

pytestmark = pytest.mark.browser


@pytest.fixture
def ws(world) -> Workspace:
    """s_a1_1, s_a1_2 and s_x_00 are ready for 5.A (the first ready step of their paths): one suggested group.
    s_a1_1 has a high-priority inactive alert; s_x_00 a medium stuck one."""
    built = Workspace(world, extra=2)
    for name in ("s_a1_1", "s_a1_2", "s_x_00"):
        built.set_states(name, A5=PathStep.State.READY)
    built.alert("s_a1_1", PacingAlert.Kind.INACTIVE, severity=PacingAlert.Severity.HIGH)
    built.stuck("s_x_00", "5.C", 14)
    built.activity("Fraction strips", "5.A")
    return built


def test_teacher_acts_on_today_plans_a_group_and_records_its_ratings(page, world, ws, live_server, screenshot):
    sign_in(page, "t_a1")
    expect(page).to_have_url(f"{live_server.url}/teacher/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    alerts = page.get_by_role("region", name="Alerts to act on")
    items = alerts.get_by_role("listitem")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("inactive of s_a1_1")  # the most severe first, with its plain reason
    expect(items.first).to_contain_text("High priority")
    expect(items.nth(1)).to_contain_text("stuck of s_x_00 on 5.C")
    screenshot(page, "today-teacher")

    # Acknowledge: htmx swaps the list; the page is not reloaded (the marker survives).
    page.evaluate("window.__notReloaded = true")
    alerts.get_by_role("button", name="Acknowledge S s_a1_1’s inactive alert").click()
    expect(alerts.get_by_role("status")).to_contain_text("Acknowledged: S s_a1_1's inactive alert.")
    expect(alerts.get_by_role("button", name="Acknowledge S s_a1_1’s inactive alert")).to_have_count(0)
    expect(alerts.get_by_role("listitem").first).to_contain_text("Acknowledged")
    assert page.evaluate("window.__notReloaded === true")
    alert = PacingAlert.objects.get(kind=PacingAlert.Kind.INACTIVE)
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", world.t_a1)

    # A refused resolve (no note) shows its message in place, still without a reload.
    stuck = alerts.get_by_role("listitem").filter(has_text="stuck of s_x_00")
    stuck.get_by_role("button", name=re.compile("^Resolve")).click()
    expect(alerts.get_by_role("alert")).to_contain_text("Say what was done: resolving an alert needs a note.")
    assert page.evaluate("window.__notReloaded === true")
    assert PacingAlert.objects.get(kind=PacingAlert.Kind.STUCK).status == "open"

    # Plan the suggested group.
    groups = page.get_by_role("region", name="Suggested small groups")
    expect(groups).to_contain_text(
        "3 students are ready for 5.A next: every prerequisite is mastered and it is the first ready step on each "
        "one's path."
    )
    groups.get_by_role("link", name="Plan this session for 5.A with 3 students").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan a small-group session")
    for name in ("S s_a1_1", "S s_a1_2", "S s_x_00"):
        expect(page.get_by_label(name, exact=True)).to_be_checked()
    expect(page.get_by_label("S s_x_01", exact=True)).not_to_be_checked()
    expect(page.get_by_label("Competency")).to_have_value(str(ws.c["5.A"].pk))
    expect(page.get_by_label("Day of the session")).to_have_value(timezone.localdate().isoformat())
    page.get_by_label("Fraction strips").check()
    screenshot(page, "today-plan")
    page.get_by_role("button", name="Plan the session").click()
    expect(page).to_have_url(re.compile(r"/teacher/#session-\d+$"))
    expect(page.get_by_role("status").first).to_contain_text("Session planned: 5.A with 3 students")
    session = SmallGroupSession.objects.get()
    # Back on Today, the keyboard focus is on the session just planned (the address points at it).
    expect(page.locator(f"#session-{session.pk}")).to_be_focused()
    assert sorted(session.members.values_list("student__username", flat=True)) == ["s_a1_1", "s_a1_2", "s_x_00"]
    expect(page.get_by_role("region", name="Suggested small groups")).not_to_contain_text("ready for 5.A")

    # Record one rating per student in one form, with the keyboard: a digit, Tab, a digit...
    page.get_by_role("region", name=re.compile("Small-group sessions")).get_by_role(
        "link", name=re.compile("^Record ratings")
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Small group: 5.A")
    table = page.get_by_role("table")
    expect(table.get_by_role("row").filter(has_text="S s_a1_1")).to_contain_text("Ready")
    first = page.get_by_label("Rating for S s_a1_1")
    expect(first).to_be_focused()
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Rating for S s_a1_2")).to_be_focused()
    page.keyboard.type("4")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Rating for S s_x_00")).to_be_focused()
    page.keyboard.type("2")
    screenshot(page, "today-ratings")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("3 ratings recorded as evidence on 5.A")
    # Saved without a reload (htmx): the boxes are gone, the outcome message has the focus.
    expect(page.get_by_role("status").locator("p")).to_be_focused()
    for name in ("S s_a1_1", "S s_a1_2", "S s_x_00"):
        expect(table.get_by_role("row").filter(has_text=name)).to_contain_text("In progress")
    screenshot(page, "today-ratings-recorded")

    # The student's path: the 5.A step moved from ready to in progress.
    page.get_by_role("navigation", name="The students’ paths").get_by_role("link", name="S s_a1_1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Learning path: S s_a1_1")
    step = PathStep.objects.get(path=ws.paths["s_a1_1"], competency=ws.c["5.A"])
    expect(page.locator(f"#step-{step.pk}")).to_contain_text("In progress")
    assert step.state == PathStep.State.IN_PROGRESS
