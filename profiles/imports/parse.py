"""Stage 1, parse: a OneRoster CSV set (a zip or a folder) into rows bound to their header names.

Nothing here touches the database. Every value stays a string ("09" stays "09"); columns are bound by
header name, in any order; UTF-8 with or without a BOM, quoted fields and CRLF are read as the csv
module reads them. Password columns are dropped here, before any row exists, so a password can reach
neither the database nor a log. `metadata.*` and vendor columns are kept apart as the row's `extra`.
"""

from __future__ import annotations

import csv
import difflib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .issues import Issues
from .spec import COLUMNS, FILE_ORDER, KNOWN_MANIFEST_KEYS, KNOWN_OTHER_FILES, REQUIRED

BULK, DELTA, ABSENT = "bulk", "delta", "absent"


@dataclass
class Row:
    line: int  # the physical line the record starts on (the header is line 1)
    values: dict[str, str]  # spec column → value
    extra: dict[str, str]  # metadata.* and vendor columns → value


@dataclass
class ParsedFile:
    name: str  # "users"
    filename: str  # "users.csv"
    mode: str  # bulk or delta
    rows: list[Row] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)  # spec columns present in the header


@dataclass
class RosterSet:
    version: str  # "1.1" or "1.2"
    files: dict[str, ParsedFile]
    issues: Issues


SUFFIXES = (".csv", ".json")
# A zip whose files would unpack to more than this is refused before anything is read (zip bombs).
MAX_UNPACKED_BYTES = 2 * 1024**3


class UnreadableSource(Exception):
    """The path is neither a folder nor a readable zip of a sensible size."""


def read_source(path: Path) -> dict[str, bytes]:
    """The CSV (or REST JSON) files of a zip or a folder, by file name (a zip's sub-folders are ignored)."""
    if path.is_dir():
        return {child.name: child.read_bytes() for child in sorted(path.iterdir()) if child.suffix.lower() in SUFFIXES}
    try:
        with zipfile.ZipFile(path) as archive:
            members = [i for i in archive.infolist() if not i.is_dir() and i.filename.lower().endswith(SUFFIXES)]
            if sum(info.file_size for info in members) > MAX_UNPACKED_BYTES:
                raise UnreadableSource(f"the zip unpacks to more than {MAX_UNPACKED_BYTES // 1024**3} GB")
            return {Path(info.filename).name: archive.read(info) for info in members}
    except (zipfile.BadZipFile, OSError) as error:
        raise UnreadableSource("not a zip file nor a folder") from error


def _decode(filename: str, data: bytes, issues: Issues) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        issues.error(filename, 0, "", f"is not UTF-8 (byte {error.start}); save it as UTF-8 and import again")
        return None


