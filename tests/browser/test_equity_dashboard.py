"""The equity dashboard in Chromium: the principal signs in, reads the gap chart and its table, drills down to a
grade and a section and downloads the CSV, whose cells are the page's; teachers and students are refused.

The snapshot rows are those of tests/monitoring/test_dashboard.py (`build_equity`). The `page` fixture fails a
test if the page asks any host but the live server for anything (plotly.js is served by us).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_sign_in import sign_in
from tests.monitoring.test_dashboard import Equity, build_equity, csv_tables

pytestmark = pytest.mark.browser

GAPS = "Access to grade-level work by subgroup, and the gap against all students, as of 2026-11-20"


@pytest.fixture
def equity(world) -> Equity:
    return build_equity(world)


# A table's rows, each cell's text with its whitespace collapsed (textContent: CSS may upper-case headings).
ROWS_AS_TEXT = "(t => [...t.rows].map(r => [...r.cells].map(c => c.textContent.replace(/\\s+/g, ' ').trim())))"


def table_cells(page, caption: str) -> list[list[str]]:
    """The rows of the table with this caption, each cell's text as the browser renders it."""
    table = page.locator("table", has=page.locator("caption", has_text=caption))
    return table.evaluate(f"t => {ROWS_AS_TEXT}(t)")


def all_tables(page) -> dict[str, list[list[str]]]:
    return page.evaluate(
        f"() => Object.fromEntries([...document.querySelectorAll('table')].map(t => [t.caption.textContent.trim(), "
        f"{ROWS_AS_TEXT}(t)]))"
    )


def test_principal_reads_the_gap_chart_drills_down_and_downloads_the_csv(page, equity, live_server, screenshot):
    sign_in(page, "p_a")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Equity dashboard").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/schools/{equity.school.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Equity dashboard: North-A")

    # The gap chart is drawn (by plotly, from our own static files) and its table says the same in words.
    gaps = page.locator('[data-chart="gaps"]')
    expect(gaps).to_have_attribute("data-drawn", "true")
    expect(gaps.locator("svg.main-svg").first).to_be_visible()
    expect(gaps).to_have_attribute("aria-label", re.compile("^Bar chart: gap of each subgroup"))
    expect(gaps.get_by_text("suppressed")).to_have_count(4)  # the four suppressed groups, marked in the chart
    assert table_cells(page, GAPS)[1:4] == [
        ["All students", "40", "75.0%", "(reference)"],
        ["Sex: Female", "25", "60.0%", "15.0 pts below"],
        ["Sex: Male", "Suppressed (small group)", "Suppressed (small group)", "Suppressed (small group)"],
    ]
    expect(page.get_by_role("region", name=GAPS)).to_be_visible()  # the table's scrollable region is named
    screenshot(page, "equity-school")

    # Another figure for the charts.
    page.get_by_label("Figure shown in the gap and trend charts").select_option("grade_level_mastered")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"\?metric=grade_level_mastered$"))
    expect(page.get_by_role("heading", name="Gaps by subgroup: Grade-level targets mastered")).to_be_visible()

    # Drill down: grade 5, then section A1 (aggregates only).
    page.get_by_role("link", name="Grade 5", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Equity dashboard: Grade 5, North-A")
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_contain_text("North-A")
    page.get_by_role("table", name=re.compile("^Sections")).get_by_role("link", name="Math A1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Equity dashboard: Math A1 (North-A)")
    expect(page.get_by_text("by subgroup")).to_have_count(0)
    expect(page.locator('[data-chart="trend"]')).to_have_attribute("data-drawn", "true")
    headline = table_cells(page, "Headline figures, all students, as of 2026-11-20")
    assert headline[2] == ["Access to grade-level work", "80.0%", "40.0%", "up 40.0 pts"]

    # The CSV of this view: the page's tables, cell for cell.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download this view as CSV").click()
    download = download_info.value
    assert download.suggested_filename == "equity-math-a1-north-a-2026-11-20-grade_level_mastered.csv"
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    exported = csv_tables(content)
    on_page = all_tables(page)
    assert list(exported) == list(on_page)
    for caption, rows in exported.items():
        shown = [["Suppressed (small group)" if cell == "suppressed" else cell for cell in row] for row in rows]
        assert shown == on_page[caption], caption
    assert next(csv.reader(io.StringIO(content))) == ["Equity dashboard", "Math A1 (North-A)"]


@pytest.mark.parametrize("username", ["t_a1", "s_a1_1"])
def test_a_teacher_and_a_student_are_refused_the_dashboard(page, equity, live_server, username):
    sign_in(page, username)
    expect(page.get_by_role("link", name="Equity dashboard")).to_have_count(0)
    for url in (f"/dashboard/schools/{equity.school.pk}/", f"/dashboard/sections/{equity.a1.pk}/", "/dashboard/"):
        response = page.goto(url)
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("You can't do this here")
        expect(page.get_by_text("The equity dashboard is for principals and district administrators.")).to_be_visible()
        expect(page.get_by_text("75.0%")).to_have_count(0)
