"""OneRoster 1.1/1.2 bulk export (profiles/exports/oneroster.py): import → export → import changes nothing.

Every clean sample set (the libre REST collections with their two orgs typed as schools, as
test_oneroster_samples does) is imported, exported in both versions and imported again: into the same
district with the same source (nothing changes, row for row), and into a fresh database (the same rows,
by natural key). The demo district of tests/world.py, which no import made, goes the same way with a new
source name, and its second export equals its first.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from profiles.exports.oneroster import export_oneroster
from profiles.imports.oneroster import Report, import_oneroster
from profiles.models import (
    Demographics,
    District,
    Enrollment,
    GuardianLink,
    LearnerProfile,
    RoleMembership,
    School,
    Section,
    SourceIdentity,
    Term,
    User,
)
from tests.profiles.oneroster_helpers import TABLES, sample, small_set, table_counts, write_set
from tests.world import PASSWORD

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 26, 12, 30, 15, 250000, tzinfo=datetime.UTC)
STAMP = "2026-11-26T12:30:15.250Z"
EDFI, MOODLE, LIBRE = "edfi-lms-toolkit-v1p1", "moodle-enrol-oneroster-v1p2-delta", "libre-oneroster-rest-json"
SAMPLES = [EDFI, MOODLE, LIBRE]
EDFI_YEAR = "255901001_2021_2020-2021"  # the prefix of the edfi sessions' sourcedIds
VERSIONS = ["1.1", "1.2"]
# A 1.1 users row cannot carry the sourcedId of a 1.2 roles row: see test_a_1_2_set_exported_as_1_1_*.
SAME_SOURCE_ROUND_TRIPS = [(s, v) for s in SAMPLES for v in VERSIONS if (s, v) != (MOODLE, "1.1")]


# --- helpers ---------------------------------------------------------------------------------------------


@pytest.fixture
def district() -> District:
    return District.objects.create(name="Grand Bend", code="grand-bend", import_demographics=True)


def sample_set(folder: str, tmp_path: Path) -> Path:
    """The sample as the import tests apply it: the libre collections with orgs 016 and 017 as schools."""
    if folder != LIBRE:
        return sample(folder)
    copy = tmp_path / "libre"
    copy.mkdir()
    for source in sample(LIBRE).glob("*.json"):
        data = json.loads(source.read_text())
        for org in data.get("orgs", []):
            if org["sourcedId"] in ("016", "017"):
                org.update(type="school", status="active")
        (copy / source.name).write_text(json.dumps(data))
    return copy


def imported(folder: str, district: District, tmp_path: Path, system: str = "sis") -> Report:
    report = import_oneroster(sample_set(folder, tmp_path), district=district, system=system)
    assert report.errors == [] and report.applied
    return report


def export_bytes(district: District, version: str, source: str = "sis") -> bytes:
    out = io.BytesIO()
    export_oneroster(out, district=district, version=version, source=source, now=NOW)
    return out.getvalue()


def export_file(district: District, version: str, path: Path, source: str = "sis") -> Path:
    path.write_bytes(export_bytes(district, version, source))
    return path


def files_of(data: bytes) -> dict[str, list[list[str]]]:
    """File name (no .csv) → its rows, header first."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name.removesuffix(".csv"): list(csv.reader(io.StringIO(archive.read(name).decode("utf-8"), newline="")))
            for name in archive.namelist()
        }


def column(rows: list[list[str]], name: str) -> list[str]:
    position = rows[0].index(name)
    return [row[position] for row in rows[1:]]


def created(report: Report) -> dict[str, int]:
    return {entity: c for entity, c, _, _, _ in report.rows() if c}


def unchanged(report: Report) -> dict[str, int]:
    return {entity: n for entity, _, _, _, n in report.rows() if n}


def changes(report: Report) -> dict[str, tuple[int, int, int]]:
    """Creates, updates and deactivations per kind of record, where there are any."""
    return {entity: (c, u, d) for entity, c, u, d, _ in report.rows() if (c, u, d) != (0, 0, 0)}


