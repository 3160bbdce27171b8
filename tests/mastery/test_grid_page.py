"""How the section grid is written (mastery.grid_page): every user-provided text escaped though the cells and
columns are written in Python, each row's cells in their place, the option statements truncated exactly as
Django's Truncator does, and where the keyboard focus goes and what the live region says after htmx swaps."""

from __future__ import annotations

import gc
import re
import unicodedata

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils.text import Truncator

from mastery import grid_page, selectors
from mastery.models import Competency, MasteryState, MasteryStatus
from profiles import access
from tests.mastery.test_views import build_curriculum, build_states, grid_of, grid_url, html

CELL_LINK = re.compile(r'<a href="/students/(\d+)/mastery/(\d+)/"')
AUTOFOCUS = re.compile(r"<(\w+)\b[^>]*\bautofocus\b[^>]*>")


@pytest.fixture
def cur(world):
    curriculum = build_curriculum(world)
    build_states(world, curriculum)
    return curriculum


@pytest.fixture
def marked_up(world, cur) -> Competency:
    """A grade-5 competency whose code and statement hold markup, quotes and an ampersand, and a student whose
    name does."""
    student = world.s_a1_2
    student.first_name, student.last_name = "<b>Zoë</b>", 'O\'Neil & "Co"'
    student.save(update_fields=["first_name", "last_name"])
    return Competency.objects.create(
        framework=cur.math,
        code='5.<i>X</i>"',
        statement="Compare <script>alert('x')</script> & \"quoted\" fractions, then explain the comparison aloud",
        grade_level=5,
        sort_order=9,
        parent=cur.c["5.OA"],
    )


def test_codes_statements_and_names_with_markup_are_escaped_everywhere(client, world, cur, marked_up):
    client.force_login(world.t_a1)
    page = html(client.get(grid_url(world)))
    code = "5.&lt;i&gt;X&lt;/i&gt;&quot;"
    statement = (
        "Compare &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot; fractions, then "
        "explain the comparison aloud"
    )
    assert f'<abbr title="{statement}">{code}</abbr></th>' in page  # the column heading
    assert f"<div><dt>{code}</dt><dd>{statement}</dd></div>" in page  # the competency key
    short = "Compare &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot; fractions, then explai…"
    assert f'<option value="{marked_up.pk}">{code} · {short}</option>' in page  # "Record ratings on"
    name = "&lt;b&gt;Zoë&lt;/b&gt; O&#x27;Neil &amp; &quot;Co&quot;"
    assert f'<a href="/students/{world.s_a1_2.pk}/mastery/">{name}</a></th>' in page
    for raw in ("<i>X</i>", "<script>", "<b>Zoë</b>", "O'Neil"):
        assert raw not in page
    # In the ratings mode too: the heading of the panel, the rated column and each box's label.
    page = html(client.get(grid_url(world), {"rate": marked_up.pk}))
    assert f'<h2 id="ratings-title" class="ratings-panel__title">Record ratings on {code}</h2>' in page
    assert f"Rating for {name} on {code}</label>" in page
    assert "<i>X</i>" not in page and "<b>Zoë</b>" not in page


def test_each_row_has_its_own_cells_and_no_marker_is_left(client, world, cur):
    client.force_login(world.t_a1)
    page = html(client.get(grid_url(world)))
    assert grid_page.CELLS_MARKER not in page
    assert "\x00" not in page
    rows = re.findall(
        r'<tr>\s*<th scope="row" class="mastery-grid__student"><a href="/students/(\d+)/mastery/"(.*?)</tr>', page, re.S
    )
    codes = ["5.NF.1", "5.NF.2", "5.OA.1"]
    assert [(int(student), CELL_LINK.findall(cells)) for student, cells in rows] == [
        (student.pk, [(str(student.pk), str(cur.c[code].pk)) for code in codes])
        for student in (world.s_a1_1, world.s_a1_2)
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "Short",
        "x" * 70,
        "x" * 71,
        "Compare two fractions with different numerators and different denominators, e.g. by using",
        unicodedata.normalize("NFD", "Éléments de géométrie: décrire les propriétés des figures planes, côté à côté"),
        unicodedata.normalize("NFD", "é" * 70),  # 140 code points, 70 characters once composed
        "e" + "\u0301" * 80,  # one letter with 80 combining accents
    ],
)
def test_option_statements_are_truncated_exactly_as_truncator_does(statement):
    assert grid_page._option_statement(statement) == Truncator(statement).chars(70)


