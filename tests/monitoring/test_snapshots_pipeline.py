"""The snapshots stage through `run_nightly` (in-process Celery, committed transactions): after mastery and
paths, one chunk per school, the district rows once every school of the district is done, the JSON line,
and reruns that replace rather than add."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from monitoring.models import EquitySnapshot, ImplementationSnapshot, JobRun
from tests.monitoring.test_pipeline import Night, run_nightly, without_seconds
from tests.world import build_world

NIGHT = datetime.date(2026, 11, 20)
NEXT_NIGHT = datetime.date(2026, 11, 23)
VALUES = 21  # the values of the seven dimensions ("all" included)
# Schools' rows (equity cells and implementation rows): north-a has grades 5 and 6 and sections A1, A2;
# north-b grade 7 and B1; south-a grade 4 and S1. Each: its grades and all grades, and its sections.
SCHOOL_ROWS = (3 * VALUES + 2 + 3) + (2 * VALUES + 1 + 2) + (2 * VALUES + 1 + 2)
# The district as a whole: North has grades 5, 6, 7; South grade 4; each with all grades, and one
# implementation row.
DISTRICT_EQUITY_ROWS = 4 * VALUES + 2 * VALUES


@pytest.fixture
def full_night(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Night:
    from plplatform.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)
    return Night(build_world())


def snapshot_keys() -> list[tuple[Any, ...]]:
    return sorted(
        EquitySnapshot.objects.values_list(
            "pk", "date", "district_id", "school_id", "grade", "section_id", "dimension", "value"
        ),
        key=repr,
    )


def test_the_snapshots_stage_runs_last_and_reports_in_the_json_line(full_night: Night):
    report = run_nightly("--date", "2026-11-20")

    assert without_seconds(report)["status"] == "succeeded"
    assert report["stages"]["snapshots"] == {
        "schools": 3,
        "rows_written": SCHOOL_ROWS,
        "chunks_failed": 0,
        "runs": {"pending": 0, "running": 0, "succeeded": 3, "failed": 0},
    }
    runs = {
        (run.job, run.school_id): (run.started_at, run.finished_at) for run in JobRun.objects.filter(run_date=NIGHT)
    }
    for school in full_night.world.schools.values():
        snapshots_started, paths_finished = runs[("snapshots", school.pk)][0], runs[("paths", school.pk)][1]
        assert snapshots_started is not None and paths_finished is not None
        assert snapshots_started >= paths_finished
    assert (
        EquitySnapshot.objects.filter(school__isnull=False).count()
        + ImplementationSnapshot.objects.filter(school__isnull=False).count()
        == SCHOOL_ROWS
    )
    assert EquitySnapshot.objects.filter(school__isnull=True).count() == DISTRICT_EQUITY_ROWS
    assert ImplementationSnapshot.objects.filter(school__isnull=True).count() == 2
    # North as a whole: north-a's 4 students (s_left's enrollment is inactive, but she is a student of the
    # school) and north-b's 1. Every cell is small, so every non-empty one is suppressed.
    north = full_night.world.districts["north"]
    whole = EquitySnapshot.objects.get(district=north, school=None, grade=None, dimension="all", value="all")
    assert (whole.n_students, whole.suppressed, whole.access_suppressed) == (5, True, True)
    assert not EquitySnapshot.objects.filter(suppressed=False, n_students__gt=0).exists()
    a1 = EquitySnapshot.objects.get(section=full_night.world.sections["A1"])
    assert (a1.n_students, a1.grade, a1.grade_level_targets) == (2, 5, 6)  # two active students, 3 targets each


def test_a_rerun_of_the_night_writes_nothing_and_a_recomputed_night_replaces_its_rows(full_night: Night):
    run_nightly("--date", "2026-11-20")
    before = snapshot_keys()
    computed = dict(EquitySnapshot.objects.values_list("pk", "computed_at"))

    again = run_nightly("--date", "2026-11-20")

    assert again["stages"]["snapshots"]["schools"] == again["stages"]["snapshots"]["rows_written"] == 0
    assert snapshot_keys() == before
    assert dict(EquitySnapshot.objects.values_list("pk", "computed_at")) == computed  # the district step too

    # The stage itself run again (its runs removed): the same rows, updated in place, none added.
    JobRun.objects.filter(job="snapshots").delete()
    report = run_nightly("--date", "2026-11-20")

    assert report["stages"]["snapshots"]["rows_written"] == SCHOOL_ROWS
    assert snapshot_keys() == before
    recomputed = dict(EquitySnapshot.objects.values_list("pk", "computed_at"))
    assert all(recomputed[pk] > computed[pk] for pk in computed)  # district rows included


def test_the_next_night_adds_its_own_rows_and_keeps_the_history(full_night: Night):
    run_nightly("--date", "2026-11-20")
    first = snapshot_keys()

    run_nightly("--date", "2026-11-23")

    assert [key for key in snapshot_keys() if key[1] == NIGHT] == first
    assert EquitySnapshot.objects.filter(date=NEXT_NIGHT).count() == len(first)
    assert ImplementationSnapshot.objects.filter(date=NEXT_NIGHT).count() == 9


def test_one_school_alone_does_not_write_its_district(full_night: Night):
    north_b = full_night.world.schools["north-b"]
    run_nightly("--date", "2026-11-20", "--school", str(north_b.pk))

    assert set(EquitySnapshot.objects.values_list("school_id", flat=True)) == {north_b.pk}
    # The rest of the district's schools, later: now the district rows appear.
    run_nightly("--date", "2026-11-20")
    assert EquitySnapshot.objects.filter(school__isnull=True).count() == DISTRICT_EQUITY_ROWS