def _records(text: str) -> list[tuple[int, list[str]]]:
    """(starting line, fields) for every non-blank record; a quoted field may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []
    next_line = 1
    for fields in reader:
        if any(value.strip() for value in fields):
            records.append((next_line, fields))
        next_line = reader.line_num + 1
    return records


def parse_manifest(text: str, issues: Issues) -> dict[str, str]:
    manifest: dict[str, str] = {}
    for line, fields in _records(text)[1:]:
        key = fields[0].strip()
        value = fields[1].strip() if len(fields) > 1 else ""
        if key not in KNOWN_MANIFEST_KEYS:
            issues.warn("manifest.csv", line, "propertyName", f"unknown manifest key “{key}” ignored")
            continue
        if key.startswith("file.") and value.lower() not in (BULK, DELTA, ABSENT):
            issues.warn("manifest.csv", line, "value", f"{key} has no valid value (“{value}”); read as absent")
            value = ABSENT
        manifest[key] = value.lower() if key.startswith("file.") else value
    return manifest


def detect_version(manifest: dict[str, str], files: dict[str, bytes]) -> str:
    """1.2 when the manifest says so, or when 1.2-only files or user columns are there."""
    declared = manifest.get("oneroster.version", "")
    if declared.startswith("1.2"):
        return "1.2"
    if declared.startswith("1.1"):
        return "1.1"
    users_header = files.get("users.csv", b"").split(b"\n", 1)[0]
    return "1.2" if "roles.csv" in files or b"primaryOrgSourcedId" in users_header else "1.1"


def _bind_header(name: str, filename: str, header: list[str], issues: Issues) -> dict[int, str] | None:
    """Header position → spec column or extension column name; None when a required column is missing."""
    known = COLUMNS[name]
    by_lower = {column.lower(): column for column in known}
    bound: dict[int, str] = {}
    for position, raw in enumerate(header):
        title = raw.strip()
        if not title:
            issues.warn(filename, 1, f"{position + 1}", "empty column header; the column is ignored")
            continue
        if "password" in title.lower():
            # Dropped at parse time: never stored, never logged.
            issues.warn(filename, 1, title, "password column dropped (passwords are never imported)")
            continue
        if title in known:
            bound[position] = title
        elif title.lower() in by_lower:
            bound[position] = by_lower[title.lower()]
            issues.warn(filename, 1, title, f"column name read as “{by_lower[title.lower()]}” (wrong case)")
        else:
            bound[position] = title
            if not title.startswith("metadata.") and not title.startswith("ext_"):
                close = difflib.get_close_matches(title, known, n=1, cutoff=0.8)
                hint = f"; did you mean “{close[0]}”?" if close else ""
                issues.warn(filename, 1, title, f"not a OneRoster column, kept as an extension column{hint}")
    missing = [column for column in REQUIRED[name] if column not in bound.values()]
    for column in missing:
        issues.error(filename, 1, column, "required column is missing from the header")
    return None if missing else bound


def parse_file(name: str, filename: str, mode: str, text: str, issues: Issues) -> ParsedFile | None:
    records = _records(text)
    parsed = ParsedFile(name=name, filename=filename, mode=mode)
    if not records:
        issues.error(filename, 1, "", "the file is empty (not even a header)")
        return None
    _, header = records[0]
    bound = _bind_header(name, filename, header, issues)
    if bound is None:
        return None
    spec_columns = set(COLUMNS[name])
    parsed.columns = {column for column in bound.values() if column in spec_columns}
    for line, fields in records[1:]:
        row = Row(line=line, values={}, extra={})
        for position, value in enumerate(fields):
            column = bound.get(position)
            if column is None:
                if value.strip() and position >= len(header):
                    issues.error(filename, line, f"{position + 1}", "value beyond the last column of the header")
                continue
            (row.values if column in spec_columns else row.extra)[column] = value.strip()
        if len(fields) > len(header):
            issues.warn(filename, line, "", f"{len(fields)} fields for a {len(header)}-column header")
        parsed.rows.append(row)
    return parsed


def parse_set(files: dict[str, bytes]) -> RosterSet:
    """Parse every file the manifest marks bulk or delta; warn about the rest."""
    issues = Issues()
    if "manifest.csv" not in files:
        issues.error("manifest.csv", 0, "", "the set has no manifest.csv")
        return RosterSet(version="", files={}, issues=issues)
    manifest_text = _decode("manifest.csv", files["manifest.csv"], issues) or ""
    manifest = parse_manifest(manifest_text, issues)
    version = detect_version(manifest, files)
    parsed: dict[str, ParsedFile] = {}
    expected = {f"{name}.csv" for name in [*FILE_ORDER, *KNOWN_OTHER_FILES]}
    for filename in sorted(set(files) - expected):
        issues.warn(filename, 0, "", "not a OneRoster file name (names are case-sensitive); ignored")
    for name in sorted(KNOWN_OTHER_FILES - {"manifest"}):
        if f"{name}.csv" in files and manifest.get(f"file.{name}", ABSENT) != ABSENT:
            issues.warn(f"{name}.csv", 0, "", "not imported: the platform keeps no such records")
    for name in FILE_ORDER:
        filename = f"{name}.csv"
        mode = manifest.get(f"file.{name}", ABSENT)
        if mode == ABSENT:
            if filename in files:
                issues.warn(filename, 0, "", "present but the manifest marks it absent; ignored")
            continue
        if filename not in files:
            issues.error(filename, 0, "", f"the manifest marks it {mode} but the file is not in the set")
            continue
        text = _decode(filename, files[filename], issues)
        if text is not None and (result := parse_file(name, filename, mode, text, issues)):
            parsed[name] = result
    return RosterSet(version=version, files=parsed, issues=issues)
