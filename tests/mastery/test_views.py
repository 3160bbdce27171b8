"""The mastery pages through the Django test client: the section grid, the student map and its summary, the
explanation with the teacher's override. Mastery states are built directly (no recompute engine)."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mastery.models import Competency, Evidence, Framework, MasteryPolicy, MasteryState, MasteryStatus, Prerequisite
from tests.world import World, make_student

UTC = datetime.UTC
DEMOGRAPHIC_WORDS = re.compile(
    r"\b(demographics?|sex|female|male|race|races|ethnicity|hispanic|latino|asian|black|white|american indian|"
    r"alaska native|pacific islander|two or more|english learner|iep|504|section_504|economically|disadvantaged)\b",
    re.IGNORECASE,
)


def at(day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, 10, day, hour, tzinfo=UTC)


@dataclass
class Curriculum:
    math: Framework
    reading: Framework
    policy: MasteryPolicy
    c: dict[str, Competency] = field(default_factory=dict)  # by code, strands included


def build_curriculum(world: World) -> Curriculum:
    """Mathematics 3–8 (BKT policy) and Reading 5. Grade 5 of mathematics: strand 5.NF with 5.NF.1, 5.NF.2 and
    a deprecated 5.NF.3; strand 5.OA with 5.OA.1. Also 4.NF.1 (a prerequisite of 5.NF.1) and 6.RP.1."""
    math = Framework.objects.create(name="Test Mathematics", subject="Mathematics", grade_low=3, grade_high=8)
    reading = Framework.objects.create(name="Test Reading", subject="Reading", grade_low=5, grade_high=5)
    policy = MasteryPolicy.objects.create(framework=math, version=1, method="bkt", parameters={})
    curriculum = Curriculum(math, reading, policy)

    def add(code, statement, grade, order, parent=None, *, framework=math, assessable=True, deprecated=False):
        curriculum.c[code] = Competency.objects.create(
            framework=framework,
            code=code,
            statement=statement,
            grade_level=grade,
            sort_order=order,
            parent=curriculum.c.get(parent) if parent else None,
            assessable=assessable,
            deprecated_at=timezone.now() if deprecated else None,
        )

    add("4.NF", "Fractions, grade 4", 4, 1, assessable=False)
    add("4.NF.1", "Compare two fractions", 4, 2, "4.NF")
    add("5.NF", "Number and operations: fractions", 5, 1, assessable=False)
    add("5.NF.1", "Add fractions with unlike denominators", 5, 2, "5.NF")
    add("5.NF.2", "Solve word problems with fractions", 5, 3, "5.NF")
    add("5.NF.3", "An old standard, replaced", 5, 4, "5.NF", deprecated=True)
    add("5.OA", "Operations and algebraic thinking", 5, 5, assessable=False)
    add("5.OA.1", "Use parentheses in numerical expressions", 5, 6, "5.OA")
    add("6.RP", "Ratios", 6, 1, assessable=False)
    add("6.RP.1", "Understand ratio language", 6, 2, "6.RP")
    add("RL.5.1", "Quote accurately from a text", 5, 1, framework=reading)
    Prerequisite.objects.create(competency=curriculum.c["5.NF.1"], prerequisite=curriculum.c["4.NF.1"])
    Prerequisite.objects.create(competency=curriculum.c["5.NF.2"], prerequisite=curriculum.c["5.NF.1"])
    return curriculum


def build_states(world: World, cur: Curriculum) -> None:
    """s_a1_1: 5.NF.1 mastered, 5.NF.2 in progress overridden to mastered, 6.RP.1 mastered.
    s_a1_2: 5.NF.1 needs review, 5.OA.1 in progress. s_left (inactive): 5.NF.1 mastered."""

    def state(student, code, status, estimate, **extra):
        return MasteryState(
            student=world.users[student],
            competency=cur.c[code],
            status=status,
            estimate=estimate,
            evidence_count=3,
            last_evidence_at=at(20),
            policy=cur.policy,
            **extra,
        )

    MasteryState.objects.bulk_create(
        [
            state("s_a1_1", "5.NF.1", MasteryStatus.MASTERED, 0.97, first_mastered_at=at(15)),
            state(
                "s_a1_1",
                "5.NF.2",
                MasteryStatus.IN_PROGRESS,
                0.6,
                override_status=MasteryStatus.MASTERED,
                override_note="Explained it to the class.",
                override_by=world.t_a1,
                override_at=at(21),
            ),
            state("s_a1_1", "6.RP.1", MasteryStatus.MASTERED, 0.96),
            state("s_a1_2", "5.NF.1", MasteryStatus.NEEDS_REVIEW, 0.7, first_mastered_at=at(9)),
            state("s_a1_2", "5.OA.1", MasteryStatus.IN_PROGRESS, 0.4),
            state("s_left", "5.NF.1", MasteryStatus.MASTERED, 0.99),
        ]
    )


@pytest.fixture
def cur(world) -> Curriculum:
    curriculum = build_curriculum(world)
    build_states(world, curriculum)
    return curriculum


def html(response) -> str:
    return response.content.decode()


def page_text(page: str) -> str:
    """What the page says: no chart coordinates, no tags or attributes (ids in links are numbers too)."""
    return re.sub(r"<[^>]*>", " ", re.sub(r"<svg.*?</svg>", "", page, flags=re.S))


GRID_ROW = re.compile(r'<th scope="row" class="mastery-grid__student"><a [^>]*>([^<]+)</a></th>(.*?)</tr>', re.S)
GRID_CELL = re.compile(r'<span aria-hidden="true">([^<]+)</span><span class="visually-hidden">([^<]+)</span>')
GRID_COLUMN = re.compile(r'<th scope="col" class="mastery-grid__competency"><abbr title="[^"]*">([^<]+)</abbr>')


def grid_of(response) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(column codes, [(student, [cell abbreviations])]) as shown."""
    page = html(response)
    rows = [(name, [abbr for abbr, _label in GRID_CELL.findall(cells)]) for name, cells in GRID_ROW.findall(page)]
    return GRID_COLUMN.findall(page), rows


