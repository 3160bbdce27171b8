"""What the section mastery grid's page and its fragment show, built once for three callers: the grid page
(mastery.views), its CSV export (the same rows and columns, cell for cell) and the ratings form that posts to
pathways (pathways.views re-renders the fragment with the changed cells after recording ratings).

No access decisions here: callers pass the section they fetched through profiles/access.py and the access-
scoped queryset of students the viewer sees.
"""

from __future__ import annotations

import gc
import html
import unicodedata
import uuid
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from profiles.models import Section, User
from profiles.spreadsheet import spreadsheet_safe

from . import selectors
from .models import Competency, Framework, MasteryStatus


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


@dataclass(frozen=True)
class GridFilters:
    framework: int | None = None
    grade: int | None = None
    strand: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> GridFilters:
        return cls(_int(params.get("framework")), _int(params.get("grade")), _int(params.get("strand")))


@contextmanager
def _cyclic_collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (when it was on), on again after it.

    Reading a full grid makes some 20,000 short-lived tuples (the 7,000 state rows, their keys and values). Each
    700 of them start a young-generation collection: twenty a request, which move the grid's longer-lived objects
    (cells, competencies, rows) to the old generation, and every fifteen requests or so that sets off a full
    collection of the whole process, 40-70 ms at once: it was the grid's p95 (bench/grid.py: Python CPU p95 109 ms
    with the collector running, 53 ms with it paused here, p50 41-44 ms either way). The grid makes no reference
    cycles, so the collector has nothing to find there; the tuples are freed by their reference counts when the
    block ends, as before. Another thread's cycles wait for the next collection after the block (a sync worker
    has none). The one who turned it off turns it on, so overlapping blocks never leave it off."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def load_grid(*, section: Section, visible_students: QuerySet[User], filters: GridFilters) -> selectors.MasteryGrid:
    """The grid for these filters; an unknown framework is 404."""
    try:
        with _cyclic_collector_paused():
            return selectors.mastery_grid(
                section=section,
                visible_students=visible_students,
                framework_id=filters.framework,
                grade=filters.grade,
                strand_id=filters.strand,
            )
    except Framework.DoesNotExist:
        raise Http404("No such framework.") from None


def filter_query(grid: selectors.MasteryGrid) -> str:
    """The query string of the filters the grid shows (what the page, the export and the form carry on)."""
    params: dict[str, int] = {}
    if grid.framework is not None:
        params["framework"] = grid.framework.pk
        params["grade"] = grid.grade
    if grid.strand is not None:
        params["strand"] = grid.strand.pk
    return urlencode(params)


def cell_words(cell: selectors.StatusCell) -> str:
    """A cell in words, as its title shows it on screen and the CSV export writes it."""
    return cell.label + (" · Teacher override" if cell.overridden else "")


def export_rows(grid: selectors.MasteryGrid) -> list[list[str]]:
    """The grid as the page shows it: a heading row (Student, each competency code), one row per student
    (name, each cell in words) and the "Mastered" totals row."""
    rows = [["Student", *(spreadsheet_safe(column.competency.code) for column in grid.columns)]]
    rows.extend([spreadsheet_safe(str(row.student)), *(cell_words(cell) for cell in row.cells)] for row in grid.rows)
    if grid.rows and grid.columns:
        rows.append(["Mastered", *(str(column.mastered) for column in grid.columns)])
    return rows


@dataclass(frozen=True)
class RatingInput:
    """One student's box in the ratings column: what was typed, and why it was refused."""

    value: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RowView:
    row: selectors.GridRow
    rating: RatingInput | None  # None outside the ratings mode
    changed: bool = False  # the rated cell of this row changed status just now
    cells_html: str = ""  # the row's cells, written by CellsMarkup below


# A grid of 35 students × 200 competencies has 7,000 cells: rendered one by one by the template engine they take
# over half a second, and even formatted one by one in Python they were a quarter of the page's time. A cell's
# markup depends on its column, its status and override and the ratings mode, never on its row except for the
# student id in its link; and the grid shares one cell object among the rows with the same status in a column.
# So each distinct cell is written once per request, with a mark where the student id goes, and a row is the
# join of its cells' markup with the mark replaced. Every piece of text is escaped; the ids are integers.

# Where the row's student id goes in a cell's markup. No text of a cell can hold it: a cell says a status in
# words and abbreviations of our own, and its ids are integers.
_STUDENT_MARK = "\x00"
# Stand-in ids, only to find where the ids go in the reversed explanation URL.
_SOME_STUDENT, _SOME_COMPETENCY = 987654321, 987654322


def _cell_texts(status: str, overridden: bool) -> tuple[str, str, str, str]:
    """(class suffix, title, abbreviation, words) of a cell, escaped; eight kinds in all, made once each."""
    key = (status, overridden)
    texts = _CELL_TEXTS.get(key)
    if texts is None:
        cell = selectors.StatusCell(Competency(), status, overridden)
        label = escape(cell.label)
        texts = _CELL_TEXTS[key] = (
            f"{status}{' mastery-cell--override' if overridden else ''}",
            label + (" · Teacher override" if overridden else ""),
            escape(cell.abbreviation),
            label + (", teacher override" if overridden else ""),
        )
    return texts


