"""Keyboard focus and announcements after htmx actions, in Chromium, with the keyboard only: the control that was
used is swapped away, so the focus must land somewhere sensible (the next alert's first action, the changed grid
cell, the first refused box, or the outcome message) and the outcome must reach the page's aria-live region.

Each step presses keys, then reads `document.activeElement` and the live region's text."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from pathways.models import PacingAlert
from pathways.services import groups
from tests.browser.test_sign_in import sign_in
from tests.mastery.test_views import build_curriculum, build_states
from tests.pathways.test_groups import Workspace
from tests.world import make_student

pytestmark = pytest.mark.browser
Kind, Severity = PacingAlert.Kind, PacingAlert.Severity

# What has the focus: its tag, id, the id of its alert card (if in one) and its text, or its accessible name.
ACTIVE = """() => {
  const element = document.activeElement;
  const card = element.closest("li[id^='today-alert-']");
  return {
    tag: element.tagName.toLowerCase(),
    id: element.id,
    card: card ? card.id : "",
    text: (element.innerText || element.value || "").replace(/\\s+/g, " ").trim(),
    live: element.closest("[aria-live]") ? element.closest("[aria-live]").id : "",
  };
}"""


def active(page) -> dict[str, str]:
    """What has the focus, once it has landed: htmx swaps the content in (the pressed control goes, the focus
    falls back to the body) and focuses the new content's autofocus element when it settles, a moment later."""
    page.wait_for_function("document.activeElement && document.activeElement !== document.body")
    return page.evaluate(ACTIVE)


def live_text(page, region: str) -> str:
    """The text of a live region (aria-live="polite"), whitespace collapsed."""
    locator = page.locator(f"#{region}")
    expect(locator).to_have_attribute("aria-live", "polite")
    return " ".join(locator.inner_text().split())


@pytest.fixture
def alerts(world) -> dict[str, PacingAlert]:
    """Three open alerts of t_a1's students, ranked by severity: s_a1_1 (high), s_a1_2 (medium), s_x_00 (low)."""
    ws = Workspace(world, extra=1)
    return {
        "first": ws.alert("s_a1_1", Kind.INACTIVE, severity=Severity.HIGH),
        "second": ws.alert("s_a1_2", Kind.BEHIND_PACE, severity=Severity.MEDIUM),
        "third": ws.alert("s_x_00", Kind.STUCK, "5.C", severity=Severity.LOW),
    }


def test_today_moves_the_focus_to_the_next_alert_and_announces_each_outcome(page, world, alerts):
    sign_in(page, "t_a1")
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    first, second, third = (f"today-alert-{alerts[key].pk}" for key in ("first", "second", "third"))

    # Acknowledge the first alert with Enter: it stays listed; the focus goes to the next alert's first action.
    page.get_by_role("button", name="Acknowledge S s_a1_1’s inactive alert").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#today-status")).to_contain_text("Acknowledged")
    assert active(page) == {
        "tag": "button",
        "id": "",
        "card": second,
        "text": "Acknowledge S s_a1_2’s behind pace alert",
        "live": "",
    }
    assert live_text(page, "today-status") == (
        "Acknowledged: S s_a1_1's inactive alert. It stays listed until its condition clears or you resolve it."
    )

    # Tab to the second alert's note, type it, Enter resolves: the card goes, the third alert's action has the focus.
    page.keyboard.press("Tab")
    assert active(page)["id"] == f"today-resolve-note-{alerts['second'].pk}"
    page.keyboard.type("Called home")
    page.keyboard.press("Enter")
    expect(page.locator(f"#{second}")).to_have_count(0)
    assert active(page) == {
        "tag": "button",
        "id": "",
        "card": third,
        "text": "Acknowledge S s_x_00’s stuck alert",
        "live": "",
    }
    assert live_text(page, "today-status") == "Resolved: S s_a1_2's behind pace alert."

    # Resolve the third without a note: refused; the focus goes to its note box, marked invalid, and the live
    # region says nothing new (the refusal is an alert of its own).
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert active(page)["text"] == "Resolve S s_x_00’s stuck alert"
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Say what was done: resolving an alert needs a note.")
    assert active(page) == {
        "tag": "input",
        "id": f"today-resolve-note-{alerts['third'].pk}",
        "card": third,
        "text": "",
        "live": "",
    }
    assert page.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"
    assert live_text(page, "today-status") == ""

    # Now with a note: no alert follows the last one, so the outcome message takes the focus.
    page.keyboard.type("Worked through 5.C together")
    page.keyboard.press("Enter")
    expect(page.locator(f"#{third}")).to_have_count(0)
    assert active(page) == {
        "tag": "p",
        "id": "",
        "card": "",
        "text": "Resolved: S s_x_00's stuck alert.",
        "live": "today-status",
    }
    assert live_text(page, "today-status") == "Resolved: S s_x_00's stuck alert."
    expect(page.locator(f"#{first}")).to_contain_text("Acknowledged")
    statuses = dict(PacingAlert.objects.values_list("pk", "status"))
    assert [statuses[alerts[key].pk] for key in ("first", "second", "third")] == [
        "acknowledged",
        "resolved",
        "resolved",
    ]


