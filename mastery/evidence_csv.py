"""Evidence from a CSV file, validated whole before anything is stored.

Columns, by header name (any order, case-insensitive):
- `student`: the student's username (only users with a learner profile count);
- `competency`: the competency's code; `framework` (optional column, or the caller's default) names
  the framework by id, source identifier or name when a code exists in several frameworks;
- `observed_at`: ISO 8601 date or date-time; without an offset it is in settings.TIME_ZONE;
- the value, one per row: `score` (0..1), `raw_score` with `max_score`, `rating` (1..4), or `kind`
  "completion" with no value (`kind` may also say score or rating);
- optional `source` (else the caller's default), `external_id`, `note`.

`stage_evidence_csv` reads a file once, a chunk of rows at a time: it looks up what the chunk names that
earlier chunks did not (usernames, codes, frameworks), checks each row by the service's rules, and stages
the good ones (an EvidenceImport in the caller's transaction) while it checks the next. It returns the
number of rows and every error as (line, column, message); rows sharing a source and external_id with
different values (as the service compares them: normalized values) are found among the staged rows at the
end. A file that stops being UTF-8 or CSV part-way is reported at that line, after the errors of the rows
before it. It stores nothing: the caller stores the staged rows, all at once, only when there is no error.
Messages never repeat a username.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from typing import BinaryIO

from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models.expressions import RawSQL
from django.utils import timezone

from profiles.models import User

from .models import Competency, Framework
from .services.evidence import NOT_ASSESSABLE, REQUIRED, EvidenceImport, normalize_text_item

REQUIRED_COLUMNS = ("student", "competency", "observed_at")
VALUE_COLUMNS = ("score", "raw_score", "max_score", "rating", "kind")
OPTIONAL_COLUMNS = ("framework", "source", "external_id", "note")
# A row's values are taken in this order (the arguments of normalize_text_item, with the framework).
COLUMNS = REQUIRED_COLUMNS + VALUE_COLUMNS + OPTIONAL_COLUMNS
KNOWN_COLUMNS = frozenset(COLUMNS)
STUDENT, COMPETENCY, FRAMEWORK = (COLUMNS.index(name) for name in ("student", "competency", "framework"))
DEFAULT_SOURCE = "csv"
ROW = "(row)"  # the "column" of an error about a whole row
FILE = "(file)"
ROWS_PER_CHUNK = 20_000  # rows read, looked up and staged at a time

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
class StagedEvidence:
    """How many rows the file has, all staged; or the errors (then the staged rows must not be stored)."""

    rows: int = 0
    errors: list[CsvError] = field(default_factory=list)


# A row's values: its stripped cells in COLUMNS order, "" for a column the file does not have.
_Values = tuple[str, ...]
# A competency as the rows name it, (framework value, code): its id, or the errors as (column, message).
_Competency = int | tuple[tuple[str, str], ...]


class _Unreadable(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _records(file: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of each record, decoded as it is read; a quoted value may span lines."""
    reader = csv.reader(io.TextIOWrapper(file, encoding="utf-8-sig", newline=""), strict=True)
    line = 1
    try:
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise _Unreadable(line, f"Not readable as CSV: {exc}.") from None
    except UnicodeDecodeError:
        raise _Unreadable(_line_of_first_bad_byte(file), NOT_UTF8) from None


def _line_of_first_bad_byte(file: BinaryIO) -> int:
    """The line of the file's first byte that is not UTF-8, reading it again a block at a time."""
    file.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    while block := file.read(1 << 20):
        pending = len(decoder.getstate()[0])  # the start of a character split by the previous block
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            return line + block.count(b"\n", 0, max(exc.start - pending, 0))
        line += block.count(b"\n")
    return line  # the file ends inside a character


