"""The section grid's CSV export: the same rows, columns and cells as the page for the same filters."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from tests.mastery.test_views import GRID_COLUMN, GRID_ROW, build_curriculum, build_states, html

CELL_TITLE = re.compile(r'<td class="mastery-cell[^"]*">\s*<a [^>]*title="([^"]*)"')
TOTALS = re.compile(r'<td class="mastery-grid__total">([^<]*)</td>')


@pytest.fixture
def cur(world):
    curriculum = build_curriculum(world)
    build_states(world, curriculum)
    return curriculum


def export_url(world, **params) -> str:
    return reverse("mastery-grid-export", args=[world.sections["A1"].pk]) + (
        "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    )


def csv_of(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def grid_cells(page: str) -> list[list[str]]:
    """The page's table as the export writes it: heading, a row per student (name, each cell's words as its
    title shows them) and the Mastered totals."""
    rows = [["Student", *GRID_COLUMN.findall(page)]]
    for name, cells in GRID_ROW.findall(page):
        rows.append([name, *(title.replace("&#x27;", "'") for title in CELL_TITLE.findall(cells))])
    tfoot = page[page.index("<tfoot>") : page.index("</tfoot>")]
    rows.append(["Mastered", *TOTALS.findall(tfoot)])
    return rows


@pytest.mark.parametrize("filters", [{}, {"strand": "5.OA"}, {"grade": 6}])
def test_the_csv_holds_exactly_the_cells_on_screen(client, world, cur, filters):
    client.force_login(world.t_a1)
    params = {k: (cur.c[v].pk if k == "strand" else v) for k, v in filters.items()}
    page_url = reverse("mastery-grid", args=[world.sections["A1"].pk])
    page = html(client.get(page_url, params))
    response = client.get(export_url(world, **params))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="a1-mastery-test-mathematics-grade-')
    assert csv_of(response) == grid_cells(page)


def test_the_csv_words_statuses_and_marks_overrides(client, world, cur):
    client.force_login(world.t_a1)
    assert csv_of(client.get(export_url(world))) == [
        ["Student", "5.NF.1", "5.NF.2", "5.OA.1"],
        ["S s_a1_1", "Mastered", "Mastered · Teacher override", "Not started"],
        ["S s_a1_2", "Needs review", "Not started", "In progress"],
        ["Mastered", "1", "1", "0"],
    ]


def test_the_page_links_to_the_export_with_its_filters(client, world, cur):
    client.force_login(world.t_a1)
    strand = cur.c["5.OA"].pk
    page = html(client.get(reverse("mastery-grid", args=[world.sections["A1"].pk]), {"strand": strand}))
    assert f'href="{export_url(world)}?framework={cur.math.pk}&amp;grade=5&amp;strand={strand}"' in page


@pytest.mark.parametrize(
    ("username", "status"), [("s_a1_1", 404), ("g_1", 404), ("t_a2", 404), ("p_b", 404), ("p_a", 200)]
)
def test_the_export_is_for_staff_who_see_the_section(client, world, cur, username, status):
    client.force_login(world.users[username])
    assert client.get(export_url(world)).status_code == status


def test_an_unknown_framework_is_404(client, world, cur):
    client.force_login(world.t_a1)
    assert client.get(export_url(world, framework=999_999)).status_code == 404


def test_a_name_a_spreadsheet_would_run_is_written_as_text(client, world, cur):
    student = world.s_a1_1
    student.first_name, student.last_name = '=HYPERLINK("http://x"', '"y")'
    student.save(update_fields=["first_name", "last_name"])
    client.force_login(world.t_a1)
    rows = csv_of(client.get(export_url(world)))
    names = [row[0] for row in rows[1:-1]]
    assert "'" + str(student) in names
    assert not any(name.startswith("=") for name in names)
