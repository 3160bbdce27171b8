"""Stage 2, validate: every value and every reference of a parsed set, before anything is written.

Values are checked and normalized in place (enumerations of the wrong case, the legacy status
`inactive` read as `tobedeleted`); references must point at a row of the set or at a row an earlier
import of the same source linked (`Known`). Every problem names its file, line and column.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from .issues import Issues
from .parse import ParsedFile, RosterSet, Row
from .spec import BOOLEAN_COLUMNS, DATE_COLUMNS, DATETIME_COLUMNS, REQUIRED_VALUES, enum_values

TOBEDELETED = "tobedeleted"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# ISO 8601 date-time as OneRoster writes it (a date alone is accepted for dateLastModified too).
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


@dataclass
class Known:
    """Rows an earlier import of this source linked: org sourcedId → "school"/"district", and id sets."""

    orgs: dict[str, str] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)


def split_ids(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def is_deleted(row: Row) -> bool:
    return row.values.get("status") == TOBEDELETED


def _check_value(file: ParsedFile, row: Row, column: str, issues: Issues) -> None:
    value = row.values[column]
    if not value:
        return
    where = (file.filename, row.line, column)
    if column in DATE_COLUMNS and not _is_date(value):
        issues.error(*where, f"“{value}” is not an ISO 8601 date (YYYY-MM-DD)")
    elif column in DATETIME_COLUMNS and not (ISO_DATETIME.match(value) and _is_datetime(value)):
        issues.error(*where, f"“{value}” is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss.sssZ)")
    elif column in BOOLEAN_COLUMNS and value.lower() not in ("true", "false"):
        issues.error(*where, f"“{value}” is not true or false")
    elif allowed := enum_values(file.name, column):
        _normalize_enum(file, row, column, allowed, issues)


def _is_date(value: str) -> bool:
    if not ISO_DATE.match(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _normalize_enum(file: ParsedFile, row: Row, column: str, allowed: list[str], issues: Issues) -> None:
    value = row.values[column]
    where = (file.filename, row.line, column)
    if column == "status" and value.lower() == "inactive":
        issues.warn(*where, "status “inactive” (OneRoster 1.0) read as “tobedeleted”")
        row.values[column] = TOBEDELETED
        return
    if value in allowed:
        return
    by_lower = {option.lower(): option for option in allowed}
    if value.lower() in by_lower:
        row.values[column] = by_lower[value.lower()]
        issues.warn(*where, f"“{value}” normalized to “{by_lower[value.lower()]}”")
    elif column in ("role", "type", "classType"):
        # Roles and types outside the enumeration are refused: their meaning cannot be guessed.
        issues.error(*where, f"“{value}” is not one of: {', '.join(allowed)}")
    else:
        issues.warn(*where, f"“{value}” is not one of: {', '.join(allowed)}")


def check_values(roster: RosterSet) -> None:
    issues = roster.issues
    for file in roster.files.values():
        seen: dict[str, int] = {}
        for row in file.rows:
            for column in REQUIRED_VALUES[file.name]:
                if column in file.columns and not row.values.get(column):
                    issues.error(file.filename, row.line, column, "a value is required")
            for column in row.values:
                _check_value(file, row, column, issues)
            sourced_id = row.values.get("sourcedId", "")
            if sourced_id in seen:
                issues.error(file.filename, row.line, "sourcedId", f"“{sourced_id}” repeats line {seen[sourced_id]}")
            seen.setdefault(sourced_id, row.line)
        if file.name == "academicSessions":
            _check_session_dates(file, issues)
    if roster.version == "1.1" and "users" in roster.files and "role" not in roster.files["users"].columns:
        issues.error("users.csv", 1, "role", "required column is missing from the header (OneRoster 1.1)")


def _check_session_dates(file: ParsedFile, issues: Issues) -> None:
    for row in file.rows:
        start, end = row.values.get("startDate", ""), row.values.get("endDate", "")
        if _is_date(start) and _is_date(end) and start >= end:
            issues.error(file.filename, row.line, "endDate", f"{end} is not after the start date {start}")


class _References:
    """Which sourcedIds exist, in the set or from an earlier import."""

    def __init__(self, roster: RosterSet, known: Known) -> None:
        def ids(name: str) -> set[str]:
            file = roster.files.get(name)
            return {row.values["sourcedId"] for row in file.rows} if file else set()

        org_file = roster.files.get("orgs")
        self.orgs = dict(known.orgs)
        if org_file:
            self.orgs.update({row.values["sourcedId"]: row.values.get("type", "") for row in org_file.rows})
        self.sessions = ids("academicSessions") | known.sessions
        self.classes = ids("classes") | known.classes
        self.users = ids("users") | known.users
        self.courses = ids("courses")


def _ref(issues: Issues, file: ParsedFile, row: Row, column: str, exists: bool, what: str) -> None:
    value = row.values.get(column, "")
    if value and not exists:
        issues.error(file.filename, row.line, column, f"{what} “{value}” is not in this set nor imported before")


def _check_school(issues: Issues, refs: _References, file: ParsedFile, row: Row, column: str) -> None:
    value = row.values.get(column, "")
    if not value:
        return
    kind = refs.orgs.get(value)
    if kind is None:
        _ref(issues, file, row, column, False, "org")
    elif kind != "school":
        issues.error(file.filename, row.line, column, f"org “{value}” is a {kind}, not a school")


def check_references(roster: RosterSet, known: Known) -> None:
    refs = _References(roster, known)
    issues = roster.issues
    files = roster.files
    for row in _live(files.get("orgs")):
        _ref(issues, files["orgs"], row, "parentSourcedId", row.values.get("parentSourcedId", "") in refs.orgs, "org")
    for row in _live(files.get("academicSessions")):
        parent = row.values.get("parentSourcedId", "")
        _ref(issues, files["academicSessions"], row, "parentSourcedId", parent in refs.sessions, "session")
    for row in _live(files.get("classes")):
        file = files["classes"]
        _check_school(issues, refs, file, row, "schoolSourcedId")
        for term in split_ids(row.values.get("termSourcedIds", "")):
            if term not in refs.sessions:
                issues.error(file.filename, row.line, "termSourcedIds", f"session “{term}” is not in this set")
        course = row.values.get("courseSourcedId", "")
        if course and course not in refs.courses:
            issues.warn(file.filename, row.line, "courseSourcedId", f"course “{course}” is not in this set")
    for row in _live(files.get("users")):
        file = files["users"]
        for org in split_ids(row.values.get("orgSourcedIds", "")):
            if org not in refs.orgs:
                issues.error(file.filename, row.line, "orgSourcedIds", f"org “{org}” is not in this set")
        _ref(issues, file, row, "primaryOrgSourcedId", row.values.get("primaryOrgSourcedId", "") in refs.orgs, "org")
        for agent in split_ids(row.values.get("agentSourcedIds", "")):
            if agent not in refs.users:
                issues.warn(file.filename, row.line, "agentSourcedIds", f"user “{agent}” is not in this set")
    for row in _live(files.get("roles")):
        file = files["roles"]
        _ref(issues, file, row, "userSourcedId", row.values["userSourcedId"] in refs.users, "user")
        _ref(issues, file, row, "orgSourcedId", row.values["orgSourcedId"] in refs.orgs, "org")
    for row in _live(files.get("enrollments")):
        file = files["enrollments"]
        _ref(issues, file, row, "classSourcedId", row.values["classSourcedId"] in refs.classes, "class")
        _ref(issues, file, row, "userSourcedId", row.values["userSourcedId"] in refs.users, "user")
        _check_school(issues, refs, file, row, "schoolSourcedId")
    for row in _live(files.get("demographics")):
        _ref(issues, files["demographics"], row, "sourcedId", row.values["sourcedId"] in refs.users, "user")


def _live(file: ParsedFile | None) -> list[Row]:
    """Rows that are not being deleted (a row on its way out may point at anything)."""
    return [row for row in file.rows if not is_deleted(row)] if file else []


def validate(roster: RosterSet, known: Known) -> None:
    check_values(roster)
    check_references(roster, known)
