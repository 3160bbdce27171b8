"""The section mastery grid with the keyboard only, in Chromium (mastery/static/mastery/grid_keys.js): the grid is
one Tab stop, the arrow keys (and Home/End, Ctrl+Home/Ctrl+End, PageUp/PageDown) move between its cells, Tab
comes back to the last cell focused and Enter opens a cell's explanation. In the ratings mode the rating boxes
keep the Tab order and the cells stay out of it; without JavaScript every link is a Tab stop, as before.

Each step presses keys, then reads the focused element's href: a cell's names its student and competency, a
student's name links to the student's map."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.test_sign_in import sign_in
from tests.mastery.test_views import build_curriculum, build_states
from tests.world import make_student

pytestmark = pytest.mark.browser

CODES = ["5.NF.1", "5.NF.2", "5.OA.1"]  # the grid's columns, in order
EXTRA = ["s_a1_3", "s_a1_4", "s_a1_5", "s_a1_6", "s_a1_7"]  # students added to A1: seven rows, more than a page
# The table's links in the Tab order, and all of its focusable elements in it.
TAB_STOPS = """() => document.querySelector("table.mastery-grid")
  .querySelectorAll('a[tabindex="0"], a:not([tabindex])').length"""
# Starts counting the tabindex changes in the table; CHANGED reads the links changed since.
WATCH = """() => {
  window.tabindexChanges = [];
  new MutationObserver((records) => window.tabindexChanges.push(...records)).observe(
    document.querySelector("table.mastery-grid"), { subtree: true, attributeFilter: ["tabindex"] });
}"""
CHANGED = "() => window.tabindexChanges.map((record) => [record.target.getAttribute('href'), record.target.tabIndex])"
TABBABLE = """() => [...document.querySelector("table.mastery-grid").querySelectorAll("a, input")]
  .filter((element) => element.tabIndex >= 0).map((element) => element.id || element.getAttribute("href"))"""


@pytest.fixture
def cur(world):
    curriculum = build_curriculum(world)
    build_states(world, curriculum)
    for username in EXTRA:
        make_student(world, username, world.schools["north-a"], 5, world.sections["A1"])
    return curriculum


@pytest.fixture
def students(world, cur) -> list[int]:
    """The ids of the grid's rows, in order (by name)."""
    return [world.users[username].pk for username in ["s_a1_1", "s_a1_2", *EXTRA]]


def grid_url(world) -> str:
    return reverse("mastery-grid", args=[world.sections["A1"].pk])


def cell(student: int, competency) -> str:
    return reverse("mastery-explanation", args=[student, competency.pk])


def name(student: int) -> str:
    return reverse("mastery-map", args=[student])


def focused(page) -> str | None:
    return page.evaluate("document.activeElement.getAttribute('href')")


def press(page, key: str) -> str | None:
    page.keyboard.press(key)
    return focused(page)


def test_the_grid_is_one_tab_stop_with_arrow_keys_between_its_cells(page, world, cur, students, live_server):
    sign_in(page, "t_a1")
    page.goto(grid_url(world))
    c = {code: cur.c[code] for code in CODES}
    first, second, last = students[0], students[1], students[-1]
    table = page.locator("table.mastery-grid")
    expect(table.locator("a")).to_have_count(len(students) * (1 + len(CODES)))
    assert page.evaluate(TAB_STOPS) == 1
    expect(page.locator("#grid-keys-help")).to_be_visible()
    expect(table).to_have_accessible_description(
        "In the grid, use the arrow keys to move between cells; Tab leaves the grid."
    )

    # From the scrolling region around the table (the element before the grid), Tab lands on the first cell of
    # the first row (the student's name); the next Tab leaves the grid for the competency key below it.
    page.locator(".grid-wrap").focus()
    assert press(page, "Tab") == name(first)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.outerHTML") == "<summary>What each column is</summary>"
    assert press(page, "Shift+Tab") == name(first)

    # A move changes the tabindex of two links only: the cell left and the cell reached.
    page.evaluate(WATCH)
    assert press(page, "ArrowRight") == cell(first, c["5.NF.1"])
    assert page.evaluate(CHANGED) == [[name(first), -1], [cell(first, c["5.NF.1"]), 0]]
    assert press(page, "ArrowDown") == cell(second, c["5.NF.1"])
    assert press(page, "End") == cell(second, c["5.OA.1"])
    assert press(page, "ArrowRight") == cell(second, c["5.OA.1"])  # the end of the row: no wrapping
    assert press(page, "Home") == name(second)
    assert press(page, "ArrowLeft") == name(second)
    assert press(page, "Control+End") == cell(last, c["5.OA.1"])
    assert press(page, "ArrowDown") == cell(last, c["5.OA.1"])
    assert press(page, "ArrowLeft") == cell(last, c["5.NF.2"])
    assert press(page, "PageUp") == cell(students[1], c["5.NF.2"])  # five rows up
    assert press(page, "PageUp") == cell(first, c["5.NF.2"])  # no further than the first row
    assert press(page, "PageDown") == cell(students[5], c["5.NF.2"])
    assert press(page, "Control+Home") == name(first)
    assert press(page, "ArrowUp") == name(first)

    # Out of the grid and back: the last cell focused is the one Tab stop.
    page.keyboard.press("ArrowDown")
    assert press(page, "ArrowRight") == cell(second, c["5.NF.1"])
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.className") == "grid-wrap"
    assert press(page, "Tab") == cell(second, c["5.NF.1"])
    assert page.evaluate(TAB_STOPS) == 1

    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}{cell(second, c['5.NF.1'])}")
    expect(page.get_by_role("heading", level=1)).to_have_text("5.NF.1: Add fractions with unlike denominators")


