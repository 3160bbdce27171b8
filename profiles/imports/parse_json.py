"""Stage 1 for OneRoster REST JSON collections ({"users": [...]}, one file per collection).

Each record becomes the same `Row` a CSV line becomes, so validation and apply are shared: GUIDRef
objects (`{"sourcedId": ..., "href": ..., "type": ...}`) become the CSV `...SourcedId(s)` columns,
lists are joined with commas, 1/0 and true/false become "true"/"false", null becomes "". A collection
is a full snapshot, so it is read as a bulk file. Issues name the record (its position) instead of a line.
"""

from __future__ import annotations

import json
from typing import Any

from .issues import Issues
from .parse import BULK, ParsedFile, RosterSet, Row
from .spec import COLUMNS, FILE_ORDER, REQUIRED

# REST field → CSV column, where they differ.
REFERENCES = {
    "parent": "parentSourcedId",
    "course": "courseSourcedId",
    "school": "schoolSourcedId",
    "terms": "termSourcedIds",
    "org": "orgSourcedId",
    "orgs": "orgSourcedIds",
    "agents": "agentSourcedIds",
    "user": "userSourcedId",
    "class": "classSourcedId",
    "primaryOrg": "primaryOrgSourcedId",
    "schoolYear": "schoolYearSourcedId",  # on courses; on sessions schoolYear is a plain year
}
DERIVED = {"children"}  # the inverse of `parent`: nothing to read
BOOLEANS = {"enabledUser", "primary"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        if "sourcedId" in value:
            return str(value["sourcedId"])
        if "identifier" in value:  # a userIds entry
            return f"{{{value.get('type', '')}:{value['identifier']}}}"
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _row(name: str, position: int, record: dict) -> Row:
    known = set(COLUMNS[name])
    row = Row(line=position, values={}, extra={})
    for key, value in record.items():
        # On sessions schoolYear is a plain year; elsewhere a reference.
        column = key if name == "academicSessions" and key == "schoolYear" else REFERENCES.get(key, key)
        if key in DERIVED or "password" in key.lower():
            continue  # passwords are dropped here, like CSV password columns
        if key == "metadata" and isinstance(value, dict):
            row.extra.update({f"metadata.{k}": _text(v) for k, v in value.items()})
        elif column in known:
            text = _text(value)
            if key in BOOLEANS and text in ("1", "0"):
                text = "true" if text == "1" else "false"
            row.values[column] = text
        else:
            row.extra[key] = _text(value)
    for column in REQUIRED[name]:
        row.values.setdefault(column, "")
    return row


def parse_json_set(files: dict[str, bytes]) -> RosterSet:
    issues = Issues(unit="record")
    parsed: dict[str, ParsedFile] = {}
    for name in FILE_ORDER:
        filename = f"{name}.json"
        if filename not in files:
            continue
        try:
            records = json.loads(files[filename].decode("utf-8-sig")).get(name)
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as error:
            issues.error(filename, 0, "", f"is not a OneRoster JSON collection ({error.__class__.__name__})")
            continue
        if not isinstance(records, list):
            issues.error(filename, 0, "", f"has no “{name}” list")
            continue
        file = ParsedFile(name=name, filename=filename, mode=BULK)
        file.rows = [_row(name, index, record) for index, record in enumerate(records, 1)]
        file.columns = set(COLUMNS[name]) & {column for row in file.rows for column in row.values}
        parsed[name] = file
    return RosterSet(version="1.1", files=parsed, issues=issues)
