"""Unmatched statements in Chromium: a district admin follows the home's link (with the open count), searches a
student as they type (htmx), maps the person, reads the report, and the person's statements leave the open list for
"Recently resolved"; the same without JavaScript through the form's Search button. Screenshots land in
test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mastery.models import Evidence, UnmatchedStatement
from tests.browser.test_sign_in import sign_in
from tests.mastery.test_unmatched_page import KID, KID_B, OTHER_KID, Unmatched, evidence_rows, statement_id

pytestmark = pytest.mark.browser

KID_HEADING = f"Person {KID}"
REPORT = "Mapped: 3 statements recorded, 4 still unmatched from this tool."


@pytest.fixture
def data(world) -> Unmatched:
    return Unmatched(world)


def kid_evidence() -> set[tuple]:
    return {
        ("s_a1_1", "5.NF.1", "score", score, "fraction-practice", statement_id(number))
        for number, score in ((1, 0.8), (2, 0.5), (3, 1.0))
    }


def test_admin_searches_a_student_maps_the_person_and_the_row_leaves_the_list(page, data, live_server, screenshot):
    sign_in(page, "admin_north")
    link = page.get_by_role("link", name="Map unmatched statements from learning tools (xAPI, Caliper)")
    expect(link.locator("xpath=..")).to_contain_text("8 open")  # the count, loaded with htmx
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Unmatched statements from learning tools")
    expect(page.get_by_role("heading", level=4)).to_have_count(5)
    group = page.get_by_role("article", name=KID_HEADING)
    expect(group.locator("dd").first).to_have_text("3")  # statements

    group.get_by_label("Find the student by name or username").press_sequentially("s_a1", delay=40)
    choices = group.get_by_role("group", name="Students found for “s_a1”").get_by_role("radio")
    expect(choices).to_have_count(2)
    assert Evidence.objects.count() == 0  # searching changes nothing
    group.get_by_label("S s_a1_1 (s_a1_1) · North-A · Grade 5").check()
    screenshot(page, "unmatched-search")
    group.get_by_role("button", name=re.compile("^Map and replay")).click()

    expect(page.get_by_role("status")).to_have_text(REPORT)
    expect(page.get_by_role("article", name=KID_HEADING)).to_have_count(0)
    expect(page.get_by_role("heading", level=4)).to_have_count(4)
    expect(page.get_by_role("article", name=f"Person {OTHER_KID}")).to_be_visible()
    resolved = page.get_by_role("table").get_by_role("row", name=re.compile("^Fraction practice"))
    expect(resolved.get_by_role("cell")).to_have_text([KID, "—", "3", re.compile(r"\d")])
    screenshot(page, "unmatched-mapped")
    assert evidence_rows() == kid_evidence()
    assert UnmatchedStatement.objects.filter(resolved_at__isnull=True).count() == 6  # district South's too


def test_without_javascript_the_search_button_finds_the_students(browser, data, world, live_server):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    try:
        sign_in(page, "admin_north")
        page.goto(f"/districts/{world.districts['north'].pk}/unmatched/")
        group = page.get_by_role("article", name=f"Person {KID_B}")  # the north-b tool: its school's students
        group.get_by_label("Find the student by name or username").fill("s_")
        group.get_by_role("button", name="Search students").click()
        group = page.get_by_role("article", name=f"Person {KID_B}")
        expect(group.get_by_role("radio")).to_have_count(1)
        group.get_by_label("S s_b1_1 (s_b1_1) · North-B · Grade 7").check()
        group.get_by_role("button", name=re.compile("^Map and replay")).click()
        expect(page.get_by_role("status")).to_have_text(
            "Mapped: 1 statement recorded, 0 still unmatched from this tool."
        )
        expect(page.get_by_role("article", name=f"Person {KID_B}")).to_have_count(0)
    finally:
        context.close()
    assert evidence_rows() == {("s_b1_1", "5.NF.1", "score", 0.9, "reading-app", statement_id(7))}
