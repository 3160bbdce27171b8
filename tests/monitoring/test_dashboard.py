"""The equity dashboard's pages and CSV export (monitoring/views.py), on snapshot rows written here by hand.

The rows (`build_equity`) are small and known, so every figure on the page is checked exactly:
school north-a of district North (tests/world.py), two snapshot dates in the school year (the term's first
snapshot FIRST and the latest LATEST) and one of the year before (BEFORE_TERM, which no page may use).

Suppression is decided by the nightly stage and stored with the rows; here the rows say it. Every suppressed row
carries counts whose figures would print as distinctive numbers (LEAKS): none of them may appear in a page or an
export.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from monitoring.models import EquitySnapshot, ImplementationSnapshot
from profiles.models import Section
from tests.world import World

BEFORE_TERM = datetime.date(2026, 6, 1)  # last school year: before the world's term (from 2026-08-24)
FIRST = datetime.date(2026, 9, 1)
MIDDLE = datetime.date(2026, 10, 1)
LATEST = datetime.date(2026, 11, 20)

# What the suppressed rows' true counts would print as (shares with one decimal, counts whole): none may appear.
LEAKS = ("62.3%", "53.8%", "71.4%", "69.2%", "33.3%", "57.1%", "84.6%", "81.8%", "18.2%", "90.9%", "72.7%")


# --- the rows ---------------------------------------------------------------------------------------------


def snapshot(
    *,
    school: Any,
    on: datetime.date,
    n: int,
    grade: int | None = None,
    section: Section | None = None,
    dimension: str = "all",
    value: str = "all",
    targets: int = 0,
    mastered: int = 0,
    growth: float | None = None,
    pacing: tuple[int, int, int, int] = (0, 0, 0, 0),
    below: int = 0,
    access: int = 0,
    alerts: int = 0,
    suppressed: bool = False,
    access_suppressed: bool = False,
    district: Any = None,
) -> EquitySnapshot:
    return EquitySnapshot.objects.create(
        date=on,
        district=district or school.district,
        school=school,
        grade=grade,
        section=section,
        dimension=dimension,
        value=value,
        n_students=n,
        grade_level_targets=targets,
        grade_level_targets_mastered=mastered,
        growth_median=growth,
        growth_distribution={},
        pacing_distribution=dict(zip(("ahead", "on_track", "at_risk", "off_track"), pacing, strict=True)),
        below_grade_count=below,
        access_count=access,
        open_alerts=alerts,
        suppressed=suppressed,
        access_suppressed=access_suppressed or suppressed,
    )


def implementation(
    *, school: Any, on: datetime.date, teachers: int, evidence: int, students: int, active: int, median: float | None
) -> ImplementationSnapshot:
    return ImplementationSnapshot.objects.create(
        date=on,
        district=school.district,
        school=school,
        teachers=teachers,
        teacher_evidence_week=evidence,
        students=students,
        students_with_evidence_week=active,
        alerts_acknowledged=0 if median is None else 4,
        acknowledge_days_median=median,
    )


@dataclass
class Equity:
    world: World
    school: Any
    district: Any
    a1: Section


def build_equity(world: World) -> Equity:
    school, north = world.schools["north-a"], world.districts["north"]
    a1 = world.sections["A1"]
    # The school, all grades, all students: last year (never shown), the term's first snapshot, a middle night and
    # the latest.
    snapshot(school=school, on=BEFORE_TERM, n=38, targets=100, mastered=99, growth=9.0, pacing=(1, 1, 1, 1))
    snapshot(
        school=school, on=FIRST, n=40, targets=400, mastered=100, growth=1.0, pacing=(10, 20, 5, 5), below=20,
        access=10, alerts=8,
    )  # fmt: skip
    snapshot(
        school=school, on=MIDDLE, n=40, targets=400, mastered=150, growth=2.0, pacing=(11, 20, 5, 4), below=20,
        access=12, alerts=7,
    )  # fmt: skip
    snapshot(
        school=school, on=LATEST, n=40, targets=400, mastered=200, growth=4.5, pacing=(12, 20, 4, 4), below=20,
        access=15, alerts=6,
    )  # fmt: skip
    # Its subgroups on the latest night: two sexes shown (one of them with nobody), two suppressed (a small one and
    # its complement), and English learners whose access figures are suppressed (a small below-grade group).
    snapshot(
        school=school, on=LATEST, dimension="sex", value="female", n=25, targets=250, mastered=100, growth=3.0,
        pacing=(5, 10, 5, 5), below=10, access=6, alerts=5,
    )  # fmt: skip
    snapshot(
        school=school,
        on=LATEST,
        dimension="sex",
        value="male",
        n=13,
        targets=130,
        mastered=80,
        growth=7.0,
        pacing=(7, 2, 3, 1),
        below=7,
        access=5,
        alerts=1,
        suppressed=True,
    )  # fmt: skip  (62.3% mastered, 53.8% below and ahead, 71.4% access, 69.2% on pace)
    snapshot(
        school=school,
        on=LATEST,
        dimension="sex",
        value="other",
        n=3,
        targets=30,
        mastered=10,
        growth=6.0,
        pacing=(1, 1, 0, 0),
        below=1,
        access=1,
        suppressed=True,
    )  # fmt: skip  (33.3% mastered and below)
    snapshot(school=school, on=LATEST, dimension="sex", value="unspecified", n=0)
    snapshot(
        school=school,
        on=LATEST,
        dimension="english_learner",
        value="yes",
        n=14,
        targets=140,
        mastered=70,
        growth=4.0,
        pacing=(6, 5, 2, 1),
        below=7,
        access=4,
        alerts=2,
        access_suppressed=True,
    )  # fmt: skip  (50.0% below, 57.1% access)
    snapshot(
        school=school,
        on=LATEST,
        dimension="english_learner",
        value="no",
        n=26,
        targets=260,
        mastered=130,
        growth=5.0,
        pacing=(8, 16, 1, 1),
        below=13,
        access=11,
        alerts=4,
        access_suppressed=True,
    )  # fmt: skip  (84.6% access)
    # Grades 5 and 6 (all students) on both nights, and grade 5's subgroups on the latest.
    for on, mastered in ((FIRST, 60), (LATEST, 150)):
        snapshot(
            school=school, on=on, grade=5, n=30, targets=300, mastered=mastered, growth=4.0, pacing=(9, 15, 3, 3),
            below=15, access=12, alerts=3,
        )  # fmt: skip
        snapshot(
            school=school, on=on, grade=6, n=10, targets=100, mastered=50, growth=5.0, pacing=(3, 5, 1, 1), below=5,
            access=3, alerts=3, access_suppressed=True,
        )  # fmt: skip
    snapshot(
        school=school,
        on=LATEST,
        grade=5,
        dimension="iep",
        value="yes",
        n=11,
        targets=110,
        mastered=90,
        pacing=(8, 2, 1, 0),
        below=2,
        access=2,
        suppressed=True,
    )  # fmt: skip  (81.8% mastered, 18.2% below, 90.9% on pace, 72.7% ahead)
    snapshot(
        school=school, on=LATEST, grade=5, dimension="iep", value="no", n=19, targets=190, mastered=60, growth=3.0,
        pacing=(1, 13, 2, 3), below=13, access=10, alerts=2,
    )  # fmt: skip
    # Section A1 (grade 5), all students only: a section row is never by subgroup.
    for on, access in ((FIRST, 4), (LATEST, 8)):
        snapshot(
            school=school, on=on, grade=5, section=a1, n=20, targets=200, mastered=100, growth=4.0,
            pacing=(5, 10, 3, 2), below=10, access=access, alerts=2,
        )  # fmt: skip
    # The district as a whole, and the other school of it.
    for on, access in ((FIRST, 10), (LATEST, 30)):
        snapshot(
            school=None, district=north, on=on, n=60, targets=600, mastered=300, growth=4.0,
            pacing=(20, 20, 10, 10), below=40, access=access, alerts=12,
        )  # fmt: skip
    snapshot(
        school=None, district=north, on=LATEST, dimension="sex", value="female", n=35, targets=350, mastered=210,
        growth=5.0, pacing=(10, 10, 10, 5), below=20, access=16, alerts=6,
    )  # fmt: skip
    snapshot(
        school=world.schools["north-b"], on=LATEST, n=20, targets=200, mastered=50, growth=2.0,
        pacing=(2, 8, 5, 5), below=20, access=15, alerts=6,
    )  # fmt: skip
    # Implementation health: the school on both nights, A1 on the latest, the district on the latest.
    implementation(school=school, on=FIRST, teachers=2, evidence=10, students=40, active=20, median=None)
    implementation(school=school, on=LATEST, teachers=2, evidence=30, students=40, active=30, median=2.5)
    ImplementationSnapshot.objects.create(
        date=LATEST, district=north, school=school, section=a1, teachers=1, teacher_evidence_week=12, students=20,
        students_with_evidence_week=18, alerts_acknowledged=1, acknowledge_days_median=1.0,
    )  # fmt: skip
    ImplementationSnapshot.objects.create(
        date=LATEST, district=north, school=None, teachers=3, teacher_evidence_week=45, students=60,
        students_with_evidence_week=40, alerts_acknowledged=0,
    )  # fmt: skip
    return Equity(world=world, school=school, district=north, a1=a1)


@pytest.fixture
def equity(world: World) -> Equity:
    return build_equity(world)


# --- reading a page -----------------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """Every <table> of a page: its caption, then each row's cells as text (header row included)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._row: list[str] | None = None
        self._text: list[str] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = []
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._text is not None:
            self._row.append(" ".join("".join(self._text).split()))
            self._text = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "caption" and self._caption is not None:
            self._name = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag == "table" and self._table is not None:
            self.tables[self._name] = self._table
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)
        elif self._caption is not None:
            self._caption.append(data)