def _header(records: Iterator[tuple[int, list[str]]], errors: list[CsvError]) -> tuple[int, list[str]]:
    """The first non-blank record's line and column names; what is wrong with them goes to errors."""
    try:
        line, header = next((line, cells) for line, cells in records if any(c.strip() for c in cells))
    except StopIteration:
        errors.append(CsvError(1, FILE, NO_HEADER))
        return 1, []
    columns = [name.strip().lower() for name in header]
    seen: set[str] = set()
    for name in columns:
        if name not in KNOWN_COLUMNS:
            errors.append(CsvError(line, name or "(blank)", UNKNOWN_COLUMN))
        elif name in seen:
            errors.append(CsvError(line, name, DUPLICATE_COLUMN))
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            errors.append(CsvError(line, name, MISSING_COLUMN))
    if not seen & set(VALUE_COLUMNS):
        errors.append(CsvError(line, "score", MISSING_VALUE_COLUMN))
    if "raw_score" in seen and "max_score" not in seen:
        errors.append(CsvError(line, "max_score", MISSING_MAX_COLUMN))
    if "max_score" in seen and "raw_score" not in seen:
        errors.append(CsvError(line, "raw_score", MISSING_RAW_COLUMN))
    return line, columns


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


def _text_array(values: set[str]) -> RawSQL:
    # One array parameter instead of an IN list of thousands (PostgreSQL takes at most 65,535 parameters).
    return RawSQL("SELECT unnest(%s::text[])", [sorted(values)])


class _Names:
    """What the rows name, each looked up once: `students` by username (0: no such learner), `competencies`
    by the row's (framework, code) cells (the default framework applies to an empty framework cell). Only
    names that earlier chunks did not have are asked for."""

    def __init__(self, default_framework: str | None) -> None:
        self.default_framework = default_framework or ""
        self.students: dict[str, int] = {}
        self.competencies: dict[tuple[str, str], _Competency] = {}
        self._frameworks: dict[str, int | str] = {}
        self._codes: dict[str, dict[int, tuple[int, bool]]] = {}  # code → framework id → (id, assessable)

    def framework_error(self, value: str) -> str | None:
        self._frameworks.update(_resolve_frameworks({value} - self._frameworks.keys()))
        resolved = self._frameworks[value]
        return resolved if isinstance(resolved, str) else None

    def look_up(self, rows: list[tuple[int, _Values]]) -> None:
        """Look up what these rows name that no earlier rows did."""
        usernames = set(map(itemgetter(STUDENT), map(itemgetter(1), rows))).difference(self.students)
        usernames.discard("")
        if usernames:
            self.students.update(dict.fromkeys(usernames, 0))
            learners = User.objects.filter(username__in=_text_array(usernames), learner_profile__isnull=False)
            self.students.update(learners.values_list("username", "pk"))
        pairs = set(map(itemgetter(FRAMEWORK, COMPETENCY), map(itemgetter(1), rows))).difference(self.competencies)
        if not pairs:
            return
        default = self.default_framework
        frameworks = {name or default for name, _ in pairs} - {""} - self._frameworks.keys()
        self._frameworks.update(_resolve_frameworks(frameworks))
        codes = {code for _, code in pairs if code} - self._codes.keys()
        for code in codes:
            self._codes[code] = {}
        found = Competency.objects.filter(code__in=_text_array(codes)) if codes else Competency.objects.none()
        for code, framework_id, pk, assessable in found.values_list("code", "framework_id", "pk", "assessable"):
            self._codes[code][framework_id] = (pk, assessable)
        for name, code in pairs:
            self.competencies[name, code] = self._competency(name or default, code)

    def _competency(self, framework_value: str, code: str) -> _Competency:
        framework_id = self._frameworks[framework_value] if framework_value else None
        errors = [("framework", framework_id)] if isinstance(framework_id, str) else []
        if not code:
            errors.append(("competency", REQUIRED))
        if isinstance(framework_id, str) or not code:
            return tuple(errors)
        in_frameworks = self._codes[code]
        if framework_id is not None:
            found = in_frameworks.get(framework_id)
            if found is None:
                return (("competency", NO_SUCH_CODE_IN_FRAMEWORK.format(code=code)),)
        elif len(in_frameworks) == 1:
            (found,) = in_frameworks.values()
        else:
            return (("competency", (AMBIGUOUS_CODE if in_frameworks else NO_SUCH_CODE).format(code=code)),)
        pk, assessable = found
        return pk if assessable else (("competency", NOT_ASSESSABLE),)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Reading a file makes millions of short-lived lists and tuples and no reference cycle; Python's cycle
    collector would otherwise walk them (and every long-lived object) thousands of times, a third of the
    reading time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunks(records: Iterator[tuple[int, list[str]]]) -> Iterator[list[tuple[int, list[str]]]]:
    while chunk := list(islice(records, ROWS_PER_CHUNK)):
        yield chunk