def test_the_ratings_mode_keeps_its_boxes_in_the_tab_order_and_saving_makes_the_grid_one_tab_stop_again(
    page, world, cur, students
):
    sign_in(page, "t_a1")
    page.goto(grid_url(world))
    oa1 = cur.c["5.OA.1"]
    page.get_by_label("Record ratings on").select_option(value=str(oa1.pk))
    page.get_by_role("button", name="Record ratings").focus()
    page.keyboard.press("Enter")
    box = f"rating-{students[0]}"
    expect(page.locator(f"#{box}")).to_be_focused()

    # htmx swapped in the ratings mode's table: the boxes are its only Tab stops, no cell or name link is one,
    # and there are no arrow keys to tell of.
    assert page.evaluate(TABBABLE) == [f"rating-{student}" for student in students]
    assert page.evaluate(TAB_STOPS) == 0
    expect(page.locator("#grid-keys-help")).to_have_count(0)
    assert page.locator("table.mastery-grid").get_attribute("aria-describedby") is None
    page.keyboard.type("4")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.id") == box
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"rating-{students[1]}"

    # Save (a 4 for the first student, nothing for the second): the grid leaves the ratings mode, focused on the
    # changed cell, which is its one Tab stop; ArrowLeft moves from it, Tab leaves the grid.
    page.keyboard.press("Enter")
    expect(page.locator("#grid-status")).to_contain_text("Recorded 1 rating on 5.OA.1.")
    page.wait_for_function("document.activeElement.tagName === 'A'")
    assert focused(page) == cell(students[0], oa1)
    assert page.evaluate(TABBABLE) == [cell(students[0], oa1)]
    expect(page.locator("#grid-keys-help")).to_be_visible()
    assert press(page, "ArrowLeft") == cell(students[0], cur.c["5.NF.2"])
    assert page.evaluate(TABBABLE) == [cell(students[0], cur.c["5.NF.2"])]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.outerHTML") == "<summary>What each column is</summary>"


def test_the_ratings_mode_opened_by_its_address_has_no_cell_in_the_tab_order(page, world, cur, students):
    sign_in(page, "t_a1")
    page.goto(grid_url(world) + f"?rate={cur.c['5.OA.1'].pk}")
    expect(page.locator(f"#rating-{students[0]}")).to_be_focused()
    assert page.evaluate(TABBABLE) == [f"rating-{student}" for student in students]


def test_without_javascript_every_link_of_the_grid_is_a_tab_stop(browser, live_server, world, cur, students):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        sign_in(page, "t_a1")
        page.goto(grid_url(world))
        expect(page.get_by_role("heading", level=1)).to_have_text("Mastery grid")
        assert page.evaluate(TAB_STOPS) == len(students) * (1 + len(CODES))
        expect(page.locator("#grid-keys-help")).to_be_hidden()
        assert page.locator("table.mastery-grid").get_attribute("aria-describedby") is None
    finally:
        context.close()