def page_tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def csv_tables(content: str) -> dict[str, list[list[str]]]:
    """The export's tables: after the summary rows, each is a blank row, its caption, its header and its rows."""
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    tables: dict[str, list[list[str]]] = {}
    index = 0
    while index < len(rows):
        if rows[index]:  # a summary row
            index += 1
            continue
        caption, body = rows[index + 1][0], []
        index += 2
        while index < len(rows) and rows[index]:
            body.append(rows[index])
            index += 1
        tables[caption] = body
    return tables


def as_on_page(cell: str) -> str:
    return "Suppressed (small group)" if cell == "suppressed" else cell


def get(client, name: str, *args: Any, **query: str):
    return client.get(reverse(name, args=args), query)


def school_url(equity: Equity) -> str:
    return reverse("equity-school", args=[equity.school.pk])


# --- the school page: exact figures ------------------------------------------------------------------------


def test_school_page_headline_figures_and_changes_since_the_terms_first_snapshot(client, equity):
    client.force_login(equity.world.users["p_a"])
    response = client.get(school_url(equity))
    assert response.status_code == 200
    tables = page_tables(response.content.decode())
    assert tables["Headline figures, all students, as of 2026-11-20"] == [
        ["Figure", "Now (2026-11-20)", "Term's first snapshot (2026-09-01)", "Change"],
        ["Students", "40", "40", "no change"],
        ["Access to grade-level work", "75.0%", "50.0%", "up 25.0 pts"],
        ["Grade-level targets mastered", "50.0%", "25.0%", "up 25.0 pts"],
        ["Growth (median competencies mastered since the term start)", "4.5", "1.0", "up 3.5"],
        ["On pace (ahead or on track)", "80.0%", "75.0%", "up 5.0 pts"],
        ["Working below grade level", "50.0%", "50.0%", "no change"],
        ["Open alerts per 100 students", "15.0", "20.0", "down 5.0"],
    ]
    assert tables["Pacing of the students with a paced path, all students, as of 2026-11-20"][1:] == [
        ["Ahead", "30.0%", "25.0%", "up 5.0 pts"],
        ["On track", "50.0%", "50.0%", "no change"],
        ["At risk", "10.0%", "12.5%", "down 2.5 pts"],
        ["Off track", "10.0%", "12.5%", "down 2.5 pts"],
    ]
    assert tables["Implementation health of the school, as of 2026-11-20"][1:] == [
        ["Evidence recorded per teacher per week", "15.0", "5.0", "up 10.0"],
        ["Students with evidence this week", "75.0%", "50.0%", "up 25.0 pts"],
        ["Median days to acknowledge an alert", "2.5", "No data", "No data"],
    ]
    assert tables["Grades, all students, as of 2026-11-20"] == [
        [
            "Grade",
            "Students",
            "Access to grade-level work",
            "Grade-level targets mastered",
            "Growth (median)",
            "On pace",
            "Below grade level",
            "Open alerts per 100",
        ],
        ["Grade 5", "30", "80.0%", "50.0%", "4.0", "80.0%", "50.0%", "10.0"],
        ["Grade 6", "10", "Suppressed (small group)", "50.0%", "5.0", "80.0%", "Suppressed (small group)", "30.0"],
    ]