def _values(
    chunk: list[tuple[int, list[str]]], columns: list[str], errors: list[CsvError]
) -> list[tuple[int, _Values]]:
    """Each non-blank record's values; a record of the wrong width is an error."""
    width = len(columns)
    take = itemgetter(*(columns.index(name) if name in columns else width for name in COLUMNS))
    rows = []
    for line, cells in chunk:
        if len(cells) != width:
            if any(cell.strip() for cell in cells):
                errors.append(CsvError(line, ROW, WRONG_WIDTH.format(count=len(cells), expected=width)))
            continue
        cells.append("")  # what `take` finds for a column the file does not have
        values = tuple(map(str.strip, take(cells)))
        if any(values):
            rows.append((line, values))
    return rows


def _checked(rows: list[tuple[int, _Values]], names: _Names, source: str, result: StagedEvidence) -> Iterator:
    """The good rows as (line, row) for staging; each bad row's errors go to result.errors."""
    tz = timezone.get_default_timezone()
    students, competencies = names.students, names.competencies
    errors = result.errors
    staged = 0
    for line, values in rows:
        (student, code, observed_at, score, raw_score, max_score, rating, kind,
         framework, row_source, external_id, note) = values  # fmt: skip
        student_id = students.get(student) or None
        competency = competencies[framework, code]
        competency_id = competency if type(competency) is int else None
        row, field_errors = normalize_text_item(student_id, competency_id, observed_at, score, raw_score, max_score,
                                                rating, kind, row_source or source, external_id, note, tz)  # fmt: skip
        if row is not None:
            staged += 1
            yield line, row
            continue
        if student_id is None:
            errors.append(CsvError(line, "student", NO_SUCH_STUDENT if student else REQUIRED))
        if competency_id is None:
            errors.extend(CsvError(line, column, message) for column, message in competency)  # type: ignore[union-attr]
        for service_field, messages in field_errors.items():
            if service_field not in ("student_id", "competency_id"):  # said above, by column
                column = SERVICE_FIELD_TO_COLUMN.get(service_field, service_field)
                errors.extend(CsvError(line, column, message) for message in messages)
    result.rows += staged


def stage_evidence_csv(
    file: BinaryIO, staging: EvidenceImport, *, source: str | None = None, framework: str | None = None
) -> StagedEvidence:
    """Read and check a whole file, staging its good rows. `source` and `framework` are the defaults for rows
    without them. Any error in the result: the file must not be stored."""
    result = StagedEvidence()
    errors = result.errors
    records = _records(file)
    columns: list[str] = []
    try:
        header_line, columns = _header(records, errors)
        names = _Names(framework)
        if framework and (message := names.framework_error(framework)):
            errors.append(CsvError(header_line, "--framework", message))
        if errors:
            return result
        with _cycle_collector_paused():
            for chunk in _chunks(records):
                rows = _values(chunk, columns, errors)
                names.look_up(rows)
                staging.stage(_checked(rows, names, source or DEFAULT_SOURCE, result))
    except _Unreadable as exc:
        errors.append(CsvError(exc.line, FILE, str(exc)))
    else:
        for line, first_line in staging.differing_repeats():
            errors.append(CsvError(line, "external_id", DUPLICATE_EXTERNAL_ID.format(line=first_line)))
    order = {name: position for position, name in enumerate(columns)}
    errors.sort(key=lambda error: (error.line, order.get(error.column, len(order)), error.message))
    return result
