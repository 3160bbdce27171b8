"""Issue 4's checks on the demo district (seed_demo, then the nightly pipeline on two school days):
every student has a path; no step precedes one of its prerequisites; every student with gap-filling
steps reaches the first grade-level step after the fewest gap-filling steps the graph allows; running
the night again leaves the alert table unchanged; each alert's stored numbers reproduce it."""

from __future__ import annotations

import datetime
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from pathways.models import LearningPath, PacingAlert
from pathways.selectors import paths_check
from plplatform.celery import app
from profiles.models import LearnerProfile


@pytest.fixture
def demo_nights(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)
    call_command("seed_demo", schools=1, students=60, force=True, stdout=StringIO())
    for night in ("2026-11-25", "2026-11-30"):  # Wednesday, then Monday after the Thanksgiving break
        call_command("run_nightly", "--date", night, stdout=StringIO())


def command_json(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_the_demo_district_passes_every_check_of_the_issue(demo_nights: None):
    assert LearnerProfile.objects.count() == 60
    assert LearningPath.objects.values("student").distinct().count() == 60
    check = paths_check()
    assert check.problems == []
    assert (check.students, check.paths) == (60, 60)
    assert check.below_grade_students > 0 and check.alerts > 0  # the checks are not vacuous
    # Opened on the second of two consecutive school days, never on the first.
    assert set(PacingAlert.objects.values_list("opened_on", flat=True)) == {datetime.date(2026, 11, 30)}


def test_running_the_night_again_leaves_the_alert_table_unchanged(demo_nights: None):
    before = list(PacingAlert.objects.order_by("pk").values())
    report = command_json("run_nightly", "--date", "2026-11-30")
    assert report["stages"]["paths"]["rows_written"] == 0
    assert list(PacingAlert.objects.order_by("pk").values()) == before
    # The stage itself, not only the JobRun guard: check_paths --rerun runs it again and compares.
    result = command_json("check_paths", "--rerun", "2026-11-30")
    assert (result["problem_count"], result["students"], result["paths"]) == (0, 60, 60)
    assert list(PacingAlert.objects.order_by("pk").values()) == before
