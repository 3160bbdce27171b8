"""A framework as a CASE 1.1 CFPackage (JSON): CFDocument, CFItems and the isChildOf, precedes and
exactMatchOf associations, including prerequisite edges added here by hand and `precedes` still waiting
for their other framework.

Identifiers are the stored CASE identifiers, so import → export → import changes nothing. A framework
or competency made here (no CASE identifier) gets a UUID derived from its id, the same on every export;
association identifiers other than stored ones are derived from their two ends the same way. Deprecated
competencies are left out (they are no longer part of the framework), so a re-import keeps them deprecated.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q

from mastery.models import Competency, CompetencyAlias, Framework, Prerequisite, UnresolvedAssociation
from profiles.modelbase import grade_code

from .parse import EXACT_MATCH_OF, IS_CHILD_OF, PRECEDES

# Fixed namespace: derived identifiers stay the same across exports and installations.
PLPLATFORM_NAMESPACE = uuid.UUID("6f1c0d2e-3b4a-5c6d-8e7f-90a1b2c3d4e5")
CASE_VERSION = "1.1"


def derived_identifier(kind: str, key: object) -> str:
    return str(uuid.uuid5(PLPLATFORM_NAMESPACE, f"{kind}:{key}"))


def _uri(identifier: str) -> str:
    return f"urn:uuid:{identifier}" if _is_uuid(identifier) else f"urn:plplatform:case:{identifier}"


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _link(identifier: str, title: str, uri: str = "") -> dict[str, str]:
    return {"title": title, "identifier": identifier, "uri": uri or _uri(identifier)}


def _association(
    identifier: str, kind: str, origin: dict[str, str], destination: dict[str, str], changed: str, **extra: Any
) -> dict[str, Any]:
    return {
        "identifier": identifier,
        "uri": _uri(identifier),
        "associationType": kind,
        "originNodeURI": origin,
        "destinationNodeURI": destination,
        "lastChangeDateTime": changed,
        **extra,
    }


def _item(row: Competency, changed: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "identifier": row.case_identifier,  # type: ignore[attr-defined]
        "uri": _uri(row.case_identifier),  # type: ignore[attr-defined]
        "fullStatement": row.statement,
        "educationLevel": [grade_code(row.grade_level)],
        "lastChangeDateTime": changed,
    }
    # A code that is the identifier itself stood in for a missing humanCodingScheme: leave it missing.
    if row.code != row.case_identifier:  # type: ignore[attr-defined]
        item["humanCodingScheme"] = row.code
    return item


def _identify(rows: list[Competency]) -> dict[int, Competency]:
    for row in rows:
        row.case_identifier = row.source_identifier or derived_identifier("competency", row.pk)  # type: ignore[attr-defined]
    return {row.pk: row for row in rows}


def _hierarchy(rows: dict[int, Competency], document: dict[str, str], changed: str) -> list[dict[str, Any]]:
    """isChildOf with sequenceNumber = position among siblings, in the stored order."""
    siblings: dict[int | None, list[Competency]] = {}
    for row in sorted(rows.values(), key=lambda row: (row.sort_order, row.code)):
        parent = row.parent_id if row.parent_id in rows else None
        siblings.setdefault(parent, []).append(row)
    associations = []
    for parent_id, children in siblings.items():
        parent_link = document if parent_id is None else _link(rows[parent_id].case_identifier, rows[parent_id].code)  # type: ignore[attr-defined]
        for position, child in enumerate(children, start=1):
            child_id = child.case_identifier  # type: ignore[attr-defined]
            associations.append(
                _association(
                    derived_identifier(IS_CHILD_OF, f"{child_id}:{parent_link['identifier']}"),
                    IS_CHILD_OF,
                    _link(child_id, child.code),
                    parent_link,
                    changed,
                    sequenceNumber=position,
                )
            )
    return associations


def _precedes(rows: dict[int, Competency], changed: str) -> list[dict[str, Any]]:
    """Every prerequisite edge with an end in the framework (the other end may be in another one)."""
    edges = (
        Prerequisite.objects.filter(Q(competency_id__in=rows) | Q(prerequisite_id__in=rows))
        .filter(competency__deprecated=False, prerequisite__deprecated=False)
        .select_related("competency", "prerequisite")
        .order_by("prerequisite__sort_order", "competency__sort_order", "pk")
    )
    associations = []
    for edge in edges:
        before, after = rows.get(edge.prerequisite_id, edge.prerequisite), rows.get(edge.competency_id, edge.competency)
        before_id = before.source_identifier or derived_identifier("competency", before.pk)
        after_id = after.source_identifier or derived_identifier("competency", after.pk)
        associations.append(
            _association(
                derived_identifier(PRECEDES, f"{before_id}:{after_id}"),
                PRECEDES,
                _link(before_id, before.code),
                _link(after_id, after.code),
                changed,
            )
        )
    return associations


def _waiting(framework: Framework, changed: str) -> list[dict[str, Any]]:
    waiting = UnresolvedAssociation.objects.filter(framework=framework).order_by("pk")
    return [
        _association(
            row.association_identifier,
            row.association_type,
            _link(row.origin_identifier, "", row.origin_uri),
            _link(row.destination_identifier, "", row.destination_uri),
            changed,
        )
        for row in waiting
    ]


def _aliases(rows: dict[int, Competency], changed: str) -> list[dict[str, Any]]:
    aliases = CompetencyAlias.objects.filter(competency_id__in=rows).order_by("competency__sort_order", "identifier")
    associations = []
    for alias in aliases:
        row = rows[alias.competency_id]
        origin_id = row.case_identifier  # type: ignore[attr-defined]
        identifier = alias.association_identifier or derived_identifier(
            EXACT_MATCH_OF, f"{origin_id}:{alias.identifier}"
        )
        associations.append(
            _association(
                identifier,
                EXACT_MATCH_OF,
                _link(origin_id, row.code),
                _link(alias.identifier, "", alias.uri),
                changed,
            )
        )
    return associations


def case_export(*, framework: Framework) -> dict[str, Any]:
    """The framework as a CFPackage dict (json.dumps it with ensure_ascii=False to keep text as written)."""
    changed = framework.created_at.isoformat()
    document_id = framework.source_identifier or derived_identifier("framework", framework.pk)
    document = _link(document_id, framework.name)
    rows = _identify(
        list(Competency.objects.filter(framework=framework, deprecated=False).order_by("sort_order", "code"))
    )
    return {
        "CFDocument": {
            "identifier": document_id,
            "uri": document["uri"],
            "creator": "plplatform",
            "title": framework.name,
            "lastChangeDateTime": changed,
            "subject": [framework.subject],
            "caseVersion": CASE_VERSION,
        },
        "CFItems": [_item(row, changed) for row in rows.values()],
        "CFAssociations": [
            *_hierarchy(rows, document, changed),
            *_precedes(rows, changed),
            *_aliases(rows, changed),
            *_waiting(framework, changed),
        ],
        "CFDefinitions": {
            "CFConcepts": [],
            "CFSubjects": [],
            "CFLicenses": [],
            "CFItemTypes": [],
            "CFAssociationGroupings": [],
        },
    }
