"""The path pages in Chromium: a student opens their path from their home, chooses a ready step and an
activity, and finds the choice saved and shown; a locked step cannot be chosen even by a crafted POST; the
path page fits a phone's width; a teacher acknowledges a pacing alert. Screenshots land in test-artifacts/."""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import expect

from pathways.models import PacingAlert, StepChoice
from pathways.services import pacing_compute
from tests.browser.conftest import ARTIFACTS, PHONE
from tests.browser.test_sign_in import sign_in
from tests.pathways.test_choice import Paths

pytestmark = pytest.mark.browser
ON = datetime.date(2026, 11, 2)


@pytest.fixture
def paths(world) -> Paths:
    """s_a1_1's path: M1 mastered, M2-M5 ready, M6 locked (waits for M2 and M3), M7 skipped; approved
    activities "Fraction strips" and "Number line game" for M2; pacing stored; one open alert."""
    built = Paths(world)
    pacing_compute(student_ids=[world.s_a1_1.pk], on=ON)
    built.alert = PacingAlert.objects.create(  # type: ignore[attr-defined]
        student=world.s_a1_1,
        path=built.path,
        kind=PacingAlert.Kind.INACTIVE,
        severity=PacingAlert.Severity.HIGH,
        numbers={"last_evidence_on": None, "school_days_without_evidence": 52},
        reason="No evidence for 52 school days (since the path started).",
        opened_on=ON,
    )
    return built


def test_student_opens_their_path_chooses_a_ready_step_and_an_activity(page, world, paths, live_server, screenshot):
    sign_in(page, "s_a1_1")
    expect(page).to_have_url(f"{live_server.url}/students/{world.s_a1_1.pk}/")
    card = page.get_by_role("region", name="My path")
    # Loaded by htmx into the card: the progress replaces the plain link (which stays, in the card's words).
    expect(card).to_contain_text("1 of 6 target competencies mastered (17%)")
    screenshot(page, "path-student-profile")

    card.get_by_role("link", name="Open my path").click()
    expect(page).to_have_url(f"{live_server.url}/students/{world.s_a1_1.pk}/path/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My path")
    expect(page.get_by_role("region", name="My progress")).to_contain_text("1 of 6 target competencies mastered")
    steps = page.get_by_role("region", name=re.compile("My steps"))
    expect(steps.locator(f"#step-{paths.steps[6].pk}")).to_contain_text("Locked")
    expect(steps.locator(f"#step-{paths.steps[6].pk}")).to_contain_text("Waiting for: M2 M2; M3 M3")
    expect(page.get_by_role("region", name="Open alerts")).to_have_count(0)
    next_steps = page.get_by_role("region", name="What to work on next")
    expect(next_steps.get_by_role("button", name=re.compile("^Choose"))).to_have_text(
        ["Choose M2", "Choose M3", "Choose M4"]
    )
    screenshot(page, "path-student")

    option = next_steps.get_by_role("listitem").filter(has=page.get_by_role("button", name="Choose M2"))
    option.get_by_label("Fraction strips").check()
    option.get_by_role("button", name="Choose M2").click()
    expect(page.get_by_role("status")).to_contain_text("You chose M2. Get started!")
    choice = StepChoice.objects.get()
    assert (choice.step_id, choice.activity_id, choice.status) == (
        paths.steps[2].pk,
        paths.activities["strips"].pk,
        StepChoice.Status.APPROVED,
    )
    chosen = page.get_by_role("region", name="What to work on next")
    expect(chosen).to_contain_text("Your choice: M2 · M2, with “Fraction strips”")
    expect(chosen).to_contain_text("Approved")
    expect(page.locator(f"#step-{paths.steps[2].pk}")).to_contain_text("Your choice")
    screenshot(page, "path-student-chosen")


def test_a_locked_step_cannot_be_chosen_even_by_a_crafted_post(page, world, paths, live_server):
    sign_in(page, "s_a1_1")
    page.goto(f"/students/{world.s_a1_1.pk}/path/")
    expect(page.get_by_role("button", name="Choose M6")).to_have_count(0)
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    response = page.request.post(
        f"{live_server.url}/students/{world.s_a1_1.pk}/path/choose/",
        form={"csrfmiddlewaretoken": token, "step": str(paths.steps[6].pk), "activity": ""},
    )
    assert response.status == 400
    assert "This step is locked: it waits for M2 and M3." in response.text()
    assert not StepChoice.objects.exists()
    # Without the CSRF token the request is refused before anything is looked at.
    other = page.request.post(
        f"{live_server.url}/students/{world.s_a1_1.pk}/path/choose/", form={"step": str(paths.steps[2].pk)}
    )
    assert other.status == 403
    assert not StepChoice.objects.exists()


def test_the_path_page_fits_a_phone(page, world, paths, live_server):
    sign_in(page, "s_a1_1")
    page.set_viewport_size(PHONE)
    page.goto(f"/students/{world.s_a1_1.pk}/path/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My path")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"horizontal overflow: {widths}"
    wider = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map(e => e.tagName + '.' + e.className)"""
    )
    assert wider == []
    button = page.get_by_role("button", name="Choose M2")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 40  # big enough to tap
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "path-student-phone-width.png"), full_page=True)


def test_teacher_acknowledges_an_alert(page, world, paths, live_server, screenshot):
    sign_in(page, "t_a1")
    expect(page).to_have_url(f"{live_server.url}/teacher/")
    page.get_by_role("table").get_by_role("link", name="S s_a1_1").click()  # Today lists the alert too
    page.get_by_role("region", name="Learning path").get_by_role("link", name=re.compile("Open the path")).click()
    expect(page).to_have_url(f"{live_server.url}/students/{world.s_a1_1.pk}/path/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Learning path: S s_a1_1")
    alerts = page.get_by_role("region", name=re.compile("Open alerts"))
    expect(alerts).to_contain_text("No evidence for 52 school days (since the path started).")
    expect(alerts).to_contain_text("High priority")
    expect(page.get_by_text("Off track", exact=True)).to_be_visible()
    screenshot(page, "path-teacher")

    alerts.get_by_label("Note (optional)").fill("Called home; back on Monday.")
    alerts.get_by_role("button", name="Acknowledge the inactive alert").click()
    expect(page.get_by_role("status")).to_contain_text("Alert acknowledged.")
    expect(alerts).to_contain_text("Acknowledged")
    expect(alerts).to_contain_text("Called home; back on Monday.")
    expect(alerts.get_by_role("button", name="Acknowledge the inactive alert")).to_have_count(0)
    paths.alert.refresh_from_db()
    assert (paths.alert.status, paths.alert.acknowledged_by, paths.alert.resolution_note) == (
        "acknowledged",
        world.t_a1,
        "Called home; back on Monday.",
    )
    screenshot(page, "path-teacher-acknowledged")