def test_gap_table_by_subgroup_with_suppressed_and_empty_groups(client, equity):
    client.force_login(equity.world.users["p_a"])
    tables = page_tables(client.get(school_url(equity)).content.decode())
    caption = "Access to grade-level work by subgroup, and the gap against all students, as of 2026-11-20"
    assert tables[caption] == [
        ["Group", "Students", "Access to grade-level work", "Gap vs all students (percentage points)"],
        ["All students", "40", "75.0%", "(reference)"],
        ["Sex: Female", "25", "60.0%", "15.0 pts below"],
        ["Sex: Male", "Suppressed (small group)", "Suppressed (small group)", "Suppressed (small group)"],
        ["Sex: Other", "Suppressed (small group)", "Suppressed (small group)", "Suppressed (small group)"],
        ["Sex: Unspecified", "0", "No data", "No data"],
        ["English learner: Yes", "14", "Suppressed (small group)", "Suppressed (small group)"],
        ["English learner: No", "26", "Suppressed (small group)", "Suppressed (small group)"],
    ]


def test_the_metric_choice_changes_the_gap_and_trend_tables(client, equity):
    client.force_login(equity.world.users["p_a"])
    response = client.get(school_url(equity), {"metric": "grade_level_mastered"})
    tables = page_tables(response.content.decode())
    caption = "Grade-level targets mastered by subgroup, and the gap against all students, as of 2026-11-20"
    assert [row[2:] for row in tables[caption][1:]] == [
        ["50.0%", "(reference)"],
        ["40.0%", "10.0 pts below"],
        ["Suppressed (small group)", "Suppressed (small group)"],
        ["Suppressed (small group)", "Suppressed (small group)"],
        ["No data", "No data"],
        ["50.0%", "same"],  # access-suppressed only: mastery is shown
        ["50.0%", "same"],
    ]
    assert tables["Grade-level targets mastered, all students, each snapshot since 2026-09-01"] == [
        ["Date", "Students", "Grade-level targets mastered"],
        ["2026-09-01", "40", "25.0%"],
        ["2026-10-01", "40", "37.5%"],
        ["2026-11-20", "40", "50.0%"],
    ]
    # An unknown figure falls back to the equity headline.
    fallback = page_tables(client.get(school_url(equity), {"metric": "nonsense"}).content.decode())
    assert "Access to grade-level work, all students, each snapshot since 2026-09-01" in fallback