@pytest.fixture
def cur(world):
    curriculum = build_curriculum(world)
    build_states(world, curriculum)
    make_student(world, "s_a1_3", world.schools["north-a"], 5, world.sections["A1"])
    return curriculum


def test_grid_ratings_move_the_focus_to_the_refused_box_then_to_the_changed_cell(page, world, cur):
    sign_in(page, "t_a1")
    page.goto(f"/sections/{world.sections['A1'].pk}/mastery/")
    oa1 = cur.c["5.OA.1"].pk
    page.get_by_label("Record ratings on").select_option(value=str(oa1))
    page.get_by_role("button", name="Record ratings").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Rating for S s_a1_1 on 5.OA.1")).to_be_focused()

    # A 9 for the first student, 3 for the second, Enter (in the second box): refused; the focus goes back to the
    # refused box (htmx alone would give it to the box of the same id as the one that had it, the second).
    page.keyboard.type("9")
    page.keyboard.press("Tab")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("S s_a1_1: “9” is not a rating. Type a whole number from 1 to 4.")
    assert active(page)["id"] == f"rating-{world.s_a1_1.pk}"
    assert page.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"
    assert live_text(page, "grid-status") == ""

    # Correct it, Tab past the kept 3, 2, Enter: saved; the focus goes to the first cell that changed, and the
    # outcome is announced.
    page.keyboard.press("Control+A")
    page.keyboard.type("4")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Rating for S s_a1_2 on 5.OA.1")).to_have_value("3")
    page.keyboard.press("Tab")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(page.locator("#grid-status")).to_contain_text("Recorded 3 ratings on 5.OA.1.")
    assert active(page)["text"] == "IP In progress, changed just now"
    assert page.evaluate("document.activeElement.getAttribute('href')") == (
        f"/students/{world.s_a1_1.pk}/mastery/{oa1}/"
    )
    assert live_text(page, "grid-status") == (
        "Recorded 3 ratings on 5.OA.1. S s_a1_1: Not started → In progress; S s_a1_3: Not started → In progress."
    )


def test_session_ratings_move_the_focus_to_the_refused_box_then_to_the_outcome(page, world):
    ws = Workspace(world, extra=0)
    session = groups.session_plan(
        section_id=ws.a1.pk,
        competency_id=ws.c["5.A"].pk,
        student_ids=[world.s_a1_1.pk, world.s_a1_2.pk],
        planned_for=timezone.localdate() - datetime.timedelta(days=1),
        by=world.t_a1,
    )
    sign_in(page, "t_a1")
    page.goto(reverse("small-group-session", args=[session.pk]))
    expect(page.get_by_label("Rating for S s_a1_1")).to_be_focused()

    # 5 is no rating: refused; the focus stays on the refused box, the live region says nothing new.
    page.keyboard.type("5")
    page.keyboard.press("Tab")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Nothing was changed.")
    assert active(page)["id"] == f"rating-{world.s_a1_1.pk}"
    assert page.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"
    assert live_text(page, "session-status") == ""

    page.keyboard.press("Control+A")
    page.keyboard.type("4")
    page.keyboard.press("Enter")
    expect(page.locator("#session-status")).to_contain_text("2 ratings recorded")
    assert active(page) == {
        "tag": "p",
        "id": "",
        "card": "",
        "text": "2 ratings recorded as evidence on 5.A; mastery and paths are updated.",
        "live": "session-status",
    }
    assert live_text(page, "session-status") == "2 ratings recorded as evidence on 5.A; mastery and paths are updated."
    expect(page.get_by_role("table").get_by_role("row").filter(has_text="S s_a1_1")).to_contain_text("4 recorded")
