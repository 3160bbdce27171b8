"""Signing in and out through the real pages in Chromium; screenshots land in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from profiles.forms import SIGN_IN_FAILED
from tests.world import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # The page signing in leads to has loaded (and htmx has taken over its forms) before a test acts on it: a
    # key pressed earlier on a busy machine would post a form the plain way.
    page.wait_for_load_state("load")


def test_teacher_signs_in_sees_roster_and_opens_a_learner_profile(page, world, live_server, screenshot):
    sign_in(page, "t_a1")
    expect(page).to_have_url(f"{live_server.url}/teacher/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")  # the teacher's home (pathways)
    expect(page.get_by_role("heading", name="Your classes")).to_be_visible()
    expect(page.locator(".account__role")).to_have_text("Teacher")
    roster = page.get_by_role("table")
    expect(roster.get_by_role("rowheader")).to_have_text(["S s_a1_1", "S s_a1_2"])
    expect(roster).to_contain_text("extended time")
    expect(page.get_by_text("s_left")).to_have_count(0)
    screenshot(page, "teacher-home")

    page.get_by_role("link", name="S s_a1_1").click()
    expect(page).to_have_url(f"{live_server.url}/students/{world.s_a1_1.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("S s_a1_1")
    expect(page.get_by_role("heading", name="Strengths")).to_be_visible()
    expect(page.get_by_role("heading", name="Goal of s_a1_1")).to_be_visible()
    expect(page.get_by_role("link", name="Edit profile")).to_be_visible()
    screenshot(page, "teacher-student-profile")


def test_student_signs_in_and_sees_their_own_profile_and_goals(page, world, live_server, screenshot):
    sign_in(page, "s_a1_1")
    expect(page).to_have_url(f"{live_server.url}/students/{world.s_a1_1.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("S s_a1_1")
    expect(page.get_by_text("Your learner profile")).to_be_visible()
    goals = page.locator(".goal")
    expect(goals).to_have_count(1)
    expect(goals.first).to_contain_text("Goal of s_a1_1")
    expect(goals.first).to_contain_text("Active")
    expect(goals.first).to_contain_text("1 March 2027")
    expect(page.get_by_role("link", name="Edit profile")).to_have_count(0)
    screenshot(page, "student-profile")


def test_wrong_password_shows_one_clear_message(page, world, live_server):
    sign_in(page, "t_a1", "wrong-password")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("alert")).to_have_text(SIGN_IN_FAILED)
    expect(page.get_by_label("Username")).to_have_value("t_a1")
    expect(page.get_by_label("Password")).to_have_value("")


def test_sign_out_returns_to_the_sign_in_page(page, world, live_server):
    sign_in(page, "t_a1")
    expect(page).to_have_url(f"{live_server.url}/teacher/")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")
    page.goto("/teacher/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/teacher/")


def test_skip_link_is_the_first_stop_and_shows_focus(page, world, live_server):
    sign_in(page, "t_a1")
    expect(page).to_have_url(f"{live_server.url}/teacher/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    outline = skip.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
