"""Fast evidence in Chromium: a teacher opens the section's mastery grid, opens the ratings column for one
competency, types ratings with the keyboard (digits, Tab down the column), is refused a rating of 7 with the
message beside the box, saves, and sees the cells change without a page reload; the learner profile then shows
the ratings on its evidence timeline. Screenshots land in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mastery.models import Evidence
from tests.browser.test_sign_in import sign_in
from tests.mastery.test_views import build_curriculum, build_states
from tests.world import make_student

pytestmark = pytest.mark.browser
SHOWN = "[aria-hidden=true]"


@pytest.fixture
def cur(world):
    curriculum = build_curriculum(world)
    build_states(world, curriculum)
    make_student(world, "s_a1_3", world.schools["north-a"], 5, world.sections["A1"])
    return curriculum


def test_teacher_records_ratings_with_the_keyboard_and_the_grid_changes_in_place(
    page, world, cur, live_server, screenshot
):
    sign_in(page, "t_a1")
    page.goto(f"/sections/{world.sections['A1'].pk}/mastery/")
    grid = page.get_by_role("table")
    expect(grid.get_by_role("rowheader")).to_have_text(["S s_a1_1", "S s_a1_2", "S s_a1_3", "Mastered"])
    page.evaluate("window.__samePage = true")  # gone if the page reloads

    page.get_by_label("Record ratings on").select_option(value=str(cur.c["5.OA.1"].pk))
    page.get_by_role("button", name="Record ratings").click()
    first = page.get_by_label("Rating for S s_a1_1 on 5.OA.1")
    expect(first).to_be_focused()
    expect(page.get_by_role("heading", name="Record ratings on 5.OA.1")).to_be_visible()
    screenshot(page, "fast-evidence-ratings-mode")

    # A 7 is refused beside its box; nothing is stored and what was typed stays.
    page.keyboard.type("7")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Rating for S s_a1_2 on 5.OA.1")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Nothing was recorded.")
    expect(page.get_by_role("alert")).to_contain_text("S s_a1_1: “7” is not a rating. Type a whole number from 1 to 4.")
    expect(first).to_have_value("7")
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(first).to_be_focused()  # the refused box, though Enter was pressed in the next one
    assert not Evidence.objects.exists()
    screenshot(page, "fast-evidence-refused")

    # Digits and Tab, down the column; then the note and Save, still with the keyboard.
    first.fill("")
    first.focus()
    page.keyboard.type("4")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Rating for S s_a1_2 on 5.OA.1")).to_be_focused()
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Rating for S s_a1_3 on 5.OA.1")).to_be_focused()
    page.keyboard.type("2")
    page.keyboard.press("Tab")
    expect(page.get_by_label(re.compile("^Note"))).to_be_focused()
    page.keyboard.type("Whiteboard check")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save ratings")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Recorded 3 ratings on 5.OA.1.")
    expect(page.get_by_role("status")).to_contain_text("S s_a1_1: Not started → In progress")
    row = grid.get_by_role("row").filter(has=page.get_by_role("rowheader", name="S s_a1_3"))
    expect(row.get_by_role("cell").locator(SHOWN)).to_have_text(["NS", "NS", "IP"])
    expect(row.get_by_role("link", name="In progress, changed just now")).to_be_visible()
    # The Save button is gone: the focus is on the first cell that changed (S s_a1_1's), the outcome announced.
    changed = grid.get_by_role("row").filter(has=page.get_by_role("rowheader", name="S s_a1_1"))
    expect(changed.get_by_role("link", name="In progress, changed just now")).to_be_focused()
    expect(page.locator("#grid-status")).to_have_attribute("aria-live", "polite")
    assert page.evaluate("window.__samePage") is True  # the grid changed without a reload
    assert sorted(Evidence.objects.values_list("student__username", "rating", "source", "note")) == [
        ("s_a1_1", 4, "teacher-rating", "Whiteboard check"),
        ("s_a1_2", 3, "teacher-rating", "Whiteboard check"),
        ("s_a1_3", 2, "teacher-rating", "Whiteboard check"),
    ]
    screenshot(page, "fast-evidence-saved")

    # The learner profile's timeline shows the rating with its source and author.
    page.goto(f"/students/{world.s_a1_1.pk}/")
    timeline = page.get_by_role("region", name="Evidence")
    item = timeline.get_by_role("listitem").first
    expect(item).to_contain_text("5.OA.1")
    expect(item).to_contain_text("Teacher rating (1–4)")
    expect(item).to_contain_text("4 of 4")
    expect(item).to_contain_text("teacher-rating")
    expect(item).to_contain_text("T t_a1")
    expect(page.get_by_role("region", name=re.compile("^Open alerts"))).to_contain_text("No open alerts")
    screenshot(page, "fast-evidence-profile")