def grid_url(world, **params) -> str:
    url = reverse("mastery-grid", args=[world.sections["A1"].pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


# --- the grid -------------------------------------------------------------------------------------------


def test_grid_shows_exactly_the_expected_cells_and_labels(client, world, cur):
    client.force_login(world.t_a1)
    response = client.get(grid_url(world))
    assert response.status_code == 200
    assert grid_of(response) == (
        ["5.NF.1", "5.NF.2", "5.OA.1"],
        [("S s_a1_1", ["M", "M*", "NS"]), ("S s_a1_2", ["NR", "NS", "IP"])],
    )
    page = html(response)
    labels = [GRID_CELL.findall(cells) for _name, cells in GRID_ROW.findall(page)]
    assert labels == [
        [("M", "Mastered"), ("M*", "Mastered, teacher override"), ("NS", "Not started")],
        [("NR", "Needs review"), ("NS", "Not started"), ("IP", "In progress")],
    ]
    # Every cell says its status in words too (title), the override by name, and opens the explanation.
    s1, s2 = world.s_a1_1.pk, world.s_a1_2.pk
    nf1, nf2 = cur.c["5.NF.1"].pk, cur.c["5.NF.2"].pk
    assert f'href="/students/{s1}/mastery/{nf1}/" title="Mastered"' in page
    assert f'href="/students/{s1}/mastery/{nf2}/" title="Mastered · Teacher override"' in page
    assert f'href="/students/{s2}/mastery/{nf1}/" title="Needs review"' in page
    # The key names every status with its abbreviation; the footer counts mastered per column.
    for abbreviation, label in (
        ("M", "Mastered"),
        ("IP", "In progress"),
        ("NR", "Needs review"),
        ("NS", "Not started"),
    ):
        assert f'aria-hidden="true">{abbreviation}</span> {label}</li>' in page
    assert "* Teacher override" in page
    assert [c.mastered for c in response.context["grid"].columns] == [1, 1, 0]
    assert "s_left" not in page  # inactive enrollment
    assert "5.NF.3" not in page  # deprecated
    assert "Test Mathematics" in page


def test_strand_filter_limits_the_columns_and_offers_every_strand(client, world, cur):
    client.force_login(world.t_a1)
    response = client.get(grid_url(world, strand=cur.c["5.OA"].pk))
    assert grid_of(response) == (["5.OA.1"], [("S s_a1_1", ["NS"]), ("S s_a1_2", ["IP"])])
    options = re.findall(
        r'<option value="(\d*)"( selected)?>([^<]+)</option>', html(response).split('name="strand"')[1]
    )
    assert options == [
        ("", "", "All strands"),
        (str(cur.c["5.NF"].pk), "", "5.NF · Number and operations: fractions"),
        (str(cur.c["5.OA"].pk), " selected", "5.OA · Operations and algebraic thinking"),
    ]


def test_grade_and_framework_choose_the_columns(client, world, cur):
    client.force_login(world.t_a1)
    assert grid_of(client.get(grid_url(world, grade=6))) == (["6.RP.1"], [("S s_a1_1", ["M"]), ("S s_a1_2", ["NS"])])
    assert grid_of(client.get(grid_url(world, framework=cur.reading.pk))) == (
        ["RL.5.1"],
        [("S s_a1_1", ["NS"]), ("S s_a1_2", ["NS"])],
    )
    # A strand of another grade, or a grade outside the framework, falls back to the defaults.
    assert grid_of(client.get(grid_url(world, strand=cur.c["6.RP"].pk)))[0] == ["5.NF.1", "5.NF.2", "5.OA.1"]
    assert grid_of(client.get(grid_url(world, grade=12)))[0] == ["5.NF.1", "5.NF.2", "5.OA.1"]
    assert client.get(grid_url(world, framework=cur.reading.pk + 1000)).status_code == 404


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("t_a1", 200),
        ("p_a", 200),
        ("admin_north", 200),
        ("s_a1_1", 404),  # sees the section, but the grid shows classmates
        ("g_1", 404),
        ("t_a2", 404),
        ("t_b1", 404),
        ("p_b", 404),
        ("admin_south", 404),
    ],
)
def test_grid_is_for_staff_who_see_the_section(client, world, cur, username, status):
    client.force_login(world.users[username])
    response = client.get(grid_url(world))
    assert response.status_code == status
    if status == 404:
        assert "S s_a1_2" not in html(response)


