"""A district admin uploads a OneRoster zip in Chromium, reads the preview, and applies it."""

from __future__ import annotations

import re
import zipfile

import pytest
from playwright.sync_api import expect

from profiles.imports import uploads
from profiles.models import Enrollment, User
from tests.browser.test_sign_in import sign_in
from tests.shared_data import shared_path

pytestmark = pytest.mark.browser


def test_admin_previews_then_applies_a_roster(page, world, live_server, tmp_path, screenshot, monkeypatch):
    monkeypatch.setattr(uploads, "FOLDER", tmp_path / "uploads")  # the live server runs in this process
    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for child in sorted(shared_path("samples", "oneroster", "edfi-lms-toolkit-v1p1").glob("*.csv")):
            out.write(child, child.name)
    sign_in(page, "admin_north")
    page.goto(f"/districts/{world.districts['north'].pk}/oneroster/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import a OneRoster roster")

    page.get_by_label("OneRoster CSV zip").set_input_files(str(archive))
    page.get_by_label("Source name").fill("classlink")
    page.get_by_role("button", name="Preview the import").click()

    expect(page.get_by_role("heading", name="Preview: nothing written yet")).to_be_visible()
    expect(page.get_by_role("list", name="Stages").get_by_role("listitem")).to_have_text(
        ["parsed", "validated", "previewed"]
    )
    counts = page.locator("#import-counts")
    expect(counts.get_by_role("row", name=re.compile(r"^Enrollments"))).to_contain_text("12")
    assert User.objects.filter(username="Mary Archer").count() == 0
    screenshot(page, "oneroster-preview")

    page.get_by_role("button", name="Apply this import").click()

    expect(page.get_by_role("heading", name="Imported")).to_be_visible()
    expect(page.get_by_role("list", name="Stages").get_by_role("listitem")).to_have_text(
        ["parsed", "validated", "previewed", "applied"]
    )
    assert User.objects.filter(username="Mary Archer").count() == 1
    assert (
        Enrollment.objects.filter(
            section__school__district=world.districts["north"], user__username="Mary Archer"
        ).count()
        == 2
    )
    screenshot(page, "oneroster-applied")
