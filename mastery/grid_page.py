"""What the section mastery grid's page and its fragment show, built once for three callers: the grid page
(mastery.views), its CSV export (the same rows and columns, cell for cell) and the ratings form that posts to
pathways (pathways.views re-renders the fragment with the changed cells after recording ratings).

No access decisions here: callers pass the section they fetched through profiles/access.py and the access-
scoped queryset of students the viewer sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from profiles.models import Section, User

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


def load_grid(*, section: Section, visible_students: QuerySet[User], filters: GridFilters) -> selectors.MasteryGrid:
    """The grid for these filters; an unknown framework is 404."""
    try:
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
    rows = [["Student", *(column.competency.code for column in grid.columns)]]
    rows.extend([str(row.student), *(cell_words(cell) for cell in row.cells)] for row in grid.rows)
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
    cells_html: str = ""  # the row's cells, rendered by cells_html() below


# A grid of 35 students × 200 competencies has 7,000 cells: rendered one by one by the template engine they take
# over half a second, so each row's cells are written here, in one pass, with the same markup the template
# would write. Every piece of text is escaped; the ids are integers.


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


def cells_html(
    row: selectors.GridRow, competency_ids: list[int], *, rating_id: int | None, rated_id: int | None, changed: bool
) -> SafeString:
    """One row's cells: each links to the explanation, shows its abbreviation, says its status in words (and
    "teacher override", and "changed just now" for the rated cell that changed) and, in the ratings mode,
    leaves the Tab order (rating_id: the competency being rated)."""
    explanation = reverse("mastery-explanation", args=[row.student.pk, 0])
    prefix = explanation[: -len("0/")]  # the competency id is the path's last part
    tab = ' tabindex="-1"' if rating_id is not None else ""
    parts = []
    for competency_id, cell in zip(competency_ids, row.cells, strict=True):
        classes, title, abbreviation, words = _cell_texts(cell.status, cell.overridden)
        if (changed and competency_id == rated_id) or competency_id == rating_id:
            if changed and competency_id == rated_id:
                classes += " mastery-cell--changed"
                words += ", changed just now"
            if competency_id == rating_id:
                classes += " mastery-cell--rated"
        parts.append(
            f'<td class="mastery-cell mastery-cell--{classes}">\n'
            f'  <a href="{prefix}{competency_id}/" title="{title}"{tab}><span aria-hidden="true">{abbreviation}</span>'
            f'<span class="visually-hidden">{words}</span></a>\n</td>'
        )
    return mark_safe("\n".join(parts))


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


def columns_html(grid: selectors.MasteryGrid, *, rating_id: int | None, chosen_id: int | None) -> dict[str, SafeString]:
    """The parts of the page with one entry per column (200 in a full grade), written in one pass like the
    cells: the heading cells, the Mastered totals, the options of "Record ratings on" and the key."""
    heads, totals, options, key = [], [], [], []
    for column in grid.columns:
        competency = column.competency
        code, statement = escape(competency.code), escape(competency.statement)
        rated = " mastery-grid__competency--rated" if competency.pk == rating_id else ""
        heads.append(
            f'<th scope="col" class="mastery-grid__competency{rated}"><abbr title="{statement}">{code}</abbr></th>'
        )
        totals.append(f'<td class="mastery-grid__total">{column.mastered}</td>')
        short = escape(Truncator(competency.statement).chars(70))
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
    status on rated_id changed just now (their cells are marked)."""
    values = values or {}
    errors = errors or {}
    column = next((c for c in grid.columns if c.competency.pk == rate_id), None) if can_rate else None
    mode = None
    if column is not None:
        mode = RatingMode(column.competency, batch_key or uuid.uuid4().hex, note, list(errors.get(None, [])))
    changed_ids = set(changed)
    rating_id = mode.competency.pk if mode is not None else None
    competency_ids = [column.competency.pk for column in grid.columns]
    rows = [
        RowView(
            row,
            RatingInput(values.get(row.student.pk, ""), list(errors.get(row.student.pk, [])))
            if mode is not None
            else None,
            row.student.pk in changed_ids,
            cells_html(
                row, competency_ids, rating_id=rating_id, rated_id=rated_id, changed=row.student.pk in changed_ids
            ),
        )
        for row in grid.rows
    ]
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
        "refused": bool(refusals) or any(view.rating is not None and view.rating.errors for view in rows),
        "rated_id": rated_id,
        "outcome": outcome,
        "filter_query": filter_query(grid),
        **columns_html(grid, rating_id=rating_id, chosen_id=rated_id),
        "legend": [(status, label, selectors.STATUS_ABBREVIATIONS[status]) for status, label in MasteryStatus.choices],
    }