def test_grid_of_an_unknown_section_is_404(client, world, cur):
    client.force_login(world.t_a1)
    assert client.get(reverse("mastery-grid", args=[999_999])).status_code == 404


def _grid_queries(client, world) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(grid_url(world))
    assert response.status_code == 200
    return len(queries)


def test_grid_query_count_does_not_grow_with_the_students(client, world, cur):
    client.force_login(world.t_a1)
    with_two = _grid_queries(client, world)
    section = world.sections["A1"]
    extra = [make_student(world, f"s_extra_{n}", world.schools["north-a"], 5, section) for n in range(18)]
    MasteryState.objects.bulk_create(
        [
            MasteryState(student=student, competency=cur.c[code], status=MasteryStatus.IN_PROGRESS, estimate=0.5)
            for student in extra
            for code in ("5.NF.1", "5.OA.1")
        ]
    )
    with_twenty = _grid_queries(client, world)
    assert with_twenty == with_two
    # session, user, roles, section; frameworks, competencies, enrollments (with who is seen), states
    assert with_two == 8
    _columns, rows = grid_of(client.get(grid_url(world)))
    assert len(rows) == 20
    assert rows[-1] == ("S s_extra_9", ["IP", "NS", "IP"])


def test_section_page_links_staff_to_the_grid(client, world, cur):
    link = f'href="{grid_url(world)}"'
    for username, shown in (("t_a1", True), ("p_a", True), ("s_a1_1", False), ("g_1", False)):
        client.force_login(world.users[username])
        page = html(client.get(reverse("section-detail", args=[world.sections["A1"].pk])))
        assert (link in page) is shown, username


# --- the student's map and the profile's summary -----------------------------------------------------------


