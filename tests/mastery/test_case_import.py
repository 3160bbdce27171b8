"""CASE 1.0/1.1 import (mastery/interop/case): every real sample under samples/case/ with the counts
read off the files by hand, sibling order, lenient reading with named warnings, refused packages that
store nothing, upserts that write nothing the second time, deprecation, and associations that wait for
the framework holding their other end."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mastery.interop.case import CasePackageError, case_import
from mastery.models import Competency, CompetencyAlias, Evidence, Framework, Prerequisite, UnresolvedAssociation
from tests.mastery.test_case_support import (
    OUTSIDE_SUCCESSOR,
    RP6_A1,
    RP6_A2,
    RP6_A3,
    RP7_A3,
    TEST_FRAMEWORKS,
    WSCB,
    WSCB_DOCUMENT,
    package,
    sample,
    sample_bytes,
    sample_json,
    stored_counts,
)
from tests.world import World

pytestmark = pytest.mark.django_db


def codes_in_order(framework: Framework, parent: Competency | None = None) -> list[str]:
    return list(
        Competency.objects.filter(framework=framework, parent=parent)
        .order_by("sort_order")
        .values_list("code", flat=True)
    )


def warning_codes(report) -> dict[str, int]:
    counts: dict[str, int] = {}
    for warning in report.warnings:
        counts[warning.code] = counts.get(warning.code, 0) + 1
    return counts


# --- the real samples ---------------------------------------------------------------------------------

# Counted from the files: items, items with a parent item (isChildOf to another item), precedes edges
# between loaded items, exactMatchOf aliases, precedes waiting for an item in no package, assessable leaves.
EXPECTED = {
    WSCB: {"items": 16, "with_parent": 14, "prerequisites": 2, "aliases": 16, "unresolved": 1, "assessable": 12},
    "AdoptedTestFramework.json": {
        "items": 1,
        "with_parent": 0,
        "prerequisites": 0,
        "aliases": 0,
        "unresolved": 0,
        "assessable": 1,
    },
    "ItemTypeTestFramework.json": {
        "items": 1,
        "with_parent": 0,
        "prerequisites": 0,
        "aliases": 0,
        "unresolved": 0,
        "assessable": 1,
    },
    "SequenceNumberFramework.json": {
        "items": 2,
        "with_parent": 0,
        "prerequisites": 0,
        "aliases": 0,
        "unresolved": 0,
        "assessable": 2,
    },
    "SmartLevelFramework.json": {
        "items": 14,
        "with_parent": 12,
        "prerequisites": 0,
        "aliases": 0,
        "unresolved": 0,
        "assessable": 12,
    },
    "Utf8TestFramework.json": {
        "items": 1,
        "with_parent": 0,
        "prerequisites": 0,
        "aliases": 0,
        "unresolved": 0,
        "assessable": 1,
    },
}


def test_every_sample_file_has_expected_counts():
    """A new sample file fails here until its counts are written into EXPECTED."""
    folder = sample(WSCB).parent.parent
    files = {str(path.relative_to(folder)) for path in folder.rglob("*.json") if path.parent.name != "schema"}
    assert files == {WSCB, *(f"opensalt-test-frameworks/{name}" for name in TEST_FRAMEWORKS)}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_sample_imports_with_expected_counts(name):
    report = case_import(data=sample_bytes(name))
    framework = Framework.objects.get(pk=report.framework_id)
    expected = EXPECTED[name]
    competencies = Competency.objects.filter(framework=framework)
    assert report.items_created == expected["items"]
    assert {
        "items": competencies.count(),
        "with_parent": competencies.filter(parent__isnull=False).count(),
        "prerequisites": Prerequisite.objects.count(),
        "aliases": CompetencyAlias.objects.count(),
        "unresolved": UnresolvedAssociation.objects.count(),
        "assessable": competencies.filter(assessable=True).count(),
    } == expected
    assert framework.source_identifier == sample_json(name)["CFDocument"]["identifier"]
    assert set(competencies.values_list("source_identifier", flat=True)) == {
        item["identifier"] for item in sample_json(name)["CFItems"]
    }


def test_what_standards_could_be_maps_fields_hierarchy_and_edges():
    report = case_import(data=sample_bytes(WSCB))
    framework = Framework.objects.get(source_identifier=WSCB_DOCUMENT)
    assert (framework.name, framework.subject, framework.grade_low, framework.grade_high) == (
        "What Standards Could Be",
        "Unspecified",
        6,
        7,
    )
    # sequenceNumber orders the two clusters; listEnumeration 1. 2. 3. and a. b. c. d. order the rest.
    assert codes_in_order(framework) == ["CCSS.Math.Content.6.RP.A", "CCSS.Math.Content.7.RP.A"]
    rp6 = Competency.objects.get(code="CCSS.Math.Content.6.RP.A")
    assert codes_in_order(framework, rp6) == [f"CCSS.Math.Content.6.RP.A.{n}" for n in (1, 2, 3)]
    rp6_3 = Competency.objects.get(source_identifier=RP6_A3)
    assert codes_in_order(framework, rp6_3) == [f"CCSS.Math.Content.6.RP.A.3{x}" for x in "abcd"]
    assert (rp6.grade_level, rp6.assessable, rp6_3.assessable) == (6, False, False)
    leaf = Competency.objects.get(source_identifier=RP6_A1)
    assert leaf.statement.startswith("Understand the concept of a ratio")
    assert (leaf.grade_level, leaf.assessable, leaf.parent_id) == (6, True, rp6.pk)
    # A precedes B: A is a prerequisite of B.
    assert set(
        Prerequisite.objects.values_list("prerequisite__source_identifier", "competency__source_identifier")
    ) == {
        (RP6_A1, RP6_A2),
        (RP6_A3, RP7_A3),
    }
    waiting = UnresolvedAssociation.objects.get()
    assert (waiting.association_type, waiting.origin_identifier, waiting.destination_identifier) == (
        "precedes",
        RP6_A2,
        OUTSIDE_SUCCESSOR,
    )
    assert CompetencyAlias.objects.get(competency=rp6).identifier == "5b6c487e-04f1-5ba9-9722-d099849b9167"
    assert warning_codes(report) == {"educationalLevel_used": 1, "association_type_not_imported": 2}
    assert str(report.warnings[0]) == (
        "CFItems[*].educationalLevel: 16 item(s) give educationalLevel; read as educationLevel "
        "(CASE spells it educationLevel, a list) [educationalLevel_used]"
    )
    assert sorted(w.message for w in report.warnings if w.code == "association_type_not_imported") == [
        "2 “exemplar” association(s) are not imported",
        "2 “isRelatedTo” association(s) are not imported",
    ]


def test_sequence_number_orders_siblings_before_file_order():
    report = case_import(data=sample_bytes("SequenceNumberFramework.json"))
    assert codes_in_order(Framework.objects.get(pk=report.framework_id)) == ["SNT.2", "SNT.1"]


def test_smart_level_items_without_codes_keep_file_order_and_are_coded_by_identifier():
    report = case_import(data=sample_bytes("SmartLevelFramework.json"))
    item1 = Competency.objects.get(source_identifier="00000000-0000-0000-0000-000000000001")
    assert item1.code == "00000000-0000-0000-0000-000000000001"
    children = Competency.objects.filter(parent=item1).order_by("sort_order").values_list("statement", flat=True)
    assert list(children) == [f"Item 1.{n}" for n in range(1, 11)]
    assert (item1.grade_level, item1.assessable) == (0, False)
    assert warning_codes(report) == {"no_grade_level": 1, "no_human_coding_scheme": 1}
    assert "14 item(s) name no grade K-12" in next(w.message for w in report.warnings if w.code == "no_grade_level")


def test_astral_character_is_stored_and_read_back_as_one_character():
    case_import(data=sample_bytes("Utf8TestFramework.json"))
    framework = Framework.objects.get()
    competency = Competency.objects.get()
    assert framework.name == "UTF8 \U0001d451 Test"
    assert competency.statement == "Item \U0001d451 1"
    assert len(competency.statement) == 8
    with connection.cursor() as cursor:  # as PostgreSQL holds it: 4 UTF-8 bytes, one character
        cursor.execute("SELECT octet_length(statement), char_length(statement) FROM mastery_competency")
        assert cursor.fetchone() == (11, 8)


# --- order, codes, grades -------------------------------------------------------------------------------


def test_sibling_order_sequence_then_list_enumeration_then_natural_code():
    items = [
        {"identifier": "i-l1-10", "fullStatement": "ten", "humanCodingScheme": "L1.10"},
        {"identifier": "i-l1-2", "fullStatement": "two", "humanCodingScheme": "L1.2"},
        {"identifier": "i-l1-1", "fullStatement": "one", "humanCodingScheme": "L1.1"},
        {"identifier": "i-enum-b", "fullStatement": "b", "humanCodingScheme": "Z.1", "listEnumeration": "b"},
        {"identifier": "i-enum-a", "fullStatement": "a", "humanCodingScheme": "Z.2", "listEnumeration": "a"},
        {"identifier": "i-seq", "fullStatement": "first", "humanCodingScheme": "Z.9"},
    ]
    assocs = [("isChildOf", item["identifier"], "doc-order") for item in items[:5]]
    report = case_import(data=package("doc-order", items, [*assocs, ("isChildOf", "i-seq", "doc-order", 1)]))
    assert codes_in_order(Framework.objects.get(pk=report.framework_id)) == [
        "Z.9",
        "Z.2",
        "Z.1",
        "L1.1",
        "L1.2",
        "L1.10",
    ]


def test_education_levels_give_grades_and_kindergarten_and_unknown_levels_are_named():
    items = [
        {"identifier": "g-k", "fullStatement": "k", "humanCodingScheme": "K.1", "educationLevel": ["KG"]},
        {
            "identifier": "g-hs",
            "fullStatement": "hs",
            "humanCodingScheme": "HS.1",
            "educationLevel": ["09", "10", "HS"],
        },
        {"identifier": "g-child", "fullStatement": "child", "humanCodingScheme": "HS.1.a"},
    ]
    assocs = [("isChildOf", "g-k", "doc-g"), ("isChildOf", "g-hs", "doc-g"), ("isChildOf", "g-child", "g-hs")]
    report = case_import(data=package("doc-g", items, assocs))
    grades = dict(Competency.objects.values_list("code", "grade_level"))
    assert grades == {"K.1": 0, "HS.1": 9, "HS.1.a": 9}
    framework = Framework.objects.get()
    assert (framework.grade_low, framework.grade_high) == (0, 9)
    problem = next(w for w in report.warnings if w.code == "education_level_not_k12")
    assert (problem.path, problem.identifier, problem.message) == (
        "CFItems[1].educationLevel",
        "g-hs",
        "“HS” is not a grade K-12; ignored",
    )


# --- refused packages store nothing -----------------------------------------------------------------------


def test_errors_name_the_json_path_and_identifier_and_nothing_is_stored():
    case_import(data=sample_bytes(WSCB))
    before = stored_counts()
    bad = package(
        "doc-bad",
        [{"identifier": "ok-1", "fullStatement": "fine"}, {"identifier": "no-statement"}, {"fullStatement": "no id"}],
        [("isChildOf", "ok-1", "doc-bad")],
    )
    with pytest.raises(CasePackageError) as refused:
        case_import(data=bad)
    assert [str(problem) for problem in refused.value.problems] == [
        "CFItems[1].fullStatement (no-statement): is required [required]",
        "CFItems[2].identifier: is required [required]",
    ]
    assert stored_counts() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe not utf-8", "$: is not UTF-8 text (byte 0 cannot be decoded) [not_utf8]"),
        (b'{"CFDocument": ', "$: is not JSON: Expecting value at line 1, column 16 [not_json]"),
        (b"[]", "$: must be a JSON object (a CFPackage) [not_object]"),
        (b'{"CFItems": []}', "CFDocument: is required and must be an object [required]"),
        (
            b'{"CFDocument": {"identifier": "d", "title": "a\\u0000b"}}',
            "CFDocument.title (d): contains a NUL or an unpaired surrogate escape [not_a_character]",
        ),
        (
            b'{"CFDocument": {"identifier": "d", "title": "\\ud835 alone"}}',
            "CFDocument.title (d): contains a NUL or an unpaired surrogate escape [not_a_character]",
        ),
    ],
)
def test_unreadable_files_are_refused_with_a_message(data, message):
    with pytest.raises(CasePackageError) as refused:
        case_import(data=data)
    assert [str(problem) for problem in refused.value.problems] == [message]
    assert stored_counts()["frameworks"] == 0


def test_a_precedes_cycle_with_stored_edges_is_refused_and_nothing_is_stored():
    """6.RP.A.1 precedes 6.RP.A.2 is stored; a new package saying 6.RP.A.2 precedes 6.RP.A.1 closes a cycle."""
    case_import(data=sample_bytes(WSCB))
    before = stored_counts()
    cyclic = package(
        "doc-cycle",
        [{"identifier": "c-1", "fullStatement": "new item", "humanCodingScheme": "C.1"}],
        [("isChildOf", "c-1", "doc-cycle"), ("precedes", "c-1", RP6_A2), ("precedes", RP6_A2, RP6_A1)],
    )
    with pytest.raises(CasePackageError) as refused:
        case_import(data=cyclic)
    [problem] = refused.value.problems
    assert (problem.code, problem.path, problem.identifier) == (
        "prerequisite_cycle",
        "CFAssociations[2]",
        f"precedes-{RP6_A2}-{RP6_A1}",
    )
    assert problem.message == (
        "Making CCSS.Math.Content.6.RP.A.2 a prerequisite of CCSS.Math.Content.6.RP.A.1 would create a cycle "
        "(CCSS.Math.Content.6.RP.A.1 needs CCSS.Math.Content.6.RP.A.2 needs CCSS.Math.Content.6.RP.A.1)."
    )
    assert stored_counts() == before
    assert not Framework.objects.filter(source_identifier="doc-cycle").exists()


@pytest.mark.parametrize(
    ("precedes", "message"),
    [
        ([("x-1", "x-1")], "X.1 cannot be a prerequisite of itself."),
        (
            [("x-1", "x-2"), ("x-2", "x-3"), ("x-3", "x-1")],
            "Making X.3 a prerequisite of X.1 would create a cycle (X.1 needs X.3 needs X.2 needs X.1).",
        ),
    ],
)
def test_a_precedes_cycle_inside_one_package_is_refused(precedes, message):
    items = [{"identifier": f"x-{n}", "fullStatement": f"x {n}", "humanCodingScheme": f"X.{n}"} for n in (1, 2, 3)]
    hierarchy = [("isChildOf", item["identifier"], "doc-x") for item in items]
    with pytest.raises(CasePackageError) as refused:
        case_import(data=package("doc-x", items, [*hierarchy, *(("precedes", a, b) for a, b in precedes)]))
    [problem] = refused.value.problems
    assert (problem.code, problem.path, problem.message) == (
        "prerequisite_cycle",
        f"CFAssociations[{2 + len(precedes)}]",
        message,
    )
    assert stored_counts() == {key: 0 for key in stored_counts()}


def test_a_hierarchy_loop_is_refused():
    items = [{"identifier": "h-1", "fullStatement": "one"}, {"identifier": "h-2", "fullStatement": "two"}]
    with pytest.raises(CasePackageError) as refused:
        case_import(data=package("doc-h", items, [("isChildOf", "h-1", "h-2"), ("isChildOf", "h-2", "h-1")]))
    assert [problem.code for problem in refused.value.problems] == ["hierarchy_loop"]
    assert stored_counts()["frameworks"] == 0


def test_an_item_of_another_framework_is_refused():
    case_import(data=sample_bytes(WSCB))
    before = stored_counts()
    thief = package(
        "doc-thief", [{"identifier": RP6_A1, "fullStatement": "mine now"}], [("isChildOf", RP6_A1, "doc-thief")]
    )
    with pytest.raises(CasePackageError) as refused:
        case_import(data=thief)
    assert [str(p) for p in refused.value.problems] == [
        f"CFItems[0] ({RP6_A1}): is already a competency of the framework “What Standards Could Be” "
        "[item_in_other_framework]"
    ]
    assert stored_counts() == before


# --- re-import, deprecation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(EXPECTED))
def test_a_second_import_of_the_same_file_writes_nothing(name):
    case_import(data=sample_bytes(name))
    before = stored_counts()
    with CaptureQueriesContext(connection) as queries:
        report = case_import(data=sample_bytes(name))
    writes = [q["sql"] for q in queries if q["sql"].lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert report.writes == 0
    assert stored_counts() == before


def test_vanished_items_are_deprecated_keep_their_evidence_and_return_when_back(world: World):
    original = sample_json("SmartLevelFramework.json")
    case_import(data=json.dumps(original).encode())
    gone = Competency.objects.get(source_identifier="00000000-0000-0000-0000-000000000014")
    Evidence.objects.create(
        student=world.users["s_a1_1"],
        competency=gone,
        kind=Evidence.Kind.RATING,
        rating=3,
        observed_at=datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC),
    )
    shrunk = dict(original)
    shrunk["CFItems"] = [item for item in original["CFItems"] if not item["identifier"].endswith("014")]
    shrunk["CFAssociations"] = [
        a for a in original["CFAssociations"] if not a["originNodeURI"]["identifier"].endswith("014")
    ]

    report = case_import(data=json.dumps(shrunk).encode())
    gone.refresh_from_db()
    assert (report.items_deprecated, report.items_created, report.writes) == (1, 0, 1)
    assert gone.deprecated and gone.deprecated_at is not None
    assert Competency.objects.count() == 14
    assert Evidence.objects.filter(competency=gone).count() == 1
    # Parent 2 keeps one child in the package; deprecated rows are not counted again on the next import.
    assert case_import(data=json.dumps(shrunk).encode()).writes == 0

    back = case_import(data=json.dumps(original).encode())
    gone.refresh_from_db()
    assert (back.items_updated, gone.deprecated, gone.deprecated_at) == (1, False, None)


def test_a_changed_statement_and_swapped_codes_update_in_place():
    items = [
        {"identifier": "s-1", "fullStatement": "one", "humanCodingScheme": "S.1"},
        {"identifier": "s-2", "fullStatement": "two", "humanCodingScheme": "S.2"},
    ]
    assocs = [("isChildOf", "s-1", "doc-s", 1), ("isChildOf", "s-2", "doc-s", 2)]
    case_import(data=package("doc-s", items, assocs))
    ids = dict(Competency.objects.values_list("source_identifier", "pk"))
    items[0]["humanCodingScheme"], items[1]["humanCodingScheme"] = "S.2", "S.1"
    items[1]["fullStatement"] = "two, reworded"
    report = case_import(data=package("doc-s", items, assocs))
    assert report.items_updated == 2
    assert dict(Competency.objects.values_list("source_identifier", "pk")) == ids
    assert dict(Competency.objects.values_list("code", "statement")) == {"S.2": "one", "S.1": "two, reworded"}


# --- associations waiting for another framework ------------------------------------------------------------


def successor_package() -> bytes:
    return package(
        "doc-successor",
        [{"identifier": OUTSIDE_SUCCESSOR, "fullStatement": "What comes after 6.RP.A.2", "humanCodingScheme": "N.1"}],
        [("isChildOf", OUTSIDE_SUCCESSOR, "doc-successor")],
    )


def test_a_waiting_precedes_is_resolved_when_the_framework_holding_its_end_arrives():
    case_import(data=sample_bytes(WSCB))
    assert UnresolvedAssociation.objects.count() == 1
    report = case_import(data=successor_package())
    assert (report.prerequisites_created, report.unresolved_resolved) == (1, 1)
    assert UnresolvedAssociation.objects.count() == 0
    edge = Prerequisite.objects.get(competency__source_identifier=OUTSIDE_SUCCESSOR)
    assert edge.prerequisite.source_identifier == RP6_A2
    # Once resolved, importing either file again changes nothing.
    assert case_import(data=sample_bytes(WSCB)).writes == 0
    assert case_import(data=successor_package()).writes == 0


def test_a_precedes_whose_end_is_already_loaded_becomes_an_edge_at_once():
    case_import(data=successor_package())
    report = case_import(data=sample_bytes(WSCB))
    assert (report.prerequisites_created, report.unresolved_stored) == (3, 0)
    assert UnresolvedAssociation.objects.count() == 0


# --- the command ------------------------------------------------------------------------------------------


def test_import_case_command_prints_the_report_and_warnings():
    out, err = io.StringIO(), io.StringIO()
    call_command("import_case", str(sample(WSCB)), stdout=out, stderr=err)
    framework = Framework.objects.get()
    assert out.getvalue().splitlines() == [
        f"framework created (id {framework.pk})",
        "competencies: 16 created, 0 updated, 0 deprecated",
        "prerequisite edges: 2 created (0 of them waited for this framework)",
        "aliases (exactMatchOf): 16 created, 0 removed",
        "associations waiting for another framework: 1 stored, 0 no longer waiting",
    ]
    assert err.getvalue().count("warning: ") == 3


def test_import_case_command_refuses_a_bad_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(package("doc-bad", [{"identifier": "x"}], []))
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"^1 error\(s\) in .*bad.json; nothing was stored\.$"):
        call_command("import_case", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == f"{path}: CFItems[0].fullStatement (x): is required [required]\n"
    assert stored_counts()["frameworks"] == 0


def test_a_new_item_reusing_a_vanished_items_code_takes_it_and_the_old_one_is_renamed():
    """Publishers reissue identifiers: the old row is deprecated and gives up its code, keeping its id."""
    old = [{"identifier": "old-1", "fullStatement": "old", "humanCodingScheme": "A.1"}]
    case_import(data=package("doc-r", old, [("isChildOf", "old-1", "doc-r")]))
    old_row = Competency.objects.get()
    new = [{"identifier": "new-1", "fullStatement": "new", "humanCodingScheme": "A.1"}]
    report = case_import(data=package("doc-r", new, [("isChildOf", "new-1", "doc-r")]))
    old_row.refresh_from_db()
    assert (old_row.code, old_row.deprecated) == (f"A.1~{old_row.pk}", True)
    assert Competency.objects.get(source_identifier="new-1").code == "A.1"
    assert [str(w) for w in report.warnings if w.code == "code_given_up"] == [
        f"CFItems (old-1): A.1 now names another item; this one is now A.1~{old_row.pk} [code_given_up]"
    ]