def full_rows() -> dict[str, list[tuple]]:
    """Every row of every roster table, every column, by primary key."""
    return {model.__name__: list(model._default_manager.order_by("pk").values_list()) for model in TABLES}


def roster_users(district: District):
    """Everyone the district's roster names: members, people enrolled in its sections, their guardians."""
    enrolled = Q(enrollments__section__school__district=district)
    members = Q(memberships__school__district=district) | Q(memberships__district=district)
    guardians = Q(children_links__student__enrollments__section__school__district=district)
    return User.objects.filter(members | enrolled | guardians).distinct()


def portable_rows(district: District) -> dict[str, list[tuple]]:
    """The district's roster as another database holds it: natural keys for primary keys, and only what
    OneRoster carries (not a school's grade range, a section's code of ours, profile notes or passwords)."""
    users = roster_users(district)
    in_district = Q(school__district=district) | Q(district=district)
    tables = {
        "schools": School.objects.filter(district=district).values_list("code", "name"),
        "terms": Term.objects.filter(school__district=district).values_list(
            "school__code", "name", "kind", "start_date", "end_date", "parent__name"
        ),
        "sections": Section.objects.filter(school__district=district).values_list(
            "school__code", "term__name", "name", "subject", "grade_level"
        ),
        "users": users.values_list("username", "first_name", "last_name", "email", "is_active"),
        "memberships": RoleMembership.objects.filter(in_district).values_list(
            "user__username", "role", "school__code", "active"
        ),
        "learner profiles": LearnerProfile.objects.filter(school__district=district).values_list(
            "user__username", "school__code", "grade_level"
        ),
        "enrollments": Enrollment.objects.filter(section__school__district=district).values_list(
            "section__name", "user__username", "role", "active", "start_date", "end_date"
        ),
        "guardian links": GuardianLink.objects.filter(student__in=users).values_list(
            "guardian__username", "student__username", "relationship"
        ),
        "demographics": Demographics.objects.filter(student__in=users).values_list(
            "student__username", "sex", "asian", "white", "hispanic_or_latino", "black_or_african_american"
        ),
    }
    return {kind: sorted(tuple("" if v is None else v for v in row) for row in rows) for kind, rows in tables.items()}


def kinds(rows: dict[str, list[tuple]]) -> dict[str, int]:
    return {kind: len(found) for kind, found in rows.items()}


def wipe_roster() -> None:
    """A fresh database, as far as rosters go (what another server importing the zip starts from): every
    roster table emptied, with whatever refers to its rows (evidence, paths...). Rolled back with the test."""
    tables = [model._meta.db_table for model in (SourceIdentity, User, Section, Term, School, District)]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's pending foreign key checks, first
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


# --- the round trip of every clean sample set -------------------------------------------------------------


@pytest.mark.parametrize(("folder", "version"), SAME_SOURCE_ROUND_TRIPS)
def test_an_export_imported_into_its_district_with_its_source_changes_nothing(folder, version, district, tmp_path):
    first = imported(folder, district, tmp_path)
    before = full_rows()
    zipped = export_file(district, version, tmp_path / "export.zip")

    preview = import_oneroster(zipped, district=district, system="sis", dry_run=True)

    assert preview.errors == [] and preview.version == version
    assert changes(preview) == {}
    # Every row the first import made is there again, unchanged.
    assert unchanged(preview) == created(first)

    again = import_oneroster(zipped, district=district, system="sis")

    assert again.applied and again.writes == 0
    assert full_rows() == before


@pytest.mark.parametrize("folder", SAMPLES)
@pytest.mark.parametrize("version", VERSIONS)
def test_an_export_imported_into_a_fresh_database_makes_the_same_rows(folder, version, district, tmp_path):
    first = imported(folder, district, tmp_path)
    original, original_counts = portable_rows(district), table_counts()
    zipped = export_file(district, version, tmp_path / "export.zip")
    wipe_roster()
    fresh = District.objects.create(name="Grand Bend", code="grand-bend", import_demographics=True)

    report = import_oneroster(zipped, district=fresh, system="sis")

    assert report.errors == [] and report.applied
    assert table_counts() == original_counts
    assert portable_rows(fresh) == original
    assert created(report) == created(first)