def map_rows(response) -> dict[str, tuple[str, int | None, bool]]:
    """code → (label shown, BKT percentage, ready to learn) for every competency on the map."""
    return {
        cell.competency.code: (cell.label + ("*" if cell.overridden else ""), cell.percent, cell.ready)
        for grade in response.context["map"].grades
        for group in grade.strands
        for cell in group.cells
    }


@pytest.mark.parametrize("username", ["s_a1_1", "g_1", "t_a1", "p_a", "admin_north"])
def test_map_shows_every_competency_with_status_estimate_and_readiness(client, world, cur, username):
    client.force_login(world.users[username])
    response = client.get(reverse("mastery-map", args=[world.s_a1_1.pk]))
    assert response.status_code == 200
    assert map_rows(response) == {
        "4.NF.1": ("Not started", None, True),
        "5.NF.1": ("Mastered", 97, False),
        "5.NF.2": ("Mastered*", 60, False),
        "5.OA.1": ("Not started", None, True),
        "6.RP.1": ("Mastered", 96, False),
    }
    grades = response.context["map"].grades
    assert [(g.grade, [s.strand.code for s in g.strands]) for g in grades] == [
        (4, ["4.NF"]),
        (5, ["5.NF", "5.OA"]),
        (6, ["6.RP"]),
    ]
    counts = response.context["map"].counts
    assert (counts.mastered, counts.in_progress, counts.needs_review, counts.not_started, counts.ready) == (
        3,
        0,
        0,
        2,
        2,
    )
    page = html(response)
    assert '<details class="card mastery-grade" id="grade-5" open>' in page  # the student's own grade is open
    assert '<details class="card mastery-grade" id="grade-4">' in page
    assert ">97%</td>" in page
    assert "Teacher override" in page
    assert page.count("Ready to learn</td>") == 2
    assert f'href="/students/{world.s_a1_1.pk}/mastery/{cur.c["5.NF.1"].pk}/"' in page
    assert DEMOGRAPHIC_WORDS.findall(page_text(page)) == []
    assert ("Your mastery" in page) is (username == "s_a1_1")


@pytest.mark.parametrize("username", ["s_a1_2", "t_a2", "t_b1", "p_b", "admin_south"])
def test_map_of_a_student_one_may_not_see_is_404(client, world, cur, username):
    client.force_login(world.users[username])
    assert client.get(reverse("mastery-map", args=[world.s_a1_1.pk])).status_code == 404
    assert client.get(reverse("mastery-summary", args=[world.s_a1_1.pk])).status_code == 404


def test_summary_counts_effective_statuses_and_ready_to_learn(client, world, cur):
    client.force_login(world.t_a1)
    for username, expected in (
        ("s_a1_1", {"Mastered": 3, "In progress": 0, "Needs review": 0, "Ready to learn": 3}),
        ("s_a1_2", {"Mastered": 0, "In progress": 1, "Needs review": 1, "Ready to learn": 4}),
    ):
        response = client.get(reverse("mastery-summary", args=[world.users[username].pk]))
        assert response.status_code == 200
        page = html(response)
        shown = {dt: int(dd) for dt, dd in re.findall(r"<div><dt>([^<]+)</dt><dd>(\d+)</dd></div>", page)}
        assert shown == expected, username
        assert "<html" not in page  # a fragment for htmx, not a page
        assert f'href="/students/{world.users[username].pk}/mastery/"' in page


def test_profile_page_loads_the_summary_with_htmx_and_links_to_the_map_without_js(client, world, cur):
    client.force_login(world.s_a1_1)
    page = html(client.get(reverse("student-profile", args=[world.s_a1_1.pk])))
    assert f'hx-get="/students/{world.s_a1_1.pk}/mastery/summary/" hx-trigger="load"' in page
    assert f'<a href="/students/{world.s_a1_1.pk}/mastery/">Open the mastery map</a>' in page


# --- the explanation and the override ------------------------------------------------------------------------