def test_charts_carry_the_tables_numbers_and_leave_suppressed_groups_out(client, equity):
    client.force_login(equity.world.users["p_a"])
    response = client.get(school_url(equity))
    html = response.content.decode()
    gaps = _json_script(html, "chart-gaps-data")
    assert gaps == {
        "labels": [
            "Sex: Female",
            "Sex: Male",
            "Sex: Other",
            "Sex: Unspecified",
            "English learner: Yes",
            "English learner: No",
        ],
        "values": [-15.0, None, None, None, None, None],
        "notes": ["", "suppressed", "suppressed", "no data", "suppressed", "suppressed"],
        "axis": "Gap vs all students (percentage points)",
    }
    trend = _json_script(html, "chart-trend-data")
    assert trend == {
        "dates": ["2026-09-01", "2026-10-01", "2026-11-20"],
        "values": [50.0, 60.0, 75.0],
        "axis": "Access to grade-level work (%)",
    }
    # Each chart has its accessible name, its "as of" time, and its table beside it; the library is ours.
    assert html.count('role="img"') == 2
    assert html.count("As of 20 November 2026") == 2
    assert re.search(r'<script src="/static/plotly/plotly\.min\.js"', html)
    assert re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html) is None
    assert finders.find("plotly/plotly.min.js") is not None
    assert finders.find("monitoring/dashboard.js") is not None


