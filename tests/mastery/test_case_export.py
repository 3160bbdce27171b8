"""CASE export (mastery/interop/case/export.py, `manage.py export_case`): identifiers kept, locally added
prerequisite edges included, and import → export → import stable for every real sample."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from mastery.interop.case import case_export, case_import
from mastery.models import Competency, Framework, Prerequisite, UnresolvedAssociation
from mastery.services import prerequisite_add
from tests.mastery.test_case_import import EXPECTED
from tests.mastery.test_case_support import OUTSIDE_SUCCESSOR, RP6_A2, WSCB, sample_bytes, sample_json, stored_counts
from tests.shared_data import shared_path

pytestmark = pytest.mark.django_db

RP7_A1 = "40f75f2b-8de6-4ff4-b28c-ac64c658777a"
RP7_A2 = "67fe61c2-0710-4db0-9844-df510976b733"


def exported(framework_id: int) -> bytes:
    return json.dumps(case_export(framework=Framework.objects.get(pk=framework_id)), ensure_ascii=False).encode()


def of_type(body: dict, kind: str) -> list[dict]:
    return [assoc for assoc in body["CFAssociations"] if assoc["associationType"] == kind]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_round_trip_is_stable_and_keeps_identifiers(name):
    report = case_import(data=sample_bytes(name))
    first = exported(report.framework_id)
    before = stored_counts()
    again = case_import(data=first)
    assert (again.framework_id, again.writes) == (report.framework_id, 0)
    assert stored_counts() == before
    assert exported(report.framework_id) == first
    original, body = sample_json(name), json.loads(first)
    assert body["CFDocument"]["identifier"] == original["CFDocument"]["identifier"]
    assert {item["identifier"] for item in body["CFItems"]} == {item["identifier"] for item in original["CFItems"]}


def test_export_of_what_standards_could_be_has_every_imported_association():
    report = case_import(data=sample_bytes(WSCB))
    body = case_export(framework=Framework.objects.get(pk=report.framework_id))
    original = sample_json(WSCB)
    counts = {kind: len(of_type(body, kind)) for kind in ("isChildOf", "precedes", "exactMatchOf")}
    assert counts == {"isChildOf": 16, "precedes": 3, "exactMatchOf": 16}
    # Associations stored as rows keep their CASE identifiers: the aliases and the one still waiting.
    kept = {a["identifier"] for a in original["CFAssociations"] if a["associationType"] in {"exactMatchOf", "precedes"}}
    exported_ids = {a["identifier"] for a in body["CFAssociations"]}
    assert len(kept & exported_ids) == 17
    waiting = next(a for a in of_type(body, "precedes") if a["destinationNodeURI"]["identifier"] == OUTSIDE_SUCCESSOR)
    assert waiting["originNodeURI"]["identifier"] == RP6_A2
    item = next(i for i in body["CFItems"] if i["humanCodingScheme"] == "CCSS.Math.Content.6.RP.A.1")
    assert item["educationLevel"] == ["06"]
    assert item["fullStatement"].startswith("Understand the concept of a ratio")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_the_export_is_valid_against_the_official_case_1_1_schema(name):
    """Import is lenient; export is strict: what we write passes the 1EdTech CFPackage schema."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(shared_path("samples", "case", "schema", "case-v1p1-cfpackage.json").read_text())
    report = case_import(data=sample_bytes(name))
    body = json.loads(exported(report.framework_id))
    errors = [
        f"{list(error.absolute_path)}: {error.message}"
        for error in jsonschema.Draft201909Validator(schema).iter_errors(body)
    ]
    assert errors == []


def test_a_locally_added_prerequisite_is_exported_and_comes_back_after_a_fresh_import():
    report = case_import(data=sample_bytes(WSCB))
    rows = {c.source_identifier: c for c in Competency.objects.all()}
    prerequisite_add(competency=rows[RP7_A2], prerequisite=rows[RP7_A1])
    body = exported(report.framework_id)
    assert {
        (a["originNodeURI"]["identifier"], a["destinationNodeURI"]["identifier"])
        for a in of_type(json.loads(body), "precedes")
    } >= {(RP7_A1, RP7_A2)}
    before = stored_counts()
    Framework.objects.filter(pk=report.framework_id).delete()  # cascades: competencies, edges, aliases, waiting
    assert stored_counts()["competencies"] == 0

    case_import(data=body)
    assert stored_counts() == before
    assert Prerequisite.objects.filter(
        prerequisite__source_identifier=RP7_A1, competency__source_identifier=RP7_A2
    ).exists()
    assert UnresolvedAssociation.objects.get().destination_identifier == OUTSIDE_SUCCESSOR


def test_astral_characters_are_written_as_characters(tmp_path):
    report = case_import(data=sample_bytes("Utf8TestFramework.json"))
    path = tmp_path / "out.json"
    out = io.StringIO()
    call_command("export_case", str(report.framework_id), "-o", str(path), stdout=out)
    assert out.getvalue() == f"Wrote framework {report.framework_id} to {path}.\n"
    raw = path.read_bytes()
    assert "Item \U0001d451 1".encode() in raw
    assert b"\\ud835" not in raw
    assert json.loads(raw)["CFDocument"]["title"] == "UTF8 \U0001d451 Test"


def test_a_hand_made_framework_exports_with_stable_derived_identifiers_and_is_adopted_on_import():
    framework = Framework.objects.create(name="Local math", subject="Math", grade_low=5, grade_high=5)
    parent = Competency.objects.create(
        framework=framework, code="5.A", statement="Strand", grade_level=5, sort_order=1, assessable=False
    )
    child = Competency.objects.create(
        framework=framework, code="5.A.1", statement="Add", grade_level=5, sort_order=2, parent=parent
    )
    first = exported(framework.pk)
    assert exported(framework.pk) == first
    report = case_import(data=first)
    child.refresh_from_db()
    assert (report.framework_id, report.items_created, Competency.objects.count()) == (framework.pk, 0, 2)
    assert child.source_identifier == json.loads(first)["CFItems"][1]["identifier"]
    assert case_import(data=first).writes == 0


def test_export_case_command_refuses_an_unknown_framework():
    with pytest.raises(CommandError, match=r"^No framework with id 999999\.$"):
        call_command("export_case", "999999", stdout=io.StringIO())