@pytest.fixture
def evidence(world, cur) -> list[Evidence]:
    """s_a1_2 on 5.OA.1: scores 0, 1, 1 from a quiz app, then a rating of 3 by t_a1."""
    student, competency = world.s_a1_2, cur.c["5.OA.1"]
    rows = [
        Evidence(student=student, competency=competency, kind="score", score=0.0, observed_at=at(1), source="quiz-app"),
        Evidence(student=student, competency=competency, kind="score", score=1.0, observed_at=at(5), source="quiz-app"),
        Evidence(student=student, competency=competency, kind="score", score=1.0, observed_at=at(8), source="quiz-app"),
        Evidence(
            student=student,
            competency=competency,
            kind="rating",
            rating=3,
            observed_at=at(12),
            source="manual",
            recorded_by=world.t_a1,
        ),
    ]
    return Evidence.objects.bulk_create(rows)


def explanation_url(world, cur, username: str = "s_a1_2", code: str = "5.OA.1") -> str:
    return reverse("mastery-explanation", args=[world.users[username].pk, cur.c[code].pk])


@pytest.mark.parametrize("username", ["s_a1_2", "t_a1", "p_a", "admin_north"])
def test_explanation_shows_rule_evidence_and_estimate_over_time(client, world, cur, evidence, username):
    client.force_login(world.users[username])
    response = client.get(explanation_url(world, cur))
    assert response.status_code == 200
    page = html(response)
    assert "<h1>5.OA.1: Use parentheses in numerical expressions</h1>" in page
    # The rule in words, with its numbers (the framework's BKT policy on the default settings).
    assert "Policy version 1 of Test Mathematics" in page
    assert "mastered when the estimated chance the student knows it reaches 95%" in page
    parameters = dict(re.findall(r"<div><dt>([^<]+)</dt><dd>([^<]+)</dd></div>", page.split('class="parameters"')[1]))
    assert parameters == {
        "Chance known at the start": "25%",
        "Chance to learn it with each response": "15%",
        "Guess: right without knowing it": "20%",
        "Slip: wrong while knowing it": "10%",
        "Forgetting after each response": "0%",
        "Mastered from": "95%",
        "Scored responses needed": "3",
        "Needs review below": "80%",
        "Teacher rating that counts as “meets”": "3",
        "Guess and slip of a teacher rating": "5%",
        "Learning from a completed activity": "5%",
    }
    # The evidence that counted, each with the BKT estimate right after it (worked out by hand).
    rows = re.findall(
        r'<tr>\s*<th scope="row"><time [^>]*>([^<]+)</time></th>\s*<td data-label="Kind">([^<]+)</td>\s*'
        r'<td class="num" data-label="Value">([^<]+)</td>\s*<td data-label="Source">([^<]+)</td>\s*'
        r'<td data-label="Recorded by">(?:<span class="muted">)?([^<]+)(?:</span>)?</td>\s*'
        r'<td class="num" data-label="Estimate after">([^<]+)</td>',
        page,
    )
    assert rows == [
        ("1 Oct 2026", "Scored response", "0%", "quiz-app", "Not recorded", "18%"),
        ("5 Oct 2026", "Scored response", "100%", "quiz-app", "Not recorded", "58%"),
        ("8 Oct 2026", "Scored response", "100%", "quiz-app", "Not recorded", "88%"),
        ("12 Oct 2026", "Teacher rating (1–4)", "3 of 4", "manual", "T t_a1", "99%"),
    ]
    # The chart: an inline SVG with a point per value, and the same values in the table beside it.
    svg = re.search(r"<svg.*?</svg>", page, re.S)
    assert svg is not None
    assert 'role="img"' in svg.group(0)
    assert re.findall(r"<title>([^<]+)</title></circle>", svg.group(0)) == [
        "1 Oct 2026: 18%",
        "5 Oct 2026: 58%",
        "8 Oct 2026: 88%",
        "12 Oct 2026: 99%",
    ]
    chart_table = re.findall(r'<tr><td><time [^>]*>([^<]+)</time></td><td class="num">([^<]+)</td></tr>', page)
    assert chart_table == [("1 Oct 2026", "18%"), ("5 Oct 2026", "58%"), ("8 Oct 2026", "88%"), ("12 Oct 2026", "99%")]
    assert "Mastered 95%" in svg.group(0) and "Review 80%" in svg.group(0)
    # Stored: in progress (40%); the evidence since says mastered, which the night will store.
    assert "<strong>In progress</strong>" in page
    assert "Evidence recorded since the last update says <strong>Mastered</strong>" in page
    assert ("Save override" in page) is (username != "s_a1_2")
    assert "<script" not in page.split("</head>")[1]  # the chart needs no script
    assert DEMOGRAPHIC_WORDS.findall(page_text(page)) == []