def post_ratings(client, world, competency, ratings: dict[str, str]):
    data = {"competency": str(competency.pk), "batch": "b-1", "note": ""}
    data.update({f"rating-{world.users[name].pk}": value for name, value in ratings.items()})
    return client.post(reverse("section-ratings", args=[world.sections["A1"].pk]), data, headers={"HX-Request": "true"})


def live_region(fragment: str) -> str:
    """What the fragment tells the page's live region, out of band, before the grid's body."""
    found = re.match(
        r'<div id="grid-status" hx-swap-oob="innerHTML">(.*?)</div>\n<div id="grid-body"', fragment.strip()
    )
    assert found, fragment[:300]
    return found.group(1)


def test_after_saved_ratings_the_first_changed_cell_takes_the_focus_and_the_outcome_is_announced(client, world, cur):
    client.force_login(world.t_a1)
    oa1 = cur.c["5.OA.1"]
    response = post_ratings(client, world, oa1, {"s_a1_1": "4", "s_a1_2": "2"})
    assert response.status_code == 200
    fragment = html(response)
    assert live_region(fragment) == "Recorded 2 ratings on 5.OA.1. S s_a1_1: Not started → In progress."
    assert AUTOFOCUS.findall(fragment) == ["a"]
    focused = AUTOFOCUS.search(fragment)
    assert focused is not None
    assert focused.group(0) == (
        f'<a href="/students/{world.s_a1_1.pk}/mastery/{oa1.pk}/" title="In progress" autofocus>'
    )
    assert grid_of(response)[1] == [("S s_a1_1", ["M", "M*", "IP"]), ("S s_a1_2", ["NR", "NS", "IP"])]


def test_after_ratings_that_change_nothing_the_outcome_message_takes_the_focus(client, world, cur):
    client.force_login(world.t_a1)
    response = post_ratings(client, world, cur.c["5.OA.1"], {"s_a1_2": "2"})
    fragment = html(response)
    assert live_region(fragment) == "Recorded 1 rating on 5.OA.1. No status changed."
    assert [found.group(0) for found in AUTOFOCUS.finditer(fragment)] == [
        '<div class="message message--success ratings-outcome" id="ratings-outcome" tabindex="-1" autofocus>'
    ]
    assert MasteryState.objects.get(student=world.s_a1_2, competency=cur.c["5.OA.1"]).status == (
        MasteryStatus.IN_PROGRESS
    )


def test_a_refused_batch_focuses_the_first_refused_box_and_announces_nothing(client, world, cur):
    client.force_login(world.t_a1)
    response = post_ratings(client, world, cur.c["5.OA.1"], {"s_a1_1": "3", "s_a1_2": "0"})
    assert response.status_code == 400
    fragment = html(response)
    assert live_region(fragment) == ""
    focused = AUTOFOCUS.findall(fragment)
    assert focused == ["input"]
    assert f'id="rating-{world.s_a1_2.pk}"' in AUTOFOCUS.search(fragment).group(0)  # type: ignore[union-attr]


def test_the_full_page_has_the_live_region_and_nothing_autofocused(client, world, cur):
    client.force_login(world.t_a1)
    page = html(client.get(grid_url(world)))
    assert '<div id="grid-status" class="visually-hidden" role="status" aria-live="polite"></div>' in page
    assert "hx-swap-oob" not in page
    assert AUTOFOCUS.findall(page) == []


def test_the_cyclic_collector_is_paused_while_the_grid_is_read_and_on_again_after(world, cur, monkeypatch):
    read = selectors.mastery_grid
    seen: list[bool] = []

    def spy(**kwargs):
        seen.append(gc.isenabled())
        return read(**kwargs)

    monkeypatch.setattr(selectors, "mastery_grid", spy)
    section, visible = world.sections["A1"], access.visible_students(world.t_a1)
    assert gc.isenabled()
    grid = grid_page.load_grid(section=section, visible_students=visible, filters=grid_page.GridFilters())
    assert [column.competency.code for column in grid.columns] == ["5.NF.1", "5.NF.2", "5.OA.1"]
    with pytest.raises(Http404):
        grid_page.load_grid(section=section, visible_students=visible, filters=grid_page.GridFilters(framework=0))
    assert (seen, gc.isenabled()) == ([False, False], True)
    gc.disable()  # off already (e.g. a server that manages it): left off
    try:
        grid_page.load_grid(section=section, visible_students=visible, filters=grid_page.GridFilters())
        assert gc.isenabled() is False
    finally:
        gc.enable()
