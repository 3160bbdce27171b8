"""Helpers of the CASE tests (no tests here): the real samples, through tests/shared_data.py, and small
packages built here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mastery.models import Competency, CompetencyAlias, Framework, Prerequisite, UnresolvedAssociation
from tests.shared_data import shared_path

WSCB = "opensalt-what-standards-could-be/opensalt-framework-20c5134f-423d-4097-a971-3dd5152bf507.json"
WSCB_DOCUMENT = "20c5134f-423d-4097-a971-3dd5152bf507"
# Items of "What Standards Could Be" named in tests.
RP6_A1 = "b6f61076-aa12-450b-8f9d-b86bc071f85e"
RP6_A2 = "eceec0fb-e4de-4ef3-a48f-0987b366c9ae"
RP6_A3 = "d83a65ed-770c-4dbe-a505-11e5e17a9a79"
RP7_A3 = "693cfbbf-26bc-4e91-87ef-1badd646b720"
OUTSIDE_SUCCESSOR = "61a66013-f85c-59c7-bdba-a2c9030e1c21"  # 6.RP.A.2 precedes it; in no sample package
TEST_FRAMEWORKS = [
    "AdoptedTestFramework.json",
    "ItemTypeTestFramework.json",
    "SequenceNumberFramework.json",
    "SmartLevelFramework.json",
    "Utf8TestFramework.json",
]


def sample(name: str) -> Path:
    if "/" not in name:
        name = f"opensalt-test-frameworks/{name}"
    return shared_path("samples", "case", *name.split("/"))


def sample_bytes(name: str) -> bytes:
    return sample(name).read_bytes()


def sample_json(name: str) -> dict[str, Any]:
    return json.loads(sample_bytes(name))


def link(identifier: str) -> dict[str, str]:
    return {"identifier": identifier, "uri": f"https://example.org/{identifier}", "title": identifier}


def package(
    document: str,
    items: list[dict[str, Any]],
    associations: list[tuple[str, str, str]] | list[tuple[str, str, str, int | None]],
    *,
    title: str | None = None,
) -> bytes:
    """A CFPackage: items as CFItem dicts (identifier and fullStatement at least); associations as
    (type, origin, destination[, sequenceNumber]) with identifiers derived from their ends."""
    rows = []
    for association in associations:
        kind, origin, destination, *rest = association
        row: dict[str, Any] = {
            "identifier": f"{kind}-{origin}-{destination}",
            "uri": f"https://example.org/a/{kind}-{origin}-{destination}",
            "associationType": kind,
            "originNodeURI": link(origin),
            "destinationNodeURI": link(destination),
            "lastChangeDateTime": "2026-01-01T00:00:00+00:00",
        }
        if rest and rest[0] is not None:
            row["sequenceNumber"] = rest[0]
        rows.append(row)
    body = {
        "CFDocument": {
            "identifier": document,
            "uri": f"https://example.org/{document}",
            "creator": "tests",
            "title": title or f"Framework {document}",
            "lastChangeDateTime": "2026-01-01T00:00:00+00:00",
        },
        "CFItems": [
            {"uri": f"https://example.org/{item.get('identifier', 'none')}", "lastChangeDateTime": "2026-01-01", **item}
            for item in items
        ],
        "CFAssociations": rows,
    }
    return json.dumps(body, ensure_ascii=False).encode()


def stored_counts() -> dict[str, int]:
    """Every table an import writes, counted: a refused import must leave these exactly as they were."""
    return {
        "frameworks": Framework.objects.count(),
        "competencies": Competency.objects.count(),
        "with_parent": Competency.objects.filter(parent__isnull=False).count(),
        "prerequisites": Prerequisite.objects.count(),
        "aliases": CompetencyAlias.objects.count(),
        "unresolved": UnresolvedAssociation.objects.count(),
    }