def test_explanation_shows_the_override_with_its_author_and_note(client, world, cur):
    client.force_login(world.s_a1_1)
    page = html(client.get(explanation_url(world, cur, "s_a1_1", "5.NF.2")))
    assert "<h3>Teacher override: Mastered</h3>" in page
    assert "<p>Explained it to the class.</p>" in page
    assert "Set by T t_a1 on" in page
    assert "The evidence alone gives <strong>Not started</strong>" in page
    assert "Lift override" not in page and "Save override" not in page  # the student only reads it


def test_explanation_of_unknown_competency_or_student_is_404(client, world, cur):
    client.force_login(world.t_a1)
    assert client.get(reverse("mastery-explanation", args=[world.s_a1_1.pk, 999_999])).status_code == 404
    assert client.get(reverse("mastery-explanation", args=[999_999, cur.c["5.NF.1"].pk])).status_code == 404
    assert client.get(reverse("mastery-explanation", args=[world.s_a2_1.pk, cur.c["5.NF.1"].pk])).status_code == 404


def state_of(world, cur, username: str, code: str) -> tuple:
    state = MasteryState.objects.filter(student=world.users[username], competency=cur.c[code]).first()
    if state is None:
        return ()
    return (state.status, state.override_status, state.override_note, state.override_by_id, state.override_at)


def test_teacher_overrides_with_a_note_and_the_grid_marks_it(client, world, cur, evidence):
    client.force_login(world.t_a1)
    response = client.post(explanation_url(world, cur), {"status": "mastered", "note": "  Solved it at the board.  "})
    assert response.status_code == 302
    assert response["Location"] == explanation_url(world, cur)
    _status, override, note, by, when = state_of(world, cur, "s_a1_2", "5.OA.1")
    assert (override, note, by) == ("mastered", "Solved it at the board.", world.t_a1.pk)
    assert when is not None
    page = html(client.get(explanation_url(world, cur)))
    assert "Override saved." in page
    assert "<h3>Teacher override: Mastered</h3>" in page and "<p>Solved it at the board.</p>" in page
    assert grid_of(client.get(grid_url(world)))[1] == [
        ("S s_a1_1", ["M", "M*", "NS"]),
        ("S s_a1_2", ["NR", "NS", "M*"]),
    ]


def test_override_without_a_note_is_refused_with_a_field_error_and_nothing_saved(client, world, cur, evidence):
    client.force_login(world.t_a1)
    before = state_of(world, cur, "s_a1_2", "5.OA.1")
    response = client.post(explanation_url(world, cur), {"status": "mastered", "note": "   "})
    assert response.status_code == 400
    page = html(response)
    assert '<ul class="errorlist" id="id_note_error"><li>Write why you are overriding the status.</li></ul>' in page
    assert "Nothing was saved." in page
    assert state_of(world, cur, "s_a1_2", "5.OA.1") == before
    assert client.post(explanation_url(world, cur), {"status": "known", "note": "x"}).status_code == 400
    assert state_of(world, cur, "s_a1_2", "5.OA.1") == before


@pytest.mark.parametrize(
    ("username", "expected"),
    [("s_a1_2", 403), ("g_1", 403), ("s_a1_1", 403), ("t_a2", 404), ("p_b", 404), ("admin_south", 404)],
)
def test_override_and_lift_by_someone_who_may_not_edit_change_nothing(client, world, cur, username, expected):
    # g_1 and s_a1_1 read s_a1_1's page (403 to a write); the others do not see the student (404).
    target = "s_a1_1" if username in ("g_1", "s_a1_1") else "s_a1_2"
    before = {code: state_of(world, cur, target, code) for code in ("5.NF.2", "5.OA.1")}
    client.force_login(world.users[username])
    override = client.post(explanation_url(world, cur, target, "5.OA.1"), {"status": "mastered", "note": "Mine."})
    lift = client.post(reverse("mastery-override-lift", args=[world.users[target].pk, cur.c["5.NF.2"].pk]))
    assert (override.status_code, lift.status_code) == (expected, expected)
    assert {code: state_of(world, cur, target, code) for code in ("5.NF.2", "5.OA.1")} == before