_CELL_TEXTS: dict[tuple[str, bool], tuple[str, str, str, str]] = {}


class CellsMarkup:
    """The cells of the grid's rows for one request. Each cell links to the explanation, shows its
    abbreviation, says its status in words (and "teacher override", and "changed just now" for the rated cell
    of a row that changed) and, in the ratings mode (rating_id: the competency being rated), leaves the Tab
    order and marks the rated column."""

    def __init__(self, competency_ids: list[int], *, rating_id: int | None, rated_id: int | None) -> None:
        link = reverse("mastery-explanation", args=[_SOME_STUDENT, _SOME_COMPETENCY])
        self._link_head, self._link_tail = link.replace(str(_SOME_STUDENT), _STUDENT_MARK).split(str(_SOME_COMPETENCY))
        self._tab = ' tabindex="-1"' if rating_id is not None else ""
        self._rating_id = rating_id
        self._rated_column = competency_ids.index(rated_id) if rated_id in competency_ids else None
        self._written: dict[int, str] = {}  # id() of a cell object of the grid -> its markup

    def _write(self, cell: selectors.StatusCell, *, changed: bool = False, focus: bool = False) -> str:
        classes, title, abbreviation, words = _cell_texts(cell.status, cell.overridden)
        competency_id = cell.competency.pk
        if changed:
            classes += " mastery-cell--changed"
            words += ", changed just now"
        if competency_id == self._rating_id:
            classes += " mastery-cell--rated"
        attributes = self._tab + (" autofocus" if focus else "")
        return (
            f'<td class="mastery-cell mastery-cell--{classes}">\n'
            f'  <a href="{self._link_head}{competency_id}{self._link_tail}" title="{title}"{attributes}>'
            f'<span aria-hidden="true">{abbreviation}</span><span class="visually-hidden">{words}</span></a>\n</td>'
        )

    def _remember(self, cell: selectors.StatusCell) -> str:
        markup = self._written[id(cell)] = self._write(cell)
        return markup

    @property
    def shows_rated(self) -> bool:
        """Whether the rated competency (rated_id) is a column of the grid."""
        return self._rated_column is not None

    def row(self, row: selectors.GridRow, *, changed: bool = False, focus: bool = False) -> SafeString:
        """One row's cells; changed: the row's rated cell changed status just now; focus: that cell takes the
        keyboard focus when htmx swaps the grid in (autofocus)."""
        written = self._written.get
        # The cell objects live as long as the grid, so their id()s stay theirs during this request.
        parts = [written(id(cell)) or self._remember(cell) for cell in row.cells]
        if changed and self._rated_column is not None:
            parts[self._rated_column] = self._write(row.cells[self._rated_column], changed=True, focus=focus)
        return mark_safe("\n".join(parts).replace(_STUDENT_MARK, str(row.student.pk)))


@dataclass(frozen=True)
class RatingMode:
    competency: Competency
    batch_key: str
    note: str = ""
    errors: list[str] = field(default_factory=list)  # about the whole batch


@dataclass(frozen=True)
class Outcome:
    """What the last ratings did, for the status message above the grid."""

    competency: Competency
    recorded: int
    changes: list[tuple[str, str, str]]  # (student, before, after), in words

    def words(self) -> str:
        """The outcome in one sentence or two, as the live region announces it (and the message after a plain
        form post says it)."""
        plural = "s" if self.recorded != 1 else ""
        text = f"Recorded {self.recorded} rating{plural} on {self.competency.code}."
        if not self.changes:
            return text + " No status changed."
        return text + " " + "; ".join(f"{name}: {before} → {after}" for name, before, after in self.changes) + "."


OPTION_STATEMENT_CHARS = 70  # a competency's statement in the "Record ratings on" options, truncated


def _option_statement(statement: str) -> str:
    """The statement as Truncator(statement).chars(70) writes it, without its per-character loop for the
    statements that fit (most of them): Truncator returns those NFC-normalized and whole."""
    text = unicodedata.normalize("NFC", statement)
    return text if len(text) <= OPTION_STATEMENT_CHARS else Truncator(text).chars(OPTION_STATEMENT_CHARS)


def columns_html(grid: selectors.MasteryGrid, *, rating_id: int | None, chosen_id: int | None) -> dict[str, SafeString]:
    """The parts of the page with one entry per column (200 in a full grade), written in one pass like the
    cells: the heading cells, the Mastered totals, the options of "Record ratings on" and the key. Codes and
    statements are escaped (html.escape: what django.utils.html.escape does, without its lazy-string wrapper)."""
    heads, totals, options, key = [], [], [], []
    for column in grid.columns:
        competency = column.competency
        code, statement = html.escape(competency.code), html.escape(competency.statement)
        rated = " mastery-grid__competency--rated" if competency.pk == rating_id else ""
        heads.append(
            f'<th scope="col" class="mastery-grid__competency{rated}"><abbr title="{statement}">{code}</abbr></th>'
        )
        totals.append(f'<td class="mastery-grid__total">{column.mastered}</td>')
        short = html.escape(_option_statement(competency.statement))
        selected = " selected" if competency.pk == chosen_id else ""
        options.append(f'<option value="{competency.pk}"{selected}>{code} · {short}</option>')
        key.append(f"<div><dt>{code}</dt><dd>{statement}</dd></div>")
    return {
        "heads_html": mark_safe("\n".join(heads)),
        "totals_html": mark_safe("".join(totals)),
        "options_html": mark_safe("".join(options)),
        "key_html": mark_safe("\n".join(key)),
    }