def _json_script(html: str, element_id: str) -> Any:
    import json

    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.DOTALL)
    assert found, element_id
    return json.loads(found.group(1))


# --- suppression: nothing of a suppressed cell anywhere --------------------------------------------------------


@pytest.mark.parametrize("metric", ["access", "grade_level_mastered", "below_grade", "on_pace", "growth_median"])
def test_suppressed_cells_expose_no_value_or_count_in_the_page_or_the_export(client, equity, metric):
    client.force_login(equity.world.users["p_a"])
    for url in (school_url(equity), reverse("equity-grade", args=[equity.school.pk, 5])):
        html = client.get(url, {"metric": metric}).content.decode()
        exported = client.get(url, {"metric": metric, "format": "csv"}).content.decode()
        for leak in LEAKS:
            assert leak not in html, (url, leak)
            assert leak not in exported, (url, leak)
        for row in (*_rows_of(html, "Sex: Male"), *_rows_of(html, "Sex: Other"), *_rows_of(html, "IEP: Yes")):
            assert set(row[1:]) == {"Suppressed (small group)"}
        for row in csv.reader(io.StringIO(exported)):
            if row and row[0] in ("Sex: Male", "Sex: Other", "IEP: Yes"):
                assert set(row[1:]) == {"suppressed"}


def _rows_of(html: str, header: str) -> list[list[str]]:
    return [row for table in page_tables(html).values() for row in table if row and row[0] == header]


# --- the CSV export matches the page cell for cell ----------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "url"),
    [
        ("p_a", lambda e: reverse("equity-school", args=[e.school.pk])),
        ("p_a", lambda e: reverse("equity-grade", args=[e.school.pk, 5])),
        ("p_a", lambda e: reverse("equity-section", args=[e.a1.pk])),
        ("admin_north", lambda e: reverse("equity-district", args=[e.district.pk])),
    ],
    ids=["school", "grade", "section", "district"],
)
@pytest.mark.parametrize("metric", ["access", "open_alerts_per_100"])
def test_the_csv_export_is_the_pages_tables_cell_for_cell(client, equity, user, url, metric):
    client.force_login(equity.world.users[user])
    page = client.get(url(equity), {"metric": metric})
    export = client.get(url(equity), {"metric": metric, "format": "csv"})
    assert export.status_code == 200
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    assert export["Content-Disposition"].startswith('attachment; filename="equity-')
    on_page = page_tables(page.content.decode())
    exported = csv_tables(export.content.decode("utf-8"))
    assert list(exported) == list(on_page)
    for caption, rows in exported.items():
        assert [[as_on_page(cell) for cell in row] for row in rows] == on_page[caption], caption
    assert len(on_page) >= 4


def test_the_export_starts_with_what_the_page_says_above_its_tables(client, equity):
    client.force_login(equity.world.users["p_a"])
    rows = list(csv.reader(io.StringIO(client.get(school_url(equity), {"format": "csv"}).content.decode())))
    assert rows[:6] == [
        ["\ufeffEquity dashboard", "North-A"],
        ["As of", "2026-11-20"],
        ["Computed at", rows[2][1]],
        ["Changes since (the term's first snapshot)", "2026-09-01"],
        ["Selected figure", "Access to grade-level work"],
        ["Smallest group shown", "10 students"],
    ]
    html = client.get(school_url(equity)).content.decode()
    assert f"<dd>{rows[2][1]}</dd>" in html


# --- drill-down --------------------------------------------------------------------------------------------


