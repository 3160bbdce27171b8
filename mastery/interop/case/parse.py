"""Reading a CASE 1.0/1.1 CFPackage (JSON) into plain data: no ORM here.

Lenient on purpose: real exports break the official 1.1 schema (OpenSALT's 1.0 files spell
`educationalLevel` as a string, give `CFDocumentURI` as a bare string, leave out `humanCodingScheme`),
so a deviation we can read through is a named warning, and only what we cannot import at all (no
identifier, no statement, a hierarchy loop, text that is not UTF-8 JSON) is an error. Every problem
names its JSON path and, where there is one, the CASE identifier.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from profiles.modelbase import GRADE_MAX, GRADE_MIN

CODE_MAX_LENGTH = 100  # Competency.code
NAME_MAX_LENGTH = 200  # Framework.name
SUBJECT_MAX_LENGTH = 100  # Framework.subject
IDENTIFIER_MAX_LENGTH = 255
DEFAULT_SUBJECT = "Unspecified"

IS_CHILD_OF = "isChildOf"
PRECEDES = "precedes"
EXACT_MATCH_OF = "exactMatchOf"
IMPORTED_TYPES = {IS_CHILD_OF, PRECEDES, EXACT_MATCH_OF}

# CEDS grade codes that name kindergarten; "01".."12" (or "1".."12") name the grades.
KINDERGARTEN_CODES = {"KG", "K", "TK"}
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class CaseProblem:
    """One error or warning: a short name, the JSON path, the identifier concerned, and what is wrong."""

    code: str
    path: str
    message: str
    identifier: str = ""

    def __str__(self) -> str:
        where = f"{self.path} ({self.identifier})" if self.identifier else self.path
        return f"{where}: {self.message} [{self.code}]"


class CasePackageError(Exception):
    """The package cannot be imported; `problems` lists every error found (nothing was stored)."""

    def __init__(self, problems: list[CaseProblem], warnings: list[CaseProblem] | None = None) -> None:
        self.problems = problems
        self.warnings = warnings or []
        super().__init__("; ".join(str(problem) for problem in problems))


@dataclass(frozen=True)
class NodeRef:
    identifier: str
    uri: str
    title: str


@dataclass
class CaseItem:
    identifier: str
    uri: str
    statement: str
    human_coding_scheme: str  # "" when the file has none
    list_enumeration: str
    item_type: str
    grades: list[int]  # the K-12 grades named by educationLevel, lowest first
    position: int  # index in CFItems: the last tie-breaker of sibling order
    path: str


@dataclass(frozen=True)
class CaseAssociation:
    identifier: str
    association_type: str
    origin: NodeRef
    destination: NodeRef
    sequence_number: int | None
    path: str


@dataclass
class CasePackage:
    identifier: str
    uri: str
    title: str
    subject: str  # "" when the file names none
    items: list[CaseItem]
    associations: list[CaseAssociation]
    warnings: list[CaseProblem] = field(default_factory=list)

    # Derived by `case_parse`: the hierarchy and the values each competency gets.
    parent_of: dict[str, str | None] = field(default_factory=dict)  # item → parent item (None: top level)
    sort_order: dict[str, int] = field(default_factory=dict)  # preorder position, siblings in CASE order
    sibling_position: dict[str, int] = field(default_factory=dict)  # 1-based among its siblings
    grade_of: dict[str, int] = field(default_factory=dict)
    code_of: dict[str, str] = field(default_factory=dict)
    depth_of: dict[str, int] = field(default_factory=dict)  # 0 at the top level
    _item_ids: set[str] = field(default_factory=set, repr=False)
    _parents: set[str] | None = field(default=None, repr=False)

    def item_ids(self) -> set[str]:
        if len(self._item_ids) != len(self.items):
            self._item_ids = {item.identifier for item in self.items}
        return self._item_ids

    def associations_of(self, association_type: str) -> list[CaseAssociation]:
        return [assoc for assoc in self.associations if assoc.association_type == association_type]

    def has_children(self, identifier: str) -> bool:
        if self._parents is None:
            self._parents = {parent for parent in self.parent_of.values() if parent}
        return identifier in self._parents


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that reads digit runs as numbers: L1.2 before L1.10."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold()) for part in re.split(r"(\d+)", text) if part
    )


def parse_grade(value: str) -> int | None:
    """A CEDS education level as a K-12 grade, or None when it names none (PK, HS, 13, ...)."""
    text = value.strip().upper()
    if text in KINDERGARTEN_CODES:
        return 0
    if text.isdigit() and GRADE_MIN <= int(text) <= GRADE_MAX:
        return int(text)
    return None


class _Reader:
    """Collects errors and warnings while reading one package."""

    def __init__(self) -> None:
        self.errors: list[CaseProblem] = []
        self.warnings: list[CaseProblem] = []
        self.spelled_educational_level = 0

    def error(self, code: str, path: str, message: str, identifier: str = "") -> None:
        self.errors.append(CaseProblem(code, path, message, identifier))

    def warn(self, code: str, path: str, message: str, identifier: str = "") -> None:
        self.warnings.append(CaseProblem(code, path, message, identifier))

    def text(self, obj: dict[str, Any], key: str, path: str, *, required: bool, identifier: str = "") -> str:
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error("required", f"{path}.{key}", "is required", identifier)
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.error("not_text", f"{path}.{key}", f"must be text, not {type(value).__name__}", identifier)
            return ""
        if UNSTORABLE.search(value):
            # JSON can escape a lone surrogate or NUL; neither is a character PostgreSQL text can hold.
            self.error("not_a_character", f"{path}.{key}", "contains a NUL or an unpaired surrogate escape", identifier)
            return ""
        return value.strip()

    def identifier(self, obj: dict[str, Any], path: str) -> str:
        value = self.text(obj, "identifier", path, required=True)
        if len(value) > IDENTIFIER_MAX_LENGTH:
            self.error("identifier_too_long", f"{path}.identifier", f"is longer than {IDENTIFIER_MAX_LENGTH}", value)
            return ""
        return value


def _load_json(data: bytes | str) -> Any:
    if isinstance(data, bytes):
        try:
            # utf-8-sig: a byte-order mark is tolerated (some editors add one).
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CasePackageError(
                [CaseProblem("not_utf8", "$", f"is not UTF-8 text (byte {exc.start} cannot be decoded)")]
            ) from None
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise CasePackageError(
            [CaseProblem("not_json", "$", f"is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")]
        ) from None


def _node_ref(reader: _Reader, value: Any, path: str, identifier: str) -> NodeRef | None:
    """An origin or destination: a LinkURI object, or (tolerated, with a warning) a bare URI string."""
    if isinstance(value, str) and value.strip():
        last = value.rstrip("/").rsplit("/", 1)[-1]
        reader.warn(
            "node_uri_string",
            path,
            "is a bare URI string, not a LinkURI object; its last part is read as the identifier",
            identifier,
        )
        return NodeRef(identifier=last, uri=value, title="")
    if not isinstance(value, dict):
        reader.error("required", path, "must be a LinkURI object with an identifier", identifier)
        return None
    node_id = reader.text(value, "identifier", path, required=True, identifier=identifier)
    if not node_id:
        return None
    uri = value.get("uri") if isinstance(value.get("uri"), str) else ""
    title = value.get("title") if isinstance(value.get("title"), str) else ""
    return NodeRef(identifier=node_id, uri=uri or "", title=title or "")


def _education_levels(reader: _Reader, raw: dict[str, Any], path: str, identifier: str) -> list[int]:
    levels = raw.get("educationLevel")
    if levels is None and "educationalLevel" in raw:
        # CASE 1.0 exports from OpenSALT spell it this way, as one string.
        levels = raw["educationalLevel"]
        reader.spelled_educational_level += 1  # one warning for the package, not one per item
    if levels is None:
        return []
    if isinstance(levels, str):
        levels = [part for part in re.split(r"[,\s]+", levels) if part]
    if not isinstance(levels, list):
        reader.warn(
            "education_level_unreadable", f"{path}.educationLevel", "is neither a list nor text; ignored", identifier
        )
        return []
    grades = []
    for value in levels:
        grade = parse_grade(str(value))
        if grade is None:
            reader.warn(
                "education_level_not_k12",
                f"{path}.educationLevel",
                f"“{value}” is not a grade K-12; ignored",
                identifier,
            )
        else:
            grades.append(grade)
    return sorted(set(grades))


def _read_item(reader: _Reader, raw: Any, index: int) -> CaseItem | None:
    path = f"CFItems[{index}]"
    if not isinstance(raw, dict):
        reader.error("not_object", path, "must be an object")
        return None
    identifier = reader.identifier(raw, path)
    statement = reader.text(raw, "fullStatement", path, required=False, identifier=identifier)
    if not statement:
        statement = reader.text(raw, "abbreviatedStatement", path, required=False, identifier=identifier)
        if statement:
            reader.warn(
                "abbreviated_statement_used",
                f"{path}.fullStatement",
                "is missing; abbreviatedStatement used",
                identifier,
            )
        else:
            reader.error("required", f"{path}.fullStatement", "is required", identifier)
    if not identifier or not statement:
        return None
    item_type = raw.get("CFItemType")
    return CaseItem(
        identifier=identifier,
        uri=str(raw.get("uri") or ""),
        statement=statement,
        human_coding_scheme=reader.text(raw, "humanCodingScheme", path, required=False, identifier=identifier),
        list_enumeration=reader.text(raw, "listEnumeration", path, required=False, identifier=identifier),
        item_type=item_type.strip() if isinstance(item_type, str) else "",
        grades=_education_levels(reader, raw, path, identifier),
        position=index,
        path=path,
    )


def _sequence_number(reader: _Reader, value: Any, path: str, identifier: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        reader.warn("sequence_number_unreadable", path, f"“{value}” is not a number; ignored", identifier)
        return None
    try:
        return int(float(value))
    except ValueError:
        reader.warn("sequence_number_unreadable", path, f"“{value}” is not a number; ignored", identifier)
        return None


def _read_association(reader: _Reader, raw: Any, index: int) -> CaseAssociation | None:
    path = f"CFAssociations[{index}]"
    if not isinstance(raw, dict):
        reader.error("not_object", path, "must be an object")
        return None
    identifier = reader.identifier(raw, path)
    association_type = reader.text(raw, "associationType", path, required=True, identifier=identifier)
    origin = _node_ref(reader, raw.get("originNodeURI"), f"{path}.originNodeURI", identifier)
    destination = _node_ref(reader, raw.get("destinationNodeURI"), f"{path}.destinationNodeURI", identifier)
    if not identifier or not association_type or origin is None or destination is None:
        return None
    sequence = _sequence_number(reader, raw.get("sequenceNumber"), f"{path}.sequenceNumber", identifier)
    return CaseAssociation(identifier, association_type, origin, destination, sequence, path)


def _read_document(reader: _Reader, document: Any) -> tuple[str, str, str, str]:
    if not isinstance(document, dict):
        reader.error("required", "CFDocument", "is required and must be an object")
        return "", "", "", ""
    identifier = reader.identifier(document, "CFDocument")
    title = reader.text(document, "title", "CFDocument", required=True, identifier=identifier)
    if len(title) > NAME_MAX_LENGTH:
        reader.warn(
            "title_shortened", "CFDocument.title", f"is longer than {NAME_MAX_LENGTH} characters; shortened", identifier
        )
        title = title[:NAME_MAX_LENGTH]
    subject = document.get("subject")
    if isinstance(subject, list):
        subject = next((value for value in subject if isinstance(value, str) and value.strip()), "")
    subject = subject.strip()[:SUBJECT_MAX_LENGTH] if isinstance(subject, str) else ""
    uri = document.get("uri") if isinstance(document.get("uri"), str) else ""
    return identifier, uri or "", title, subject


def _list(reader: _Reader, package: dict[str, Any], key: str) -> list[Any]:
    value = package.get(key)
    if value is None:
        reader.warn("missing_list", key, "is missing; read as empty")
        return []
    if not isinstance(value, list):
        reader.error("not_list", key, "must be a list")
        return []
    return value


def _unique(reader: _Reader, rows: list[Any], what: str) -> list[Any]:
    seen: dict[str, str] = {}
    kept = []
    for row in rows:
        if row.identifier in seen:
            reader.error(
                "duplicate_identifier", row.path, f"repeats the identifier of {seen[row.identifier]}", row.identifier
            )
            continue
        seen[row.identifier] = row.path
        kept.append(row)
    return kept


def case_parse(data: bytes | str) -> CasePackage:
    """Read and check a CFPackage. Raises CasePackageError naming every error; warnings ride on the package."""
    raw = _load_json(data)
    reader = _Reader()
    if not isinstance(raw, dict):
        raise CasePackageError([CaseProblem("not_object", "$", "must be a JSON object (a CFPackage)")])
    identifier, uri, title, subject = _read_document(reader, raw.get("CFDocument"))
    items = [
        item for index, value in enumerate(_list(reader, raw, "CFItems")) if (item := _read_item(reader, value, index))
    ]
    if reader.spelled_educational_level:
        reader.warn(
            "educationalLevel_used",
            "CFItems[*].educationalLevel",
            f"{reader.spelled_educational_level} item(s) give educationalLevel; read as educationLevel "
            "(CASE spells it educationLevel, a list)",
        )
    associations = [
        assoc
        for index, value in enumerate(_list(reader, raw, "CFAssociations"))
        if (assoc := _read_association(reader, value, index))
    ]
    package = CasePackage(
        identifier=identifier,
        uri=uri,
        title=title,
        subject=subject,
        items=_unique(reader, items, "CFItems"),
        associations=_unique(reader, associations, "CFAssociations"),
    )
    if identifier and identifier in package.item_ids():
        reader.error("duplicate_identifier", "CFDocument.identifier", "is also the identifier of an item", identifier)
    if not reader.errors:
        _derive_hierarchy(reader, package)
    if not reader.errors:
        _derive_codes(reader, package)
        _warn_skipped_types(reader, package)
    if reader.errors:
        raise CasePackageError(reader.errors, reader.warnings)
    package.warnings = reader.warnings
    return package


# --- hierarchy, order, grades, codes ------------------------------------------------------------


def _sibling_key(item: CaseItem, sequence: int | None) -> tuple[Any, ...]:
    """sequenceNumber, then listEnumeration, then humanCodingScheme (natural order), then file order."""
    return (
        sequence is None,
        sequence or 0,
        not item.list_enumeration,
        natural_key(item.list_enumeration),
        not item.human_coding_scheme,
        natural_key(item.human_coding_scheme),
        item.position,
    )


def _parents(reader: _Reader, package: CasePackage) -> tuple[dict[str, str | None], dict[str, int | None]]:
    """Each item's parent (None: under the document) and its sequenceNumber, from isChildOf associations."""
    item_ids = package.item_ids()
    parent_of: dict[str, str | None] = {}
    sequence_of: dict[str, int | None] = {}
    for assoc in package.associations_of(IS_CHILD_OF):
        child, parent = assoc.origin.identifier, assoc.destination.identifier
        if child not in item_ids:
            reader.warn(
                "child_not_in_package",
                f"{assoc.path}.originNodeURI",
                "names no item of this package; skipped",
                assoc.identifier,
            )
            continue
        if parent != package.identifier and parent not in item_ids:
            reader.warn(
                "parent_not_in_package",
                f"{assoc.path}.destinationNodeURI",
                f"names no item of this package; {child} is placed at the top level",
                assoc.identifier,
            )
            parent = package.identifier
        if child in parent_of:
            # CASE lets an item sit under several parents; a competency has one. The first one is kept.
            reader.warn(
                "second_parent_ignored",
                assoc.path,
                f"{child} already has a parent; this isChildOf is not used",
                assoc.identifier,
            )
            continue
        parent_of[child] = None if parent == package.identifier else parent
        sequence_of[child] = assoc.sequence_number
    for item in package.items:
        if item.identifier not in parent_of:
            reader.warn("no_parent", item.path, "has no isChildOf; placed at the top level", item.identifier)
            parent_of[item.identifier] = None
            sequence_of[item.identifier] = None
    return parent_of, sequence_of


