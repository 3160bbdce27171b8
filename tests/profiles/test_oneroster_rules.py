"""OneRoster import rules on small synthetic sets: bulk and delta, deactivation and its 20 % guard,
encodings, passwords, the command line."""

from __future__ import annotations

import logging
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from profiles.imports.oneroster import import_oneroster
from profiles.models import District, Enrollment, GuardianLink, RoleMembership, SourceIdentity, User
from tests.profiles.oneroster_helpers import MANIFEST_11, sample, small_set, table_counts, tables_containing, write_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def district() -> District:
    return District.objects.create(name="Lake", code="lake")


def active_students() -> int:
    return User.objects.filter(is_active=True, memberships__role="student", memberships__active=True).count()


def test_a_bulk_file_deactivating_more_than_a_fifth_is_refused_unless_confirmed(tmp_path, district):
    import_oneroster(write_set(tmp_path / "first", small_set(10)), district=district, system="sis")
    before = table_counts()
    smaller = write_set(tmp_path / "second", small_set(10, skip=3))  # 3 of 10 students gone: 30 %

    refused = import_oneroster(smaller, district=district, system="sis")

    assert not refused.applied
    assert (
        "the bulk files would deactivate 3 of 10 active users (more than 20%); confirm the deactivations to apply them"
        in map(str, refused.errors)
    )
    assert table_counts() == before and active_students() == 10

    confirmed = import_oneroster(smaller, district=district, system="sis", confirm_deactivations=True)

    assert confirmed.applied
    assert {e: d for e, _, _, d, _ in confirmed.rows()} == {
        "districts": 0,
        "schools": 0,
        "terms": 0,
        "sections": 0,
        "users": 3,
        "role memberships": 3,
        "learner profiles": 0,
        "enrollments": 3,
        "guardian links": 0,
    }
    # Deactivated, never deleted.
    assert table_counts() == before
    assert User.objects.filter(username__in=["stu0", "stu1", "stu2"], is_active=False).count() == 3
    assert Enrollment.objects.filter(active=False).count() == 3


def test_a_bulk_file_deactivating_a_fifth_or_less_applies(tmp_path, district):
    import_oneroster(write_set(tmp_path / "first", small_set(10)), district=district, system="sis")
    report = import_oneroster(write_set(tmp_path / "second", small_set(10, skip=2)), district=district, system="sis")
    assert report.applied and active_students() == 8


def test_a_delta_file_deactivates_only_tobedeleted_rows(tmp_path, district):
    import_oneroster(write_set(tmp_path / "first", small_set(10)), district=district, system="sis")
    files = small_set(2, mode="delta")
    files["users.csv"] = files["users.csv"].replace("u0,,,true", "u0,inactive,2026-09-01T10:00:00Z,true")

    report = import_oneroster(write_set(tmp_path / "delta", files), district=district, system="sis")

    assert report.errors == [] and report.applied
    assert [str(w) for w in report.warnings] == [
        "users.csv, line 1, column password: password column dropped (passwords are never imported)",
        "users.csv, line 2, column status: status “inactive” (OneRoster 1.0) read as “tobedeleted”",
    ]
    assert list(User.objects.filter(is_active=False).values_list("username", flat=True)) == ["stu0"]
    assert RoleMembership.objects.get(user__username="stu0").active is False
    assert active_students() == 9


def test_bom_crlf_quotes_and_a_zip_read_like_plain_files(tmp_path, district):
    files = small_set(2)
    files["classes.csv"] = files["classes.csv"].replace("Maths 5,05", '"Maths, grade 5",05')
    crlf = {name: text.replace("\n", "\r\n") for name, text in files.items()}
    folder = write_set(tmp_path / "bom", {name: "\ufeff" + text for name, text in crlf.items()})
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for child in folder.iterdir():
            out.write(child, f"export/{child.name}")

    report = import_oneroster(archive, district=district, system="sis")

    assert report.errors == [] and report.applied
    section = Enrollment.objects.first().section
    assert (section.name, section.grade_level) == ("Maths, grade 5", 5)


def test_non_iso_dates_and_unknown_enumerations_are_refused_with_file_line_and_column(tmp_path, district):
    files = small_set(2)
    files["academicSessions.csv"] = files["academicSessions.csv"].replace("2026-08-24", "24/08/2026")
    files["users.csv"] = files["users.csv"].replace("u1,,,true,s1,student", "u1,,,true,s1,Student")
    files["enrollments.csv"] = files["enrollments.csv"].replace("e1,,,c1,s1,u1,student", "e1,,,c1,s1,u1,janitor")
    files["manifest.csv"] += "file.gradebook,bulk\n"

    report = import_oneroster(write_set(tmp_path / "bad", files), district=district, system="sis")

    assert [str(e) for e in report.errors] == [
        "academicSessions.csv, line 2, column startDate: “24/08/2026” is not an ISO 8601 date (YYYY-MM-DD)",
        "enrollments.csv, line 3, column role: “janitor” is not one of: administrator, proctor, student, teacher, "
        "aide, guardian, parent",
    ]
    assert "users.csv, line 3, column role: “Student” normalized to “student”" in map(str, report.warnings)
    assert "manifest.csv, line 9, column propertyName: unknown manifest key “file.gradebook” ignored" in map(
        str, report.warnings
    )
    assert District.objects.get().schools.count() == 0