def test_drill_down_from_district_to_school_to_grade_to_section(client, equity):
    client.force_login(equity.world.users["admin_north"])
    district = client.get(reverse("equity-district", args=[equity.district.pk])).content.decode()
    schools = page_tables(district)["Schools, all students, as of 2026-11-20"]
    assert [row[:3] for row in schools] == [
        ["School", "Students", "Access to grade-level work"],
        ["North-A", "40", "75.0%"],
        ["North-B", "20", "75.0%"],
    ]
    assert page_tables(district)["Headline figures, all students, as of 2026-11-20"][2] == [
        "Access to grade-level work",
        "75.0%",
        "25.0%",
        "up 50.0 pts",
    ]
    assert f'href="{school_url(equity)}?metric=access"' in district
    school = client.get(school_url(equity)).content.decode()
    grade_url = reverse("equity-grade", args=[equity.school.pk, 5])
    assert f'href="{grade_url}?metric=access"' in school
    grade = client.get(grade_url).content.decode()
    tables = page_tables(grade)
    assert tables["Sections, all students, as of 2026-11-20"][1][:3] == ["Math A1", "20", "80.0%"]
    assert tables["Implementation health of the sections of this grade, as of 2026-11-20"][1:] == [
        ["Math A1", "12.0", "90.0%", "1.0"]
    ]
    assert tables["Headline figures, all students, as of 2026-11-20"][3] == [
        "Grade-level targets mastered",
        "50.0%",
        "20.0%",
        "up 30.0 pts",
    ]
    section_url = reverse("equity-section", args=[equity.a1.pk])
    assert f'href="{section_url}?metric=access"' in grade
    section = client.get(section_url).content.decode()
    assert page_tables(section)["Headline figures, all students, as of 2026-11-20"][2] == [
        "Access to grade-level work",
        "80.0%",
        "40.0%",
        "up 40.0 pts",
    ]


def test_a_section_page_shows_aggregates_only_never_subgroups(client, equity):
    client.force_login(equity.world.users["p_a"])
    html = client.get(reverse("equity-section", args=[equity.a1.pk])).content.decode()
    assert "by subgroup" not in html
    assert 'id="chart-gaps-data"' not in html
    for word in ("Female", "Male", "English learner", "IEP"):
        assert word not in html


def test_the_trend_starts_at_the_terms_first_snapshot(client, equity):
    client.force_login(equity.world.users["p_a"])
    tables = page_tables(client.get(school_url(equity)).content.decode())
    trend = tables["Access to grade-level work, all students, each snapshot since 2026-09-01"]
    assert [row[0] for row in trend[1:]] == ["2026-09-01", "2026-10-01", "2026-11-20"]  # never 2026-06-01


def test_a_page_without_snapshots_says_so(client, world):
    client.force_login(world.users["p_a"])
    response = client.get(reverse("equity-school", args=[world.schools["north-a"].pk]))
    assert response.status_code == 200
    assert "No snapshot yet" in response.content.decode()
    assert page_tables(response.content.decode()) == {}


# --- who sees it ---------------------------------------------------------------------------------------------


def _urls(equity: Equity) -> list[str]:
    return [
        reverse("equity-dashboard"),
        reverse("equity-district", args=[equity.district.pk]),
        school_url(equity),
        reverse("equity-grade", args=[equity.school.pk, 5]),
        reverse("equity-section", args=[equity.a1.pk]),
    ]


@pytest.mark.parametrize("username", ["t_a1", "t_a2", "s_a1_1", "g_1"])
def test_teachers_students_and_guardians_are_refused_every_page_and_export(client, equity, username):
    client.force_login(equity.world.users[username])
    before = (EquitySnapshot.objects.count(), ImplementationSnapshot.objects.count())
    for url in _urls(equity):
        for query in ({}, {"format": "csv"}):
            response = client.get(url, query)
            assert response.status_code == 403, url
            assert "for principals and district administrators" in response.content.decode()
            assert "75.0%" not in response.content.decode()
        assert client.post(url).status_code == 405
    assert (EquitySnapshot.objects.count(), ImplementationSnapshot.objects.count()) == before


@pytest.mark.parametrize(
    ("username", "allowed"),
    [
        ("p_a", {"school", "grade", "section"}),
        ("p_b", set()),
        ("admin_north", {"district", "school", "grade", "section"}),
        ("admin_south", set()),
    ],
)
def test_principals_and_admins_see_their_scope_and_404_elsewhere(client, equity, username, allowed):
    client.force_login(equity.world.users[username])
    pages = dict(zip(("district", "school", "grade", "section"), _urls(equity)[1:], strict=True))
    statuses = {name: client.get(url).status_code for name, url in pages.items()}
    assert statuses == {name: 200 if name in allowed else 404 for name in pages}


