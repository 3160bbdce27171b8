"""Evidence from a CSV file, validated whole before anything is stored.

Columns, by header name (any order, case-insensitive):
- `student`: the student's username (only users with a learner profile count);
- `competency`: the competency's code; `framework` (optional column, or the caller's default) names
  the framework by id, source identifier or name when a code exists in several frameworks;
- `observed_at`: ISO 8601 date or date-time; without an offset it is in settings.TIME_ZONE;
- the value, one per row: `score` (0..1), `raw_score` with `max_score`, `rating` (1..4), or `kind`
  "completion" with no value (`kind` may also say score or rating);
- optional `source` (else the caller's default), `external_id`, `note`.

`parse_evidence_csv` reads only what the file names from the database (usernames, codes, frameworks)
and returns either the items for `evidence_record_bulk` with their line numbers, or every error as
(line, column, message). It stores nothing. Messages never repeat a username.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS

from profiles.models import User

from .models import Competency, Framework
from .services.evidence import REQUIRED, evidence_validate

REQUIRED_COLUMNS = ("student", "competency", "observed_at")
VALUE_COLUMNS = ("score", "raw_score", "max_score", "rating", "kind")
OPTIONAL_COLUMNS = ("framework", "source", "external_id", "note")
KNOWN_COLUMNS = frozenset(REQUIRED_COLUMNS + VALUE_COLUMNS + OPTIONAL_COLUMNS)
DEFAULT_SOURCE = "csv"
ROW = "(row)"  # the "column" of an error about a whole row
FILE = "(file)"

# The service's field names, as this file's columns.
SERVICE_FIELD_TO_COLUMN = {"student_id": "student", "competency_id": "competency", NON_FIELD_ERRORS: ROW}

NOT_UTF8 = "Not UTF-8 text."
NO_HEADER = "The file is empty: a header line is required."
UNKNOWN_COLUMN = "Unknown column."
DUPLICATE_COLUMN = "This column appears more than once."
MISSING_COLUMN = "Missing column."
MISSING_VALUE_COLUMN = "Missing column: give score, raw_score with max_score, rating, or kind."
MISSING_MAX_COLUMN = "Missing column (needed with raw_score)."
MISSING_RAW_COLUMN = "Missing column (needed with max_score)."
WRONG_WIDTH = "{count} values, but the header has {expected} columns."
NO_SUCH_STUDENT = "No student with this username."
NO_SUCH_FRAMEWORK = "No such framework."
AMBIGUOUS_FRAMEWORK = "Several frameworks have this name; give its id or source identifier."
NO_SUCH_CODE = "No competency with code {code!r}."
NO_SUCH_CODE_IN_FRAMEWORK = "No competency with code {code!r} in this framework."
AMBIGUOUS_CODE = "Code {code!r} is used in several frameworks; add a framework column or option."
DUPLICATE_EXTERNAL_ID = "Same source and external_id as line {line}, with different values."


@dataclass(frozen=True, order=True)
class CsvError:
    line: int
    column: str
    message: str

    def format(self, filename: str) -> str:
        return f"{filename}:{self.line}: {self.column}: {self.message}"


@dataclass
class ParsedEvidence:
    """The items for evidence_record_bulk and the line of each; or the errors (then no items)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    errors: list[CsvError] = field(default_factory=list)


