"""A student's complete record (a family's request to inspect it): every table about the student, nothing
about anyone else, no password; the command and the download for the school's principal or a district admin."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from mastery.models import Evidence, MasteryState
from monitoring.student_record import models_keyed_to_student, student_record_build, student_record_csv_lines
from pathways.models import LearningPath, PacingAlert, PathStep
from pathways.services import evidence_record_and_update
from profiles.models import Demographics, LearnerProfileChange, SourceIdentity, User
from tests.pathways.test_paths import ON, Graph
from tests.world import PASSWORD, World


@pytest.fixture
def graph(world: World) -> Graph:
    """World + Graph: s_a1_1 has A3 mastered before the term; a path for them and one for s_a1_2."""
    graph = Graph(world)
    from pathways.services import path_generate

    path_generate(student_id=world.s_a1_1.pk, framework_id=graph.math.pk, start_date=ON)
    path_generate(student_id=world.s_a1_2.pk, framework_id=graph.math.pk, start_date=ON)
    for n, score in enumerate([0.4, 0.9]):
        evidence_record_and_update(
            student_id=world.s_a1_1.pk,
            competency_id=graph.c["A4"].pk,
            observed_at=datetime.datetime(2026, 11, 3, 9 + n, tzinfo=datetime.UTC),
            score=score,
            source="lms",
            external_id=f"a4-{n}",
        )
    evidence_record_and_update(
        student_id=world.s_a1_2.pk,
        competency_id=graph.c["A4"].pk,
        observed_at=datetime.datetime(2026, 11, 3, 9, tzinfo=datetime.UTC),
        score=1.0,
    )
    student = world.s_a1_1
    Demographics.objects.filter(student=student).update(english_learner=True)  # the world gives every student a row
    LearnerProfileChange.objects.create(
        profile=student.learner_profile,
        changed_by=world.t_a1,
        field="interests",
        old=[],
        new=["chess"],
        changed_at=datetime.datetime(2026, 11, 2, 8, tzinfo=datetime.UTC),
    )
    SourceIdentity.objects.create(
        system="sis",
        entity_type="user",
        external_id="S-0001",
        content_type=ContentType.objects.get_for_model(User),
        object_id=student.pk,
    )
    path = LearningPath.objects.get(student=student)
    PacingAlert.objects.create(
        student=student, path=path, kind="inactive", reason="No evidence for 10 school days.", opened_on=ON
    )
    return graph


def expected_counts(student: User) -> dict[str, int]:
    """Counted straight from the tables, independently of the export."""
    path = LearningPath.objects.get(student=student)
    return {
        "mastery.evidence": Evidence.objects.filter(student=student).count(),
        "mastery.masterystate": MasteryState.objects.filter(student=student).count(),
        "pathways.learningpath": 1,
        "pathways.pathstep": PathStep.objects.filter(path=path).count(),
        "pathways.pacingalert": 1,
        "profiles.demographics": 1,
        "profiles.enrollment": 1,
        "profiles.goal": student.goals.count(),
        "profiles.guardianlink": 1,
        "profiles.learnerprofile": 1,
        "profiles.learnerprofilechange": 1,
        "profiles.rolemembership": 1,
        "profiles.sourceidentity": 1,
        "profiles.user": 1,
    }


def test_the_record_holds_every_table_about_the_student_and_nothing_else(world: World, graph: Graph) -> None:
    student = world.s_a1_1
    record = student_record_build(student_id=student.pk)
    counts = record.row_counts()
    assert {table: counts.get(table, 0) for table in expected_counts(student)} == expected_counts(student)
    assert counts["mastery.evidence"] == 2 and counts["pathways.pathstep"] == 6
    # Nothing but the tables above: no row of another student's table slips in.
    assert set(counts) - set(expected_counts(student)) <= {"pathways.alertcondition"}
    for table, rows in record.tables.items():
        for row in rows:
            for key in ("student_id", "user_id"):
                if key in row and table not in ("profiles.guardianlink",):
                    assert row[key] == student.pk, (table, row)
    assert "password" not in record.tables["profiles.user"][0]
    assert {row["external_id"] for row in record.tables["mastery.evidence"]} == {"a4-0", "a4-1"}


def test_every_table_keyed_to_a_student_is_covered() -> None:
    # The record finds its tables from the schema; this pins the list so a change to it is seen in review.
    keyed = sorted(f"{model._meta.label_lower}.{field}" for model, field in models_keyed_to_student())
    assert "mastery.evidence.student" in keyed and "pathways.learningpath.student" in keyed
    assert "profiles.learnerprofile.user" in keyed and "profiles.demographics.student" in keyed


def test_the_command_writes_json_and_csv_that_agree(world: World, graph: Graph, tmp_path) -> None:
    student = world.s_a1_1
    call_command("export_student_record", str(student.pk), "--output", str(tmp_path / "r.json"))
    call_command("export_student_record", str(student.pk), "--format", "csv", "--output", str(tmp_path / "r.csv"))
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["student_id"] == student.pk
    assert document["row_counts"] == student_record_build(student_id=student.pk).row_counts()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    cells_per_table: dict[str, int] = {}
    for row in rows:
        cells_per_table[row["table"]] = cells_per_table.get(row["table"], 0) + 1
    expected_cells = {table: sum(len(r) for r in table_rows) for table, table_rows in document["tables"].items()}
    assert cells_per_table == expected_cells
    evidence_scores = sorted(
        row["value"] for row in rows if row["table"] == "mastery.evidence" and row["column"] == "score"
    )
    assert evidence_scores == ["0.4", "0.9"]
    assert not any(row["column"] == "password" for row in rows)


def test_an_unknown_student_is_a_clear_error(db) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No student has id 999999"):
        call_command("export_student_record", "999999")


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("p_a", 200),
        ("admin_north", 200),
        ("admin_south", 404),
        ("p_b", 404),
        ("t_a1", 404),
        ("s_a1_1", 404),
        ("g_1", 404),
    ],
)
def test_the_download_is_for_the_schools_principal_and_district_admins(
    world: World, graph: Graph, username: str, status: int
) -> None:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    student = world.s_a1_1
    response = client.get(f"/students/{student.pk}/record.json")
    assert response.status_code == status
    if status == 200:
        assert response["Content-Disposition"] == f'attachment; filename="student-{student.pk}-record.json"'
        assert response["Cache-Control"] == "no-store"
        assert json.loads(response.content)["row_counts"]["mastery.evidence"] == 2
        csv_response = client.get(f"/students/{student.pk}/record.csv")
        assert csv_response.status_code == 200
        text = b"".join(csv_response.streaming_content).decode()  # type: ignore[attr-defined]
        assert text.startswith("table,row_id,column,value\r\n")


def test_signed_out_visitors_are_sent_to_sign_in(world: World, graph: Graph) -> None:
    response = Client().get(f"/students/{world.s_a1_1.pk}/record.csv")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("username", "shown"), [("p_a", True), ("admin_north", True), ("t_a1", False), ("g_1", False)])
def test_the_learner_profile_links_the_record_for_those_who_may_export_it(
    world: World, graph: Graph, username: str, shown: bool
) -> None:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    page = client.get(reverse("student-profile", args=[world.s_a1_1.pk])).content.decode()
    assert (f'href="/students/{world.s_a1_1.pk}/record.csv"' in page) is shown
    assert (f'href="/students/{world.s_a1_1.pk}/record.json"' in page) is shown


def test_the_csv_writes_text_a_spreadsheet_would_run_as_text(world: World, graph: Graph) -> None:
    student = world.s_a1_1
    student.first_name = "=cmd|' /C calc'!A0"
    student.save(update_fields=["first_name"])
    lines = "".join(student_record_csv_lines(student_record_build(student_id=student.pk)))
    rows = list(csv.DictReader(io.StringIO(lines)))
    (first_name,) = [row["value"] for row in rows if row["table"] == "profiles.user" and row["column"] == "first_name"]
    assert first_name == "'=cmd|' /C calc'!A0"
