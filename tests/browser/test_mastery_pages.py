"""The mastery pages in Chromium: a teacher opens a section's grid, filters it by strand, opens an explanation,
overrides the status with a note and finds it marked in the grid. Screenshots land in test-artifacts/."""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import expect

from mastery.models import Evidence, MasteryState
from tests.browser.test_sign_in import sign_in
from tests.mastery.test_views import build_curriculum, build_states

pytestmark = pytest.mark.browser
SHOWN = "[aria-hidden=true]"  # what a cell shows; its words for screen readers are beside it, visually hidden


@pytest.fixture
def cur(world):
    curriculum = build_curriculum(world)
    build_states(world, curriculum)
    student, competency = world.s_a1_2, curriculum.c["5.OA.1"]
    Evidence.objects.bulk_create(
        Evidence(
            student=student,
            competency=competency,
            kind="score",
            score=score,
            observed_at=datetime.datetime(2026, 10, day, 10, tzinfo=datetime.UTC),
            source="quiz-app",
        )
        for day, score in ((1, 0.0), (5, 1.0), (8, 0.5), (12, 1.0), (16, 1.0))
    )
    return curriculum


def test_teacher_filters_the_grid_explains_a_status_and_overrides_it(page, world, cur, live_server, screenshot):
    sign_in(page, "t_a1")
    expect(page).to_have_url(f"{live_server.url}/teacher/")
    page.get_by_role("link", name="Math A1").click()
    page.get_by_role("link", name="Mastery grid").click()
    grid_url = f"{live_server.url}/sections/{world.sections['A1'].pk}/mastery/"
    expect(page).to_have_url(grid_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mastery grid")

    grid = page.get_by_role("table")
    expect(grid.get_by_role("columnheader")).to_have_text(["Student", "5.NF.1", "5.NF.2", "5.OA.1"])
    expect(grid.get_by_role("rowheader")).to_have_text(["S s_a1_1", "S s_a1_2", "Mastered"])
    first = grid.get_by_role("row").filter(has=page.get_by_role("rowheader", name="S s_a1_1"))
    expect(first.get_by_role("cell").locator(SHOWN)).to_have_text(["M", "M*", "NS"])
    expect(first.get_by_role("link", name="Mastered, teacher override")).to_have_attribute(
        "title", "Mastered · Teacher override"
    )
    # Colour repeats the words: a mastered cell and a not-started one differ in colour as well as text.
    colours = [
        first.get_by_role("cell").nth(i).locator("a").evaluate("a => getComputedStyle(a).backgroundColor")
        for i in (0, 2)
    ]
    assert colours[0] != colours[1]
    screenshot(page, "mastery-grid")

    page.get_by_label("Strand", exact=True).select_option(label="5.OA · Operations and algebraic thinking")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"strand={cur.c['5.OA'].pk}"))
    expect(grid.get_by_role("columnheader")).to_have_text(["Student", "5.OA.1"])
    second = grid.get_by_role("row").filter(has=page.get_by_role("rowheader", name="S s_a1_2"))
    expect(second.get_by_role("cell").locator(SHOWN)).to_have_text(["IP"])
    screenshot(page, "mastery-grid-strand")

    second.get_by_role("link", name="In progress").click()
    expect(page).to_have_url(f"{live_server.url}/students/{world.s_a1_2.pk}/mastery/{cur.c['5.OA.1'].pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("5.OA.1: Use parentheses in numerical expressions")
    expect(page.get_by_role("img", name=re.compile("after each piece of evidence on 5.OA.1"))).to_be_visible()
    evidence = page.get_by_role("region", name=re.compile("Evidence that counted"))
    expect(evidence.get_by_role("row")).to_have_count(6)  # the header and five pieces
    expect(evidence).to_contain_text("quiz-app")
    screenshot(page, "mastery-explanation")

    page.get_by_label("Note (required)").fill("")
    page.get_by_role("button", name="Save override").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
    expect(page.get_by_text("Write why you are overriding the status.")).to_be_visible()
    assert MasteryState.objects.get(student=world.s_a1_2, competency=cur.c["5.OA.1"]).override_status is None

    page.get_by_label("Status (required)").select_option(label="Mastered")
    page.get_by_label("Note (required)").fill("Solved three at the board without help.")
    page.get_by_role("button", name="Save override").click()
    expect(page.get_by_role("status")).to_contain_text("Override saved.")
    expect(page.get_by_role("heading", name="Teacher override: Mastered")).to_be_visible()
    expect(page.get_by_text("Solved three at the board without help.")).to_be_visible()
    expect(page.get_by_role("button", name="Lift override")).to_be_visible()
    screenshot(page, "mastery-override")

    page.goto(grid_url)
    second = grid.get_by_role("row").filter(has=page.get_by_role("rowheader", name="S s_a1_2"))
    expect(second.get_by_role("cell").locator(SHOWN)).to_have_text(["NR", "NS", "M*"])
    expect(second.get_by_role("link", name="Mastered, teacher override")).to_be_visible()
    screenshot(page, "mastery-grid-override")


def test_student_sees_their_mastery_on_their_profile_and_map(page, world, cur, live_server, screenshot):
    sign_in(page, "s_a1_1")
    expect(page).to_have_url(f"{live_server.url}/students/{world.s_a1_1.pk}/")
    card = page.get_by_role("region", name="Mastery")
    # Loaded by htmx into the card: the counts replace the plain link.
    expect(card.locator("dl")).to_contain_text("Mastered3")
    expect(card.locator("dl")).to_contain_text("Ready to learn3")
    screenshot(page, "mastery-student-profile")

    card.get_by_role("link", name=re.compile("Open the mastery map")).click()
    expect(page).to_have_url(f"{live_server.url}/students/{world.s_a1_1.pk}/mastery/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your mastery")
    row = page.get_by_role("row").filter(has_text="5.NF.2")
    expect(row).to_contain_text("Mastered")
    expect(row).to_contain_text("Teacher override")
    expect(page.get_by_role("row").filter(has_text="5.OA.1")).to_contain_text("Ready to learn")
    screenshot(page, "mastery-student-map")