def test_ids_and_grades_stay_strings(tmp_path, district):
    files = small_set(1)
    files["users.csv"] = files["users.csv"].replace("u0,", "007,")
    files["enrollments.csv"] = files["enrollments.csv"].replace(",u0,", ",007,")
    import_oneroster(write_set(tmp_path / "ids", files), district=district, system="sis")

    identity = SourceIdentity.objects.get(entity_type="users")
    assert (identity.external_id, identity.extra["grades"]) == ("007", "05")


def test_passwords_reach_neither_the_database_nor_the_logs(district, caplog):
    caplog.set_level(logging.DEBUG)
    out = StringIO()
    call_command(
        "import_oneroster",
        str(sample("moodle-enrol-oneroster-v1p2-delta")),
        "--district=lake",
        "--source=moodle",
        stdout=out,
    )
    assert User.objects.filter(username="brucewayne").exists()
    assert tables_containing("Batman.Ru1ez") == []
    assert "Batman.Ru1ez" not in caplog.text and "Batman.Ru1ez" not in out.getvalue()
    # Nor a user's name: the log line carries counts only.
    assert "Wayne" not in caplog.text


def test_the_command_previews_with_dry_run_and_applies_without(district):
    out = StringIO()
    path = str(sample("edfi-lms-toolkit-v1p1"))
    call_command("import_oneroster", path, "--district=lake", "--source=classlink", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "OneRoster 1.1: parsed → validated → previewed\n" in text
    assert "enrollments             12       0          0         0" in text
    assert text.endswith("nothing applied\n")
    assert User.objects.count() == 0

    call_command("import_oneroster", path, "--district=lake", "--source=classlink", stdout=StringIO())
    assert User.objects.count() == 10


def test_the_command_fails_on_errors(district):
    with pytest.raises(CommandError, match="15 errors; nothing applied"):
        call_command(
            "import_oneroster",
            str(sample("moodle-enrol-oneroster-v1p2-messy")),
            "--district=lake",
            "--source=moodle",
            stdout=StringIO(),
        )


def test_a_source_feeding_another_district_is_refused(tmp_path, district):
    import_oneroster(write_set(tmp_path / "a", small_set(2)), district=district, system="sis")
    other = District.objects.create(name="Other", code="other")
    report = import_oneroster(write_set(tmp_path / "b", small_set(2)), district=other, system="sis")
    assert "the source “sis” already feeds another district; use another source name" in map(str, report.errors)
    assert other.schools.count() == 0


def test_guardians_admins_and_changed_names(tmp_path, district):
    """A parent named in a student's agentSourcedIds becomes a guardian link; an administrator of the
    district org a district admin, of a school a principal; a changed name is one update."""
    files = small_set(2)
    files["users.csv"] += (
        "p0,,,true,s1,parent,par0,,Pat,Parent,,,,,,u0,,\n"
        "a0,,,true,d1,administrator,adm0,,Ada,Admin,,,,,,,,\n"
        "h0,,,true,s1,administrator,head0,,Hal,Head,,,,,,,,\n"
    )
    files["users.csv"] = files["users.csv"].replace(
        "u0,,,true,s1,student,stu0,,Given0,Family0,,,,,,,", "u0,,,true,s1,student,stu0,,Given0,Family0,,,,,,p0,"
    )
    import_oneroster(write_set(tmp_path / "first", files), district=district, system="sis")

    link = GuardianLink.objects.get()
    assert (link.guardian.username, link.student.username, link.relationship) == ("par0", "stu0", "parent")
    assert sorted(RoleMembership.objects.exclude(role="student").values_list("user__username", "role")) == [
        ("adm0", "district_admin"),
        ("head0", "principal"),
        ("par0", "guardian"),
    ]
    assert RoleMembership.objects.get(user__username="adm0").district == district

    files["users.csv"] = files["users.csv"].replace("Given1", "Renamed1")
    report = import_oneroster(write_set(tmp_path / "second", files), district=district, system="sis")

    assert {entity: (c, u) for entity, c, u, _, _ in report.rows()}["users"] == (0, 1)
    assert User.objects.get(username="stu1").first_name == "Renamed1"
    assert report.writes == 1


def test_kindergarten_is_grade_0_not_a_missing_grade(tmp_path, district):
    files = small_set(1)
    files["classes.csv"] = files["classes.csv"].replace("Maths 5,05", "Maths K,KG")
    report = import_oneroster(write_set(tmp_path / "kg", files), district=district, system="sis")
    section = Enrollment.objects.get().section
    assert (section.grade_level, SourceIdentity.objects.get(entity_type="classes").extra["grades"]) == (0, "KG")
    assert not any("no K-12 grade" in str(w) for w in report.warnings)


def test_an_error_found_while_applying_still_applies_nothing(tmp_path, district):
    """A delta puts a class at a school new to this source in a session of an earlier import: the term
    cannot be made there without the session's dates, so the whole import is rolled back."""
    import_oneroster(write_set(tmp_path / "first", small_set(2)), district=district, system="sis")
    before = table_counts()
    first = small_set(2)
    files = {
        "manifest.csv": MANIFEST_11 + "file.orgs,delta\nfile.classes,delta\n",
        "orgs.csv": first["orgs.csv"].splitlines()[0] + "\ns2,,,Hill School,school,HILL,d1\n",
        "classes.csv": first["classes.csv"].replace(
            "c1,,,Maths 5,05,,M5,scheduled,,s1", "c2,,,Art 5,05,,A5,scheduled,,s2"
        ),
    }

    report = import_oneroster(write_set(tmp_path / "delta", files), district=district, system="sis")

    assert [str(e) for e in report.errors] == [
        "classes.csv, line 2, column termSourcedIds: session “y1” has no term at school “s2”; include academicSessions"
    ]
    assert not report.applied and table_counts() == before