def test_unknown_ids_and_grades_outside_the_school_are_404(client, equity):
    client.force_login(equity.world.users["admin_north"])
    assert client.get(reverse("equity-district", args=[999999])).status_code == 404
    assert client.get(reverse("equity-school", args=[999999])).status_code == 404
    assert client.get(reverse("equity-section", args=[999999])).status_code == 404
    assert client.get(reverse("equity-grade", args=[equity.school.pk, 9])).status_code == 404  # grades 3-8
    assert client.get(reverse("equity-grade", args=[equity.school.pk, 2])).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, equity):
    for url in _urls(equity):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("username", "lands_on"),
    [
        ("p_a", lambda e: school_url(e)),
        ("admin_north", lambda e: reverse("equity-district", args=[e.district.pk])),
    ],
)
def test_the_dashboard_link_lands_on_the_users_own_scope(client, equity, username, lands_on):
    client.force_login(equity.world.users[username])
    response = client.get(reverse("equity-dashboard"))
    assert response.status_code == 302
    assert response["Location"] == lands_on(equity)


def test_the_site_chrome_links_the_dashboard_for_principals_and_admins_only(client, equity):
    link = f'<a href="{reverse("equity-dashboard")}">Equity dashboard</a>'
    for username, shown in (("p_a", True), ("admin_north", True), ("t_a1", False), ("s_a1_1", False)):
        client.force_login(equity.world.users[username])
        home = client.get(reverse("home"), follow=True)
        assert (link in home.content.decode()) == shown, username


def test_the_breadcrumb_starts_at_the_district_only_for_its_admins(client, equity):
    district_url = reverse("equity-district", args=[equity.district.pk])
    client.force_login(equity.world.users["p_a"])
    assert district_url not in client.get(reverse("equity-section", args=[equity.a1.pk])).content.decode()
    client.force_login(equity.world.users["admin_north"])
    assert f'href="{district_url}?metric=access"' in client.get(school_url(equity)).content.decode()


# --- reading: a few queries, whatever the district's size ------------------------------------------------------


def _more_history(equity: Equity, nights: int) -> None:
    """More nights, grades and sections: the pages must not read more queries for them."""
    school = equity.school
    for day in range(nights):
        on = FIRST + datetime.timedelta(days=day + 1)
        snapshot(school=school, on=on, n=40, targets=400, mastered=120, pacing=(1, 1, 1, 1))
        snapshot(school=school, on=on, grade=5, n=30, targets=300, mastered=90)
        snapshot(school=None, district=equity.district, on=on, n=60, targets=600, mastered=300)
    for grade in (3, 4, 7, 8):
        snapshot(school=school, on=LATEST, grade=grade, n=12, targets=120, mastered=60)
    for code in ("A3", "A4", "A5"):
        section = Section.objects.create(
            school=school, term=equity.a1.term, code=code, name=f"Math {code}", grade_level=5
        )
        snapshot(school=school, on=LATEST, grade=5, section=section, n=15, targets=150, mastered=75)


PAGE_QUERIES = {
    # session, user, roles; then the district or school or section; the three dates; the trend rows; the
    # implementation rows; the page's rows of the latest date; and per level:
    "district": 3 + 1 + 3 + 1 + 1 + 1 + 2,  # + its schools, + whether the viewer sees the district (breadcrumb)
    "school": 3 + 1 + 3 + 1 + 1 + 1 + 1,  # + breadcrumb
    "grade": 3 + 1 + 3 + 1 + 1 + 1 + 2,  # + the sections' implementation rows, + breadcrumb
    "section": 3 + 1 + 3 + 1 + 1 + 1,  # + breadcrumb; the section's rows are the trend's
}


@pytest.mark.parametrize("level", list(PAGE_QUERIES))
def test_each_page_reads_a_fixed_number_of_queries(client, equity, django_assert_num_queries, level):
    client.force_login(equity.world.users["admin_north"])
    url = dict(zip(("district", "school", "grade", "section"), _urls(equity)[1:], strict=True))[level]
    with django_assert_num_queries(PAGE_QUERIES[level]):
        assert client.get(url).status_code == 200
    _more_history(equity, nights=15)
    with django_assert_num_queries(PAGE_QUERIES[level]):
        assert client.get(url).status_code == 200