def test_anonymous_posts_go_to_sign_in_and_change_nothing(client, world, cur):
    before = state_of(world, cur, "s_a1_1", "5.NF.2")
    response = client.post(explanation_url(world, cur, "s_a1_1", "5.OA.1"), {"status": "mastered", "note": "x"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    lift = client.post(reverse("mastery-override-lift", args=[world.s_a1_1.pk, cur.c["5.NF.2"].pk]))
    assert lift.status_code == 302 and lift["Location"].startswith(reverse("login"))
    assert state_of(world, cur, "s_a1_1", "5.NF.2") == before
    assert state_of(world, cur, "s_a1_1", "5.OA.1") == ()


def test_teacher_lifts_an_override_and_the_status_follows_the_evidence(client, world, cur):
    client.force_login(world.t_a1)
    response = client.post(reverse("mastery-override-lift", args=[world.s_a1_1.pk, cur.c["5.NF.2"].pk]))
    assert response.status_code == 302
    assert response["Location"] == explanation_url(world, cur, "s_a1_1", "5.NF.2")
    # Recomputed from the evidence at once: there is none, so the pair is not started.
    assert state_of(world, cur, "s_a1_1", "5.NF.2") == ("not_started", None, "", None, None)
    page = html(client.get(response["Location"]))
    assert "Override lifted." in page and "Teacher override" not in page.split("</h1>")[1].split("The rule")[0]
    assert grid_of(client.get(grid_url(world)))[1][0] == ("S s_a1_1", ["M", "NS", "NS"])


def test_lift_is_post_only(client, world, cur):
    client.force_login(world.t_a1)
    response = client.get(reverse("mastery-override-lift", args=[world.s_a1_1.pk, cur.c["5.NF.2"].pk]))
    assert response.status_code == 405


def test_no_demographics_on_the_grid(client, world, cur):
    client.force_login(world.p_a)
    page = html(client.get(grid_url(world)))
    assert DEMOGRAPHIC_WORDS.findall(page_text(page)) == []


def test_explanation_of_a_rubric_policy_shows_scores_on_the_one_to_four_scale(client, world, cur):
    MasteryPolicy.objects.create(framework=cur.reading, version=1, method="decaying_average", parameters={})
    competency = cur.c["RL.5.1"]
    Evidence.objects.bulk_create(
        Evidence(
            student=world.s_a1_1,
            competency=competency,
            kind="rating",
            rating=rating,
            observed_at=at(day),
            recorded_by=world.t_a1,
        )
        for day, rating in ((2, 2), (6, 3), (9, 4))
    )
    client.force_login(world.t_a1)
    page = html(client.get(explanation_url(world, cur, "s_a1_1", "RL.5.1")))
    assert "Decaying average of ratings on the 1–4 scale" in page
    parameters = dict(re.findall(r"<div><dt>([^<]+)</dt><dd>([^<]+)</dd></div>", page.split('class="parameters"')[1]))
    assert parameters == {"Mastered from (1–4 scale)": "3", "Weight of each new rating": "65%", "Ratings needed": "2"}
    # D1 = 2; D2 = 0.35 × 2 + 0.65 × 3 = 2.65; D3 = 0.35 × 2.65 + 0.65 × 4 = 3.5275
    chart_table = re.findall(r'<tr><td><time [^>]*>([^<]+)</time></td><td class="num">([^<]+)</td></tr>', page)
    assert chart_table == [("2 Oct 2026", "2"), ("6 Oct 2026", "2.65"), ("9 Oct 2026", "3.53")]
    assert "Score after" in page and "Mastered 3</text>" in page
    assert "Evidence recorded since the last update says <strong>Mastered</strong>" in page
