"""Every OneRoster folder of the shared samples is a test (issue 7, items 1 and 5).

Expected counts were taken from the files by hand: edfi-lms-toolkit-v1p1 holds 2 orgs (the district
and one school), 3 academic sessions, 2 classes, 10 users (8 students, 2 teachers), 24 enrollments
(each student and teacher twice per class, once a semester: 12 distinct person-class-role triples)
and 8 demographics rows.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles.imports.oneroster import import_oneroster
from profiles.imports.parse import parse_set, read_source
from profiles.imports.parse_json import parse_json_set
from profiles.models import (
    Demographics,
    District,
    Enrollment,
    LearnerProfile,
    Role,
    RoleMembership,
    School,
    Section,
    SourceIdentity,
    Term,
    User,
)
from tests.profiles.oneroster_helpers import sample, table_counts, writes_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def district() -> District:
    return District.objects.create(name="Grand Bend", code="grand-bend", import_demographics=True)


def counts(report) -> dict[str, tuple[int, int, int, int]]:
    return {entity: (c, u, d, n) for entity, c, u, d, n in report.rows()}


def test_edfi_bulk_set_imports_with_no_errors_and_the_counted_rows(district):
    report = import_oneroster(sample("edfi-lms-toolkit-v1p1"), district=district, system="classlink")

    assert report.errors == [] and report.applied
    assert report.version == "1.1"
    assert counts(report) == {
        "districts": (1, 0, 0, 0),
        "schools": (1, 0, 0, 0),
        "terms": (3, 0, 0, 0),
        "sections": (2, 0, 0, 0),
        "users": (10, 0, 0, 0),
        "role memberships": (10, 0, 0, 0),
        "learner profiles": (8, 0, 0, 0),
        "enrollments": (12, 0, 0, 0),
        "guardian links": (0, 0, 0, 0),
        "demographics": (8, 0, 0, 0),
    }
    school = School.objects.get(district=district)
    assert (school.name, school.code) == ("Grand Bend High School", "255901001")
    assert sorted(Term.objects.filter(school=school).values_list("name", "kind")) == [
        ("2020-2021 Fall Semester", "semester"),
        ("2020-2021 School Year", "school_year"),
        ("2020-2021 Spring Semester", "semester"),
    ]
    # Both classes list the Fall and Spring semesters: the section sits in the school year spanning them.
    assert sorted(Section.objects.values_list("name", "grade_level", "term__name")) == [
        ("ALG-1", 9, "2020-2021 School Year"),
        ("ENG-1", 9, "2020-2021 School Year"),
    ]
    assert RoleMembership.objects.filter(role=Role.STUDENT, school=school).count() == 8
    assert RoleMembership.objects.filter(role=Role.TEACHER, school=school).count() == 2
    assert set(LearnerProfile.objects.values_list("grade_level", flat=True)) == {9}
    # The two semester enrollments of a student in a class are one enrollment spanning the year.
    mary = User.objects.get(username="Mary Archer")
    assert (
        sorted(Enrollment.objects.filter(user=mary).values_list("start_date", "end_date"))
        == [(__import__("datetime").date(2020, 8, 17), __import__("datetime").date(2021, 5, 28))] * 2
    )
    assert not mary.has_usable_password()
    assert Demographics.objects.filter(asian=True).count() == 3
    # Every imported row is linked; grades stay strings ("09") and metadata.* columns are kept.
    assert SourceIdentity.objects.filter(system="classlink").count() == 2 + 3 + 2 + 10 + 10 + 8 + 24 + 8
    user_identity = SourceIdentity.objects.get(system="classlink", entity_type="users", external_id="604863")
    assert user_identity.extra == {"userIds": "{Local:863}", "grades": "09"}
    assert (
        SourceIdentity.objects.get(entity_type="classes", external_id="25590100101Trad120ENG112011").extra["grades"]
        == "09"
    )


def test_edfi_reimport_changes_nothing(district):
    import_oneroster(sample("edfi-lms-toolkit-v1p1"), district=district, system="classlink")
    before = table_counts()

    with CaptureQueriesContext(connection) as queries:
        again = import_oneroster(sample("edfi-lms-toolkit-v1p1"), district=district, system="classlink")

    assert again.applied and again.writes == 0
    assert writes_in(queries.captured_queries) == []
    assert table_counts() == before
    assert {entity: c[3] for entity, c in counts(again).items()}["enrollments"] == 12


def test_demographics_are_skipped_unless_the_district_opted_in():
    district = District.objects.create(name="Grand Bend", code="grand-bend")
    report = import_oneroster(sample("edfi-lms-toolkit-v1p1"), district=district, system="classlink")

    assert report.applied and Demographics.objects.count() == 0
    assert "demographics.csv: not imported: the district has not opted in to demographics" in map(str, report.warnings)


def test_moodle_delta_set_reads_as_1_2_and_maps_roles_to_memberships(district):
    report = import_oneroster(sample("moodle-enrol-oneroster-v1p2-delta"), district=district, system="moodle")

    assert report.errors == [] and report.applied and report.version == "1.2"
    bruce = User.objects.get(username="brucewayne")
    membership = RoleMembership.objects.get(user=bruce)
    assert (membership.role, membership.school.name, membership.active) == (Role.STUDENT, "Gotham High School", True)
    assert Enrollment.objects.get(user=bruce).section.name == "Basic Detection"
    assert SourceIdentity.objects.get(system="moodle", entity_type="roles").external_id == "ROLE_8"
    assert "users.csv, line 1, column password: password column dropped (passwords are never imported)" in map(
        str, report.warnings
    )
    assert "userProfiles.csv: not imported: the platform keeps no such records" in map(str, report.warnings)


def test_moodle_delta_leaves_rows_it_does_not_name(district):
    """A delta file touches only its own rows: a second school imported before stays as it was."""
    import_oneroster(sample("edfi-lms-toolkit-v1p1"), district=district, system="moodle")
    before = User.objects.filter(is_active=True).count()

    report = import_oneroster(sample("moodle-enrol-oneroster-v1p2-delta"), district=district, system="moodle")

    assert report.applied
    assert User.objects.filter(is_active=True).count() == before + 1
    assert counts(report)["users"] == (1, 0, 0, 0)


MESSY_ERRORS = [
    "users.csv, line 2, column dateLastModified: “1/05/2023” is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss.sssZ)",
    "users.csv, line 4, column dateLastModified: “1/05/2023” is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss.sssZ)",
    "users.csv, line 5, column dateLastModified: “1/05/2023” is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss.sssZ)",
    "users.csv, line 6, column dateLastModified: “1/05/2023” is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss.sssZ)",
    "users.csv, line 7, column dateLastModified: “15/06/2023” is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss.sssZ)",
    "orgs.csv, line 2, column parentSourcedId: org “org-sch-222-3456” is not in this set nor imported before",
    *[
        f"academicSessions.csv, line {line}, column parentSourcedId: session “as-syr-222-2023” is not in this set "
        "nor imported before"
        for line in (3, 6)
    ],
    "classes.csv, line 2, column schoolSourcedId: org “org-sch-222-456” is a department, not a school",
    *[
        f"enrollments.csv, line {line}, column schoolSourcedId: org “org-sch-222-456” is a department, not a school"
        for line in range(2, 8)
    ],
]


def test_moodle_messy_set_gives_row_level_errors_and_changes_nothing(district):
    before = table_counts()

    report = import_oneroster(sample("moodle-enrol-oneroster-v1p2-messy"), district=district, system="moodle")

    assert [str(issue) for issue in report.errors] == MESSY_ERRORS
    assert not report.applied and report.counts == {}
    assert table_counts() == before
    warnings = [str(issue) for issue in report.warnings]
    assert "classes.csv, line 2, column classType: “Scheduled” normalized to “scheduled”" in warnings
    assert (
        "academicSessions.csv, line 4, column status: status “inactive” (OneRoster 1.0) read as “tobedeleted”"
        in warnings
    )
    assert (
        "roles.csv, line 1, column dataLastModified: not a OneRoster column, kept as an extension column; "
        "did you mean “dateLastModified”?"
    ) in warnings
    assert "manifest.csv, line 21, column value: file.scoreScales has no valid value (“”); read as absent" in warnings
    assert "userprofiles.csv: not a OneRoster file name (names are case-sensitive); ignored" in warnings


def test_oat_nonconformant_set_names_its_column_problems_and_keeps_extension_columns(district):
    before = table_counts()

    report = import_oneroster(sample("oat-sa-v1p1-nonconformant"), district=district, system="oat")

    assert [str(issue) for issue in report.errors] == [
        "demographics.csv, line 1, column sourcedId: required column is missing from the header",
        "orgs.csv, line 2, column dateLastModified: “2017-05-06 08:01:05” is not an ISO 8601 date-time "
        "(YYYY-MM-DDThh:mm:ss.sssZ)",
        *[f"classes.csv, line {line}, column termSourcedIds: session “1” is not in this set" for line in (2, 3, 4)],
    ]
    assert table_counts() == before
    warnings = [str(issue) for issue in report.warnings]
    assert (
        "users.csv, line 1, column userId: not a OneRoster column, kept as an extension column; did you mean “userIds”?"
        in warnings
    )
    assert "demographics.csv, line 1, column birthdate: column name read as “birthDate” (wrong case)" in warnings
    assert (
        "users.csv, line 1, column ext_imagineLearning_studentPassword: password column dropped "
        "(passwords are never imported)" in warnings
    )
    roster = parse_set(read_source(sample("oat-sa-v1p1-nonconformant")))
    user1 = roster.files["users"].rows[0]
    assert user1.extra == {
        "userId": "abc",
        "agents": "",
        "ext_imagineLearning_databaseId": "",
        "ext_imagineLearning_ssoId": "",
        "ext_imagineLearning_studentGrade": "",
        "ext_imagineLearning_Language": "",
        "ext_tao_userMotherName": "metadata.value1",
        "ext_tao_userFatherName": "metadata.value2",
    }
    school1 = roster.files["orgs"].rows[0]
    assert school1.extra == {
        "metadata.classification": "Classification 1",
        "metadata.gender": "mixed",
        "metadata.boarding": "FALSE",
        "ext_imagineLearning_databaseId": "",
    }
    # The enrollments header puts status after role: bound by name, not position.
    assert roster.files["enrollments"].rows[0].values["status"] == "active"
    assert roster.files["enrollments"].rows[0].values["role"] == "student"


LIBRE_ERRORS = [
    *[f"classes.json, record {n}, column schoolSourcedId: org “016” is a state, not a school" for n in (1, 2, 3)],
    *[f"enrollments.json, record {n}, column schoolSourcedId: org “017” is a local, not a school" for n in (1, 2)],
]


def test_libre_rest_json_collections_parse_like_csv_and_give_record_level_errors(district):
    """GUIDRef objects become sourcedIds, 1/0 booleans true/false, passwords are dropped; the sample's
    classes and enrollments name a state and a local org as their school, which is refused."""
    before = table_counts()

    report = import_oneroster(sample("libre-oneroster-rest-json"), district=district, system="libre")

    assert [str(issue) for issue in report.errors] == LIBRE_ERRORS
    assert table_counts() == before
    roster = parse_json_set(read_source(sample("libre-oneroster-rest-json")))
    jane = roster.files["users"].rows[1]
    assert jane.line == 2
    assert {k: jane.values[k] for k in ("enabledUser", "orgSourcedIds", "role", "username")} == {
        "enabledUser": "false",
        "orgSourcedIds": "015",
        "role": "parent",
        "username": "test02",
    }
    assert "password" not in jane.values and "password" not in jane.extra
    s3 = roster.files["classes"].rows[1].values
    assert (s3["termSourcedIds"], s3["grades"], s3["courseSourcedId"]) == ("002", "10", "01")
    assert roster.files["enrollments"].rows[1].values["primary"] == "true"


def test_libre_rest_json_imports_once_its_orgs_are_schools(tmp_path, district):
    """The same collections with org 016 and 017 typed as schools apply: the JSON path reaches the database."""
    folder = tmp_path / "libre"
    folder.mkdir()
    for source in sample("libre-oneroster-rest-json").glob("*.json"):
        data = json.loads(source.read_text())
        for org in data.get("orgs", []):
            if org["sourcedId"] in ("016", "017"):
                org.update(type="school", status="active")
        (folder / source.name).write_text(json.dumps(data))

    report = import_oneroster(folder, district=district, system="libre")

    assert report.errors == [] and report.applied
    assert sorted(School.objects.values_list("name", flat=True)) == ["put06", "put07"]
    assert User.objects.get(username="test02").is_active is False  # enabledUser 0
    assert Section.objects.count() == 3