class _Unreadable(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of each record; a quoted value may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    try:
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise _Unreadable(line, f"Not readable as CSV: {exc}.") from None


def _resolve_frameworks(values: set[str]) -> dict[str, int | str]:
    """Each framework value → its id, or the error message."""
    resolved: dict[str, int | str] = {}
    frameworks = list(Framework.objects.values_list("pk", "name", "source_identifier"))
    for value in values:
        if value.isdigit() and any(pk == int(value) for pk, _, _ in frameworks):
            resolved[value] = int(value)
            continue
        by_identifier = [pk for pk, _, identifier in frameworks if identifier == value]
        by_name = [pk for pk, name, _ in frameworks if name == value]
        if by_identifier:
            resolved[value] = by_identifier[0]
        elif len(by_name) == 1:
            resolved[value] = by_name[0]
        else:
            resolved[value] = AMBIGUOUS_FRAMEWORK if by_name else NO_SUCH_FRAMEWORK
    return resolved


def parse_evidence_csv(data: bytes, *, source: str | None = None, framework: str | None = None) -> ParsedEvidence:
    """Read and check a whole file. `source` and `framework` are the defaults for rows without them."""
    result = ParsedEvidence()
    errors = result.errors
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        errors.append(CsvError(data.count(b"\n", 0, exc.start) + 1, FILE, NOT_UTF8))
        return result

    records = _records(text)
    try:
        header_line, header = next((line, cells) for line, cells in records if any(c.strip() for c in cells))
    except StopIteration:
        errors.append(CsvError(1, FILE, NO_HEADER))
        return result
    except _Unreadable as exc:
        errors.append(CsvError(exc.line, FILE, str(exc)))
        return result
    columns = [name.strip().lower() for name in header]
    seen: set[str] = set()
    for name in columns:
        if name not in KNOWN_COLUMNS:
            errors.append(CsvError(header_line, name or "(blank)", UNKNOWN_COLUMN))
        elif name in seen:
            errors.append(CsvError(header_line, name, DUPLICATE_COLUMN))
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            errors.append(CsvError(header_line, name, MISSING_COLUMN))
    if not seen & set(VALUE_COLUMNS):
        errors.append(CsvError(header_line, "score", MISSING_VALUE_COLUMN))
    if "raw_score" in seen and "max_score" not in seen:
        errors.append(CsvError(header_line, "max_score", MISSING_MAX_COLUMN))
    if "max_score" in seen and "raw_score" not in seen:
        errors.append(CsvError(header_line, "raw_score", MISSING_RAW_COLUMN))
    frameworks = _resolve_frameworks({framework} if framework else set())
    if framework and isinstance(frameworks[framework], str):
        errors.append(CsvError(header_line, "--framework", str(frameworks[framework])))
    if errors:
        return result

    # Rows as dicts of stripped cells ("" for an empty cell).
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for line, cells in records:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(cells) != len(columns):
                errors.append(CsvError(line, ROW, WRONG_WIDTH.format(count=len(cells), expected=len(columns))))
                continue
            rows.append((line, {name: cell.strip() for name, cell in zip(columns, cells, strict=True)}))
    except _Unreadable as exc:
        errors.append(CsvError(exc.line, FILE, str(exc)))
        return result

    # What the rows name, looked up once each.
    usernames = {row["student"] for _, row in rows if row["student"]}
    students = dict(
        User.objects.filter(username__in=usernames, learner_profile__isnull=False).values_list("username", "pk")
    )
    frameworks.update(_resolve_frameworks({row["framework"] for _, row in rows if row.get("framework")}))
    codes = {row["competency"] for _, row in rows if row["competency"]}
    competencies: dict[str, dict[int, int]] = {}
    for code, in_framework, pk in Competency.objects.filter(code__in=codes).values_list("code", "framework_id", "pk"):
        competencies.setdefault(code, {})[in_framework] = pk

    items: list[dict[str, Any]] = []
    lines: list[int] = []
    first_by_key: dict[tuple[str, str], tuple[int, tuple]] = {}
    unresolved: set[tuple[int, str]] = set()  # (line, column) whose id could not be found, reported above
    for line, row in rows:
        student_id = competency_id = None
        if not row["student"]:
            errors.append(CsvError(line, "student", REQUIRED))
        else:
            student_id = students.get(row["student"])
            if student_id is None:
                errors.append(CsvError(line, "student", NO_SUCH_STUDENT))
        framework_value = row.get("framework") or framework or ""
        framework_id = frameworks[framework_value] if framework_value else None
        if isinstance(framework_id, str):
            errors.append(CsvError(line, "framework", framework_id))
        code = row["competency"]
        if not code:
            errors.append(CsvError(line, "competency", REQUIRED))
        elif not isinstance(framework_id, str):
            in_frameworks = competencies.get(code, {})
            if framework_id is not None:
                competency_id = in_frameworks.get(framework_id)
                if competency_id is None:
                    errors.append(CsvError(line, "competency", NO_SUCH_CODE_IN_FRAMEWORK.format(code=code)))
            elif len(in_frameworks) == 1:
                competency_id = next(iter(in_frameworks.values()))
            else:
                message = AMBIGUOUS_CODE if in_frameworks else NO_SUCH_CODE
                errors.append(CsvError(line, "competency", message.format(code=code)))

        if student_id is None:
            unresolved.add((line, "student"))
        if competency_id is None:
            unresolved.add((line, "competency"))
        item: dict[str, Any] = {
            "student_id": student_id,
            "competency_id": competency_id,
            "observed_at": row["observed_at"] or None,
            "source": row.get("source") or source or DEFAULT_SOURCE,
            "external_id": row.get("external_id") or None,
            "note": row.get("note", ""),
        }
        for name in VALUE_COLUMNS:
            item[name] = row.get(name) or None
        if item["external_id"] is not None:
            payload = tuple(item.items())
            first_line, first_payload = first_by_key.setdefault((item["source"], item["external_id"]), (line, payload))
            if first_line != line and first_payload != payload:
                errors.append(CsvError(line, "external_id", DUPLICATE_EXTERNAL_ID.format(line=first_line)))
        items.append(item)
        lines.append(line)

    # The values themselves (dates, scores, ratings, lengths) by the service's own rules; a column that
    # already has its error above (an unknown student, say) is not reported twice.
    reported = unresolved | {(error.line, error.column) for error in errors}
    for index, fields in evidence_validate(items=items).items():
        for service_field, messages in fields.items():
            column = SERVICE_FIELD_TO_COLUMN.get(service_field, service_field)
            if (lines[index], column) not in reported:
                errors.extend(CsvError(lines[index], column, message) for message in messages)
    if errors:
        order = {name: position for position, name in enumerate(columns)}
        errors.sort(key=lambda error: (error.line, order.get(error.column, len(order)), error.message))
        return result
    result.items, result.lines = items, lines
    return result
