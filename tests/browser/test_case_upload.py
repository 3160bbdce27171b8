"""CASE upload in Chromium: a district admin opens the frameworks page, uploads a real CASE 1.0 export, reads
the report and the warnings, finds the framework in the table with its download link (which answers CASE
JSON), then uploads a broken file and is told which JSON path is wrong while nothing is stored.
Screenshots land in test-artifacts/."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from mastery.models import Competency, Framework
from tests.browser.test_sign_in import sign_in
from tests.mastery.test_case_support import WSCB, package, sample

pytestmark = pytest.mark.browser


def test_district_admin_uploads_a_case_file_and_downloads_it_back(page, world, live_server, screenshot):
    sign_in(page, "admin_north")
    page.goto("/frameworks/case-import/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Frameworks (CASE)")
    expect(page.get_by_text("No frameworks yet.")).to_be_visible()

    page.get_by_label("CASE JSON file").set_input_files(str(sample(WSCB)))
    page.get_by_role("button", name="Import the framework").click()
    expect(page.get_by_role("heading", name="Imported “What Standards Could Be”")).to_be_visible()
    expect(page.locator("#import-report li")).to_have_text(
        [
            f"framework created (id {Framework.objects.get().pk})",
            "competencies: 16 created, 0 updated, 0 deprecated",
            "prerequisite edges: 2 created (0 of them waited for this framework)",
            "aliases (exactMatchOf): 16 created, 0 removed",
            "associations waiting for another framework: 1 stored, 0 no longer waiting",
        ]
    )
    page.get_by_text("3 warnings (read through, not fatal)").click()
    expect(page.locator("#import-warnings li").first).to_contain_text("[educationalLevel_used]")
    row = page.get_by_role("row", name="What Standards Could Be")
    expect(row.get_by_role("cell")).to_have_text(
        ["Unspecified", "6–7", "16", "0", "Download What Standards Could Be as CASE JSON"]
    )
    screenshot(page, "case-upload-imported")

    href = row.get_by_role("link").get_attribute("href")
    body = page.request.get(f"{live_server.url}{href}")
    assert body.status == 200
    assert len(json.loads(body.body())["CFItems"]) == 16

    page.get_by_label("CASE JSON file").set_input_files(
        files=[
            {
                "name": "broken.json",
                "mimeType": "application/json",
                "buffer": package("doc-b", [{"identifier": "x"}], []),
            }
        ]
    )
    page.get_by_role("button", name="Import the framework").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was imported.")
    expect(page.locator("#import-errors li")).to_have_text(["CFItems[0].fullStatement (x): is required [required]"])
    screenshot(page, "case-upload-refused")
    assert (Framework.objects.count(), Competency.objects.count()) == (1, 16)