def _find_loop(parent_of: dict[str, str | None]) -> list[str]:
    for start in parent_of:
        trail, node = [start], parent_of[start]
        while node is not None:
            if node in trail:
                return [*trail[trail.index(node) :], node]
            trail.append(node)
            node = parent_of[node]
    return []


def _derive_hierarchy(reader: _Reader, package: CasePackage) -> None:
    parent_of, sequence_of = _parents(reader, package)
    loop = _find_loop(parent_of)
    if loop:
        reader.error(
            "hierarchy_loop", "CFAssociations", f"isChildOf associations form a loop: {' → '.join(loop)}", loop[0]
        )
        return
    children: dict[str | None, list[CaseItem]] = defaultdict(list)
    for item in package.items:
        children[parent_of[item.identifier]].append(item)
    for siblings in children.values():
        siblings.sort(key=lambda item: _sibling_key(item, sequence_of[item.identifier]))
    package.parent_of = parent_of
    default_grade = min((grade for item in package.items for grade in item.grades), default=GRADE_MIN)
    ungraded = 0
    # Preorder walk: a parent's grade is known before its children need it.
    stack: list[tuple[CaseItem, int, int]] = [(item, default_grade, 0) for item in reversed(children[None])]
    for position, item in enumerate(children[None], start=1):
        package.sibling_position[item.identifier] = position
    order = 0
    while stack:
        item, inherited, depth = stack.pop()
        package.depth_of[item.identifier] = depth
        order += 1
        package.sort_order[item.identifier] = order
        grade = item.grades[0] if item.grades else inherited
        ungraded += not item.grades
        package.grade_of[item.identifier] = grade
        kids = children.get(item.identifier, [])
        for position, child in enumerate(kids, start=1):
            package.sibling_position[child.identifier] = position
        stack.extend((child, grade, depth + 1) for child in reversed(kids))
    if ungraded:
        reader.warn(
            "no_grade_level",
            "CFItems",
            f"{ungraded} item(s) name no grade K-12 (educationLevel); each takes its parent's grade, "
            f"or grade {default_grade} at the top level",
        )


