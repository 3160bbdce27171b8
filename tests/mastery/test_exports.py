"""Mastery states and evidence as CSV for a section, a school and a district: exactly the scope's students,
the status a teacher sees, every evidence row, text a spreadsheet would run written as text."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from mastery.exports import EVIDENCE_COLUMNS, MASTERY_COLUMNS
from mastery.models import Evidence
from tests.mastery.test_views import build_curriculum, build_states
from tests.world import PASSWORD, World


@pytest.fixture
def cur(world: World):
    curriculum = build_curriculum(world)
    build_states(world, curriculum)

    def evidence(student: str, code: str, external_id: str, score: float) -> None:
        Evidence.objects.create(
            student=world.users[student],
            competency=curriculum.c[code],
            kind=Evidence.Kind.SCORE,
            score=score,
            observed_at=datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC),
            source="lms",
            external_id=external_id,
        )

    evidence("s_a1_1", "5.NF.1", "a-1", 0.9)
    evidence("s_a1_1", "5.NF.2", "=a-2", 0.4)
    evidence("s_b1_1", "5.NF.1", "b-1", 1.0)
    return curriculum


def download(world: World, username: str, route: str, **kwargs: int):
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client.get(reverse(route, kwargs=kwargs))


def rows_of(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_a_sections_mastery_csv_holds_its_students_states_with_the_status_a_teacher_sees(world: World, cur) -> None:
    response = download(world, "t_a1", "section-mastery-csv", section_id=world.sections["A1"].pk)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="section-{world.sections["A1"].pk}-mastery.csv"'
    rows = rows_of(response)
    assert list(rows[0]) == MASTERY_COLUMNS
    # s_left's state is not there: their enrollment is inactive.
    assert [(row["student_id"], row["competency"], row["status"], row["computed_status"]) for row in rows] == [
        (str(world.s_a1_1.pk), "5.NF.1", "mastered", "mastered"),
        (str(world.s_a1_1.pk), "5.NF.2", "mastered", "in_progress"),
        (str(world.s_a1_1.pk), "6.RP.1", "mastered", "mastered"),
        (str(world.s_a1_2.pk), "5.NF.1", "needs_review", "needs_review"),
        (str(world.s_a1_2.pk), "5.OA.1", "in_progress", "in_progress"),
    ]
    override = rows[1]
    assert (override["override_note"], override["override_by_id"]) == ("Explained it to the class.", str(world.t_a1.pk))


def test_evidence_csvs_follow_the_scope_and_write_formulas_as_text(world: World, cur) -> None:
    section = rows_of(download(world, "t_a1", "section-evidence-csv", section_id=world.sections["A1"].pk))
    assert list(section[0]) == EVIDENCE_COLUMNS
    assert [(row["external_id"], row["score"]) for row in section] == [("a-1", "0.9"), ("'=a-2", "0.4")]
    school = rows_of(download(world, "p_a", "school-evidence-csv", school_id=world.schools["north-a"].pk))
    assert len(school) == 2
    district = rows_of(download(world, "admin_north", "district-evidence-csv", district_id=world.districts["north"].pk))
    assert sorted(row["external_id"] for row in district) == ["'=a-2", "a-1", "b-1"]


@pytest.mark.parametrize(
    ("username", "route", "scope"),
    [
        ("s_a1_1", "section-evidence-csv", "A1"),
        ("t_a2", "section-evidence-csv", "A1"),
        ("t_a1", "school-evidence-csv", "north-a"),
        ("p_b", "school-evidence-csv", "north-a"),
        ("p_a", "district-evidence-csv", "north"),
        ("admin_south", "district-evidence-csv", "north"),
    ],
)
def test_others_are_refused(world: World, cur, username: str, route: str, scope: str) -> None:
    kwargs = {
        "section-evidence-csv": lambda: {"section_id": world.sections[scope].pk},
        "school-evidence-csv": lambda: {"school_id": world.schools[scope].pk},
        "district-evidence-csv": lambda: {"district_id": world.districts[scope].pk},
    }[route]()
    assert download(world, username, route, **kwargs).status_code == 404


def test_the_command_writes_what_the_download_gives(world: World, cur, tmp_path) -> None:
    call_command("export_csv", "mastery", "--district", str(world.districts["north"].pk), "-o", str(tmp_path / "m.csv"))
    written = list(csv.DictReader(io.StringIO((tmp_path / "m.csv").read_text(encoding="utf-8")[1:])))
    downloaded = rows_of(
        download(world, "admin_north", "district-mastery-csv", district_id=world.districts["north"].pk)
    )
    assert written == downloaded
    assert len(written) == 6  # the five above and s_left's (the district counts every learner profile)