def fragment_context(
    *,
    section: Section,
    grid: selectors.MasteryGrid,
    can_rate: bool,
    rate_id: int | None = None,
    values: Mapping[int, str] | None = None,
    errors: Mapping[int | None, list[str]] | None = None,
    note: str = "",
    batch_key: str | None = None,
    changed: Collection[int] = (),
    rated_id: int | None = None,
    outcome: Outcome | None = None,
) -> dict[str, Any]:
    """Context of mastery/_grid.html. rate_id: the competency being rated (ratings mode, one box per
    student); values and errors: what was typed and what was refused, by student id; changed: students whose
    status on rated_id changed just now (their cells are marked).

    Where the keyboard focus goes when htmx swaps the grid in (the control that was used has gone): in the
    ratings mode the first refused box, else the first box; after ratings were saved the first changed cell,
    else the outcome message. `announcement` is what the page's live region says: the outcome."""
    values = values or {}
    errors = errors or {}
    column = next((c for c in grid.columns if c.competency.pk == rate_id), None) if can_rate else None
    mode = None
    if column is not None:
        mode = RatingMode(column.competency, batch_key or uuid.uuid4().hex, note, list(errors.get(None, [])))
    changed_ids = set(changed)
    rating_id = mode.competency.pk if mode is not None else None
    cells = CellsMarkup([column.competency.pk for column in grid.columns], rating_id=rating_id, rated_id=rated_id)
    changed_rows = [row.student.pk for row in grid.rows if row.student.pk in changed_ids] if cells.shows_rated else []
    first_changed = next(iter(changed_rows), None)
    rows = [
        RowView(
            row,
            RatingInput(values.get(row.student.pk, ""), list(errors.get(row.student.pk, [])))
            if mode is not None
            else None,
            row.student.pk in changed_ids,
            cells.row(row, changed=row.student.pk in changed_ids, focus=row.student.pk == first_changed),
        )
        for row in grid.rows
    ]
    refused_rows = [view.row.student.pk for view in rows if view.rating is not None and view.rating.errors]
    focus_rating = next(iter(refused_rows or [view.row.student.pk for view in rows[:1]]), None)
    # Refusals about students who are not rows of the grid (not in the class, not seen) go above the grid.
    shown = {row.student.pk for row in grid.rows}
    others = [
        message for key, messages in errors.items() if key is not None and key not in shown for message in messages
    ]
    refusals = (mode.errors if mode else list(errors.get(None, []))) + others
    return {
        "section": section,
        "grid": grid,
        "rows": rows,
        "can_rate": can_rate and bool(grid.rows) and bool(grid.columns),
        "mode": mode,
        "refusals": refusals,
        "refused": bool(refusals) or bool(refused_rows),
        "rated_id": rated_id,
        "outcome": outcome,
        "focus_rating": focus_rating if mode is not None else None,
        "focus_outcome": outcome is not None and first_changed is None,
        "announcement": outcome.words() if outcome is not None else "",
        "filter_query": filter_query(grid),
        **columns_html(grid, rating_id=rating_id, chosen_id=rated_id),
        "legend": [(status, label, selectors.STATUS_ABBREVIATIONS[status]) for status, label in MasteryStatus.choices],
    }


# A full grid is 1.5 MB of HTML, nine tenths of it cells, and the template engine joins and copies its whole output
# again at each level of nesting (block, include, if, for): ten copies of the cells. So mastery/_grid.html writes
# this marker where a row's cells go and render() puts each row's cells (already escaped markup) in its place with
# one join. Text in the template is escaped, so no "<" of a user's text can make a marker.
CELLS_MARKER = "<!--grid-cells-->"


def render(request: HttpRequest, context: dict[str, Any], *, fragment: bool, status: int = 200) -> HttpResponse:
    """The grid page (mastery/grid.html), or for htmx its body (mastery/_grid.html) with the live region's
    announcement swapped in out of band. context: fragment_context(), plus the site chrome's for the page."""
    template = "mastery/_grid.html" if fragment else "mastery/grid.html"
    pieces = render_to_string(template, {**context, "oob": fragment}, request).split(CELLS_MARKER)
    cells = [view.cells_html for view in context["rows"]] if len(pieces) > 1 else []
    if len(pieces) != len(cells) + 1:
        raise ValueError(f"{template} has {len(pieces) - 1} cell markers for {len(cells)} rows.")
    return HttpResponse("".join(chain.from_iterable(zip(pieces, [*cells, ""], strict=True))), status=status)