def _derive_codes(reader: _Reader, package: CasePackage) -> None:
    """humanCodingScheme is the code; an item without one (or repeating one) is coded by its identifier."""
    taken: dict[str, str] = {}
    missing = 0
    for item in sorted(package.items, key=lambda item: package.sort_order[item.identifier]):
        code = item.human_coding_scheme
        if code and len(code) > CODE_MAX_LENGTH:
            reader.warn(
                "code_too_long",
                f"{item.path}.humanCodingScheme",
                f"is longer than {CODE_MAX_LENGTH} characters; the identifier is the code",
                item.identifier,
            )
            code = ""
        if code and code in taken:
            reader.warn(
                "duplicate_human_coding_scheme",
                f"{item.path}.humanCodingScheme",
                f"“{code}” is also the code of {taken[code]}; the identifier is the code",
                item.identifier,
            )
            code = ""
        if not code:
            missing += not item.human_coding_scheme
            code = item.identifier[:CODE_MAX_LENGTH]
        taken[code] = item.identifier
        package.code_of[item.identifier] = code
    if missing:
        reader.warn(
            "no_human_coding_scheme",
            "CFItems",
            f"{missing} item(s) have no humanCodingScheme; their identifier is their code",
        )


def _warn_skipped_types(reader: _Reader, package: CasePackage) -> None:
    counts: dict[str, int] = defaultdict(int)
    for assoc in package.associations:
        if assoc.association_type not in IMPORTED_TYPES:
            counts[assoc.association_type] += 1
    for association_type, count in sorted(counts.items()):
        reader.warn(
            "association_type_not_imported",
            "CFAssociations",
            f"{count} “{association_type}” association(s) are not imported",
        )