def test_a_1_2_set_exported_as_1_1_loses_its_role_ids(district, tmp_path):
    """1.1 has no roles.csv: a membership is named "user:role@org" after its users.csv row, never by the
    sourcedId of the 1.2 roles row that made it. Re-imported, the membership is found by its natural key
    (counted as a create, but no new membership) and gains a second identity; everything else is unchanged."""
    imported(MOODLE, district, tmp_path)
    before = full_rows()

    report = import_oneroster(export_file(district, "1.1", tmp_path / "export.zip"), district=district, system="sis")

    assert report.applied and changes(report) == {"role memberships": (1, 0, 0)}
    after = full_rows()
    assert {table: rows for table, rows in after.items() if table != "SourceIdentity"} == {
        table: rows for table, rows in before.items() if table != "SourceIdentity"
    }
    assert sorted(SourceIdentity.objects.filter(entity_type="roles").values_list("external_id", flat=True)) == [
        "ROLE_8",
        "USER_0:student@ORG_1",
    ]
    assert after["SourceIdentity"][:-1] == before["SourceIdentity"]  # one identity more, the rest as they were


# --- what the files hold ------------------------------------------------------------------------------------

ORGS = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]
SESSIONS = [
    *["sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId"],
    "schoolYear",
]
COURSES = [
    *["sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades"],
    *["orgSourcedId", "subjects", "subjectCodes"],
]
CLASSES = [
    *["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType"],
    *["location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"],
]
USERS_1_1 = [
    *["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds"],
    *["givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades"],
]
USERS_1_2 = [
    *["sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName"],
    *["middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "userMasterIdentifier"],
    *["preferredGivenName", "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId", "pronouns"],
]
ROLES = [
    *["sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate", "endDate"],
    *["orgSourcedId", "userProfileSourcedId"],
]
ENROLLMENTS = [
    *["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"],
    *["primary", "beginDate", "endDate"],
]
DEMOGRAPHICS = [
    *["sourcedId", "status", "dateLastModified", "birthDate", "sex", "americanIndianOrAlaskaNative", "asian"],
    *["blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces"],
    *["hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth"],
    "publicSchoolResidenceStatus",
]
MANIFEST_1_1 = [
    ["propertyName", "value"],
    ["manifest.version", "1.0"],
    ["oneroster.version", "1.1"],
    *[
        [f"file.{name}", mode]
        for name, mode in [
            ("academicSessions", "bulk"),
            ("categories", "absent"),
            ("classResources", "absent"),
            ("classes", "bulk"),
            ("courseResources", "absent"),
            ("courses", "bulk"),
            ("demographics", "bulk"),
            ("enrollments", "bulk"),
            ("lineItems", "absent"),
            ("orgs", "bulk"),
            ("resources", "absent"),
            ("results", "absent"),
            ("users", "bulk"),
        ]
    ],
    ["source.systemName", "plplatform"],
    ["source.systemCode", "sis"],
]


def test_edfi_exported_as_1_1_has_the_spec_headers_and_every_row(district, tmp_path):
    imported(EDFI, district, tmp_path)

    data = export_bytes(district, "1.1")

    files = files_of(data)
    assert files["manifest"] == MANIFEST_1_1
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # dated when the export ran (to the minute here)
        assert {info.date_time[:5] for info in archive.infolist()} == {timezone.localtime(NOW).timetuple()[:5]}
    assert {name: rows[0] for name, rows in files.items() if name != "manifest"} == {
        "orgs": ORGS,
        "academicSessions": SESSIONS,
        "classes": CLASSES,
        "courses": COURSES,
        "users": USERS_1_1,
        "enrollments": ENROLLMENTS,
        "demographics": DEMOGRAPHICS,
    }
    # Two semester enrollments made one enrollment: both sourcedIds are written, so 24 rows for 12.
    assert {name: len(rows) - 1 for name, rows in files.items()} == {
        "manifest": 17,
        "orgs": 2,
        "academicSessions": 3,
        "classes": 2,
        "courses": 2,
        "users": 10,
        "enrollments": 24,
        "demographics": 8,
    }
    assert files["orgs"][1:] == [
        ["255901", "active", STAMP, "Grand Bend", "district", "", ""],
        ["255901001", "active", STAMP, "Grand Bend High School", "school", "255901001", "255901"],
    ]
    # The semesters name no parent in the set: their school year is the school-year session spanning them.
    assert [row[:1] + row[3:] for row in files["academicSessions"][1:]] == [
        [f"{EDFI_YEAR}_Fall", "2020-2021 Fall Semester", "semester", "2020-08-17", "2020-12-18", "", "2021"],
        [f"{EDFI_YEAR}_SchoolYear", "2020-2021 School Year", "schoolYear", "2020-08-17", "2021-05-28", "", "2021"],
        [f"{EDFI_YEAR}_Spring", "2020-2021 Spring Semester", "semester", "2021-01-04", "2021-05-28", "", "2021"],
    ]
    mary = next(row for row in files["users"][1:] if row[0] == "604863")
    assert mary == [
        *["604863", "active", STAMP, "true", "255901001", "student", "Mary Archer", "{Local:863}", "Mary", "Archer"],
        *["", "", "Mary.Archer@studentgps.org", "", "", "", "09"],
    ]
    assert column(files["enrollments"], "beginDate")[:2] == ["2020-08-17", "2020-08-17"]
    assert set(column(files["enrollments"], "endDate")) == {"2021-05-28"}
    assert column(files["classes"], "grades") == ["09", "09"]  # as the source wrote them


def test_edfi_exported_as_1_2_moves_roles_to_roles_csv_under_their_ids(district, tmp_path):
    imported(EDFI, district, tmp_path)

    files = files_of(export_bytes(district, "1.2"))

    assert {name: rows[0] for name, rows in files.items() if name != "manifest"} == {
        "orgs": ORGS,
        "academicSessions": SESSIONS,
        "classes": CLASSES,
        "courses": COURSES,
        "users": USERS_1_2,
        "roles": ROLES,
        "enrollments": ENROLLMENTS,
        "demographics": DEMOGRAPHICS,
    }
    assert ["oneroster.version", "1.2"] in files["manifest"]
    assert {row[0] for row in files["manifest"][1:] if row[1] == "bulk"} == {
        *["file.orgs", "file.academicSessions", "file.courses", "file.classes", "file.users", "file.roles"],
        *["file.enrollments", "file.demographics"],
    }
    assert len(files["manifest"]) - 1 == 25
    mary = next(row for row in files["users"][1:] if row[0] == "604863")
    assert dict(zip(USERS_1_2, mary, strict=True)) | {"dateLastModified": ""} == {
        **dict.fromkeys(USERS_1_2, ""),
        **{"sourcedId": "604863", "status": "active", "enabledUser": "true", "username": "Mary Archer"},
        **{"userIds": "{Local:863}", "givenName": "Mary", "familyName": "Archer", "grades": "09"},
        **{"email": "Mary.Archer@studentgps.org", "primaryOrgSourcedId": "255901001"},
    }
    # The 1.1 import named each membership after its users.csv row; roles.csv keeps that name.
    assert [row for row in files["roles"][1:] if row[3] == "604863"] == [
        ["604863:student@255901001", "active", STAMP, "604863", "primary", "student", "", "", "255901001", ""]
    ]
    assert sorted(column(files["roles"], "role")) == ["student"] * 8 + ["teacher"] * 2


def test_demographics_are_written_only_when_the_district_opted_in(world):
    north = world.districts["north"]

    files = files_of(export_bytes(north, "1.2"))

    assert "demographics" not in files
    assert ["file.demographics", "absent"] in files["manifest"]

    north.import_demographics = True
    north.save()
    files = files_of(export_bytes(north, "1.2"))

    assert ["file.demographics", "bulk"] in files["manifest"]
    assert [row[3:] for row in files["demographics"][1:]] == [
        ["", "female", *["false"] * 7, "", "", "", ""]
    ] * 5  # the five students of North, each female (tests/world.py)


def test_no_password_is_ever_written(world):
    """The world's users have real passwords: neither they nor their hashes reach any file."""
    secrets = [PASSWORD, *User.objects.values_list("password", flat=True)]
    for version in VERSIONS:
        data = export_bytes(world.districts["north"], version)
        files = files_of(data)
        assert [name for name, rows in files.items() if any("password" in title.lower() for title in rows[0])] == []
        texts = [cell for rows in files.values() for row in rows for cell in row]
        assert [cell for cell in texts if any(secret in cell for secret in secrets)] == []


def test_metadata_and_vendor_columns_go_back_as_the_source_sent_them(district, tmp_path):
    files = small_set(2)
    files["users.csv"] = files["users.csv"].replace("grades,password\n", "grades,password,metadata.house,ext_lms_id\n")
    files["users.csv"] = files["users.csv"].replace(
        "u0,,,true,s1,student,stu0,,Given0,Family0,,,,,,,05,\n",
        "u0,,,true,s1,student,stu0,,Given0,Family0,,,,,,,05,,Oak,L-7\n",
    )
    import_oneroster(write_set(tmp_path / "set", files), district=district, system="sis")
    before = full_rows()

    for version in VERSIONS:
        exported = files_of(export_bytes(district, version))
        users = exported["users"]
        assert users[0][-2:] == ["ext_lms_id", "metadata.house"]  # after the spec's columns, by name
        assert [row[-2:] for row in users[1:]] == [["L-7", "Oak"], ["", ""]]
        report = import_oneroster(
            export_file(district, version, tmp_path / f"{version}.zip"), district=district, system="sis"
        )
        assert report.writes == 0 and changes(report) == {}
    assert full_rows() == before


def test_the_export_makes_the_same_queries_whatever_the_size_of_the_roster(world, district, tmp_path):
    """Per file, one query for its rows, one for their sourcedIds and one for its extension columns (and one
    for the district org, one for the ids of the users, one for the roles at the district): none per row."""
    imported(EDFI, district, tmp_path)
    District.objects.filter(code="north").update(import_demographics=True)
    world.districts["north"].refresh_from_db()
    queries = {}
    for name, roster in (("edfi", district), ("north", world.districts["north"])):
        with CaptureQueriesContext(connection) as captured:
            export_bytes(roster, "1.2")
        queries[name] = len(captured.captured_queries)

    assert queries == {"edfi": 23, "north": 23}


# --- the demo district: made here, not imported --------------------------------------------------------------

NORTH_KINDS = {
    **{"schools": 2, "terms": 2, "sections": 3, "users": 12, "memberships": 12, "learner profiles": 5},
    **{"enrollments": 8, "guardian links": 1, "demographics": 5},
}


@pytest.mark.parametrize("version", VERSIONS)
def test_the_demo_district_exports_and_reimports_stably_with_a_new_source(world, version, tmp_path):
    north = world.districts["north"]
    District.objects.filter(pk=north.pk).update(import_demographics=True)
    north.refresh_from_db()
    User.objects.filter(username="s_a2_1").update(is_active=False)  # a switched-off account keeps its rows
    original = portable_rows(north)
    first = export_file(north, version, tmp_path / "first.zip", source="demo-sis")
    wipe_roster()
    fresh = District.objects.create(name="North District", code="north", import_demographics=True)

    report = import_oneroster(first, district=fresh, system="demo-sis")

    assert report.errors == [] and report.applied
    assert kinds(portable_rows(fresh)) == NORTH_KINDS
    assert portable_rows(fresh) == original
    # The rows now carry the ids the first export derived: the second export is the first again.
    second = export_file(fresh, version, tmp_path / "second.zip", source="demo-sis")
    assert files_of(second.read_bytes()) == files_of(first.read_bytes())
    again = import_oneroster(second, district=fresh, system="demo-sis")
    assert again.applied and again.writes == 0 and changes(again) == {}


@pytest.mark.parametrize("version", VERSIONS)
def test_the_seeded_demo_district_goes_out_and_back_in_with_what_oneroster_carries(version, tmp_path):
    """`seed_demo` (60 students): the same rows come back, but for what OneRoster has no place for: its
    guardians' "legal guardian" links come back as "guardian", and its demographics stay behind (the demo
    district has not opted in to them)."""
    call_command("seed_demo", schools=1, students=60, force=True, stdout=io.StringIO())
    demo = District.objects.get(code="demo")
    original = portable_rows(demo)
    first = export_file(demo, version, tmp_path / "first.zip", source="demo-sis")
    wipe_roster()
    fresh = District.objects.create(name=demo.name, code="demo")

    report = import_oneroster(first, district=fresh, system="demo-sis")

    assert report.errors == [] and report.warnings == [] and report.applied
    assert {link[2] for link in original["guardian links"]} == {"legal guardian"}
    assert portable_rows(fresh) == {
        **original,
        "guardian links": [(guardian, student, "guardian") for guardian, student, _ in original["guardian links"]],
        "demographics": [],
    }
    assert kinds(original) == {
        **{"schools": 1, "terms": 1, "sections": 6, "users": 70, "memberships": 70, "learner profiles": 60},
        **{"enrollments": 66, "guardian links": 2, "demographics": 60},
    }
    second = export_file(fresh, version, tmp_path / "second.zip", source="demo-sis")
    assert files_of(second.read_bytes()) == files_of(first.read_bytes())


def test_derived_ids_are_the_same_in_every_export_and_for_every_source_name(world):
    north = world.districts["north"]
    ours = files_of(export_bytes(north, "1.2", source="plplatform"))
    other = files_of(export_bytes(north, "1.2", source="never-imported"))

    assert {name: rows for name, rows in ours.items() if name != "manifest"} == {
        name: rows for name, rows in other.items() if name != "manifest"
    }
    assert files_of(export_bytes(north, "1.2", source="plplatform")) == ours


@pytest.mark.parametrize("version", VERSIONS)
def test_inactive_memberships_and_enrollments_import_back_inactive(world, version, tmp_path):
    """p_b's principal membership is switched off; t_b1's account and membership too. 1.2 writes both
    memberships tobedeleted in roles.csv; 1.1 has one row per user: t_b1's is tobedeleted (which switches
    off the memberships it lists), but an active user's inactive membership has no place there."""
    RoleMembership.objects.filter(user__username__in=["p_b", "t_b1"]).update(active=False)
    User.objects.filter(username="t_b1").update(is_active=False)
    zipped = export_file(world.districts["north"], version, tmp_path / "north.zip", source="x")
    files = files_of(zipped.read_bytes())
    users = {row[files["users"][0].index("username")]: row for row in files["users"][1:]}
    status = files["users"][0].index("status")
    s_left = users["s_left"][0]

    assert (users["p_b"][status], users["t_b1"][status]) == ("active", "tobedeleted")
    assert [row[1] for row in files["enrollments"][1:] if row[5] == s_left] == ["tobedeleted"]
    if version == "1.2":
        by_user = {row[3]: row[1] for row in files["roles"][1:]}
        assert (by_user[users["p_b"][0]], by_user[users["t_b1"][0]]) == ("tobedeleted", "tobedeleted")
    else:
        orgs, role = files["users"][0].index("orgSourcedIds"), files["users"][0].index("role")
        assert [users["p_b"][role], users["p_b"][orgs]] == ["administrator", ""]
        assert users["t_b1"][role] == "teacher" and users["t_b1"][orgs] != ""

    wipe_roster()
    fresh = District.objects.create(name="North District", code="north")
    report = import_oneroster(zipped, district=fresh, system="x")

    assert report.errors == [] and report.applied
    memberships = RoleMembership.objects.filter(user__username__in=["p_b", "t_b1"])
    expected = [("p_b", "principal", False), ("t_b1", "teacher", False)]
    assert sorted(memberships.values_list("user__username", "role", "active")) == expected[version == "1.1" :]
    assert User.objects.get(username="t_b1").is_active is False
    assert Enrollment.objects.get(user__username="s_left").active is False


# --- the download and the command ------------------------------------------------------------------------


def signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def export_url(district: District) -> str:
    return reverse("oneroster-export", kwargs={"district_id": district.pk})


def test_a_district_admin_downloads_the_zip(world):
    north = world.districts["north"]

    response = signed_in("admin_north").get(export_url(north), {"version": "1.1", "source": "plplatform"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="oneroster-1.1-district-{north.pk}.zip"'
    assert response["Cache-Control"] == "no-store"
    files = files_of(b"".join(response.streaming_content))
    assert ["oneroster.version", "1.1"] in files["manifest"]
    assert sorted(column(files["users"], "username")) == sorted(
        ["admin_north", "g_1", "p_a", "p_b", "s_a1_1", "s_a1_2", "s_a2_1", "s_b1_1", "s_left", "t_a1", "t_a2", "t_b1"]
    )


def test_the_download_defaults_to_1_2_with_the_ids_of_the_districts_import(world, tmp_path):
    north = world.districts["north"]
    import_oneroster(write_set(tmp_path / "set", small_set(3)), district=north, system="sis")

    response = signed_in("admin_north").get(export_url(north))

    assert response.status_code == 200
    files = files_of(b"".join(response.streaming_content))
    assert ["oneroster.version", "1.2"] in files["manifest"]
    assert ["source.systemCode", "sis"] in files["manifest"]
    # The import's students keep its ids; the world's people (never imported) have derived ones.
    assert {"u0", "u1", "u2"} < set(column(files["users"], "sourcedId"))


NORTH_NAMES = ["s_a1_1", "s_a1_2", "s_left", "s_a2_1", "s_b1_1", "t_a1", "t_b1", "admin_north"]


@pytest.mark.parametrize("username", ["p_a", "t_a1", "s_a1_1", "g_1", "admin_south"])
def test_anyone_but_the_districts_admins_is_refused_and_sees_no_roster(world, username):
    response = signed_in(username).get(export_url(world.districts["north"]), {"version": "1.2"})

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert [name for name in NORTH_NAMES if name != username and name.encode() in response.content] == []


def test_signing_in_comes_first(world):
    url = export_url(world.districts["north"])
    response = Client().get(url)
    assert (response.status_code, response["Location"]) == (302, f"{reverse('login')}?next={url}")


@pytest.mark.parametrize("params", [{"version": "2.0"}, {"source": "another-districts-sis"}])
def test_an_unknown_version_or_source_is_refused(world, params):
    response = signed_in("admin_north").get(export_url(world.districts["north"]), params)
    assert response.status_code == 400
    assert response.content == b"Choose a OneRoster version (1.1 or 1.2) and one of the district's sources."


def test_the_upload_page_offers_the_download(world):
    north = world.districts["north"]
    page = signed_in("admin_north").get(reverse("oneroster-upload", kwargs={"district_id": north.pk}))

    html = page.content.decode()
    assert f'href="{export_url(north)}?version=1.2&amp;source=plplatform"' in html
    assert f'action="{export_url(north)}"' in html
    assert page.context["export_sources"] == ["plplatform"]


def test_the_command_writes_the_zip(world, tmp_path):
    out = io.StringIO()
    target = tmp_path / "north.zip"

    call_command("export_oneroster", "--district", "north", "--version", "1.1", "-o", str(target), stdout=out)

    files = files_of(target.read_bytes())
    assert ["oneroster.version", "1.1"] in files["manifest"]
    assert len(files["users"]) - 1 == 12
    assert out.getvalue().startswith(
        "OneRoster 1.1, sourcedIds of “plplatform”: orgs 3, academicSessions 1, classes 3, courses 0, users 12, "
        "enrollments 8 ("
    )
    assert out.getvalue().endswith(f" s)\nWrote {target}.\n")
    assert list(tmp_path.iterdir()) == [target]


def test_the_command_names_what_it_cannot_do(world, tmp_path):
    with pytest.raises(CommandError, match=r"^no district with code nowhere$"):
        call_command("export_oneroster", district="nowhere", output=str(tmp_path / "x.zip"))
    with pytest.raises(CommandError, match=r"^cannot write .*/missing/x\.zip: No such file or directory$"):
        call_command("export_oneroster", district="north", output=str(tmp_path / "missing" / "x.zip"))
    assert list(tmp_path.iterdir()) == []
