"""A district admin uploads a OneRoster zip in Chromium, reads the preview, and applies it."""

from __future__ import annotations

import re
import threading
import zipfile

import pytest
from playwright.sync_api import expect

from profiles import views
from profiles.imports import uploads
from profiles.models import Enrollment, User
from tests.browser.test_sign_in import sign_in
from tests.shared_data import shared_path

pytestmark = pytest.mark.browser


def edfi_zip(folder):
    """The Ed-Fi toolkit's OneRoster 1.1 sample as the zip an admin would upload."""
    archive = folder / "roster.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for child in sorted(shared_path("samples", "oneroster", "edfi-lms-toolkit-v1p1").glob("*.csv")):
            out.write(child, child.name)
    return archive


def test_admin_previews_then_applies_a_roster(page, world, live_server, tmp_path, screenshot, monkeypatch):
    monkeypatch.setattr(uploads, "FOLDER", tmp_path / "uploads")  # the live server runs in this process
    archive = edfi_zip(tmp_path)
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


def test_the_page_shows_the_upload_then_the_server_at_work_and_focuses_the_report(
    page, world, live_server, tmp_path, monkeypatch
):
    """htmx posts the zip; while the (slowed) preview runs, the button is disabled and the status says the
    files are being checked; the answer replaces the page's main part and its report heading takes the focus."""
    monkeypatch.setattr(uploads, "FOLDER", tmp_path / "uploads")
    real_import = views.import_oneroster
    started = threading.Event()
    release = threading.Event()

    def slow_import(*args, **kwargs):
        started.set()
        release.wait(timeout=30)
        return real_import(*args, **kwargs)

    monkeypatch.setattr(views, "import_oneroster", slow_import)
    archive = edfi_zip(tmp_path)
    sign_in(page, "admin_north")
    page.goto(f"/districts/{world.districts['north'].pk}/oneroster/")
    status = page.locator("#upload-progress-text")
    expect(status).to_be_hidden()
    page.get_by_label("OneRoster CSV zip").set_input_files(str(archive))
    page.get_by_label("Source name").fill("classlink")
    button = page.get_by_role("button", name="Preview the import")
    button.click()

    assert started.wait(timeout=30)
    expect(status).to_have_text("Reading, checking and previewing the files: a large district takes about a minute.")
    expect(button).to_be_disabled()
    assert page.locator("[data-progress-panel] progress").first.get_attribute("value") is None  # indeterminate
    release.set()

    heading = page.get_by_role("heading", name="Preview: nothing written yet")
    expect(heading).to_be_focused()
    expect(page.get_by_role("list", name="Stages").get_by_role("listitem")).to_have_text(
        ["parsed", "validated", "previewed"]
    )
    assert page.url.endswith(f"/districts/{world.districts['north'].pk}/oneroster/")
    assert User.objects.filter(username="Mary Archer").count() == 0

    release.clear()
    started.clear()
    page.get_by_role("button", name="Apply this import").click()
    assert started.wait(timeout=30)
    expect(page.locator("#apply-progress-text")).to_have_text(
        "Applying the import in one transaction: a large district takes a minute or two."
    )
    release.set()
    expect(page.get_by_role("heading", name="Imported")).to_be_focused()
    assert User.objects.filter(username="Mary Archer").count() == 1
