"""The night in-process (Celery eager, as without REDIS_URL), on PostgreSQL with committed
transactions (transactional_db), so on_commit enqueueing and row locks behave as in production."""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from celery.signals import task_prerun
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.utils import timezone

from mastery.models import Competency, Evidence, Framework, MasteryPolicy, MasteryState
from monitoring import pipeline, services, tasks
from monitoring.management.commands.run_nightly import school_nights
from monitoring.models import JobChunk, JobRun
from pathways.models import AlertCondition, LearningPath, PacingAlert, PathStep
from pathways.services import paths_night
from plplatform.celery import app
from profiles.models import LearnerProfile
from tests.world import World, build_world

NIGHT = datetime.date(2026, 11, 20)
NEXT_NIGHT = datetime.date(2026, 11, 21)
# The paths stage on the first night: 3 paths + 9 steps created, 9 step states synced, 3 pacing rows,
# 5 alert conditions remembered (inactive x3, behind_pace x2).
PATHS_FIRST_NIGHT_ROWS = 3 + 9 + 9 + 3 + 5
# The next school day: 3 pacing rows change (the date), 5 conditions updated, 5 alerts opened.
PATHS_SECOND_NIGHT_ROWS = 3 + 5 + 5
RECORDED_BEFORE = datetime.datetime(2026, 11, 10, 12, tzinfo=datetime.UTC)  # evidence created_at of the world

# (student, competency, kind, value) in observed order; created before the first night.
EVIDENCE = [
    ("s_a1_1", "c1", "score", 1.0),
    ("s_a1_1", "c1", "score", 1.0),
    ("s_a1_1", "c1", "score", 1.0),
    ("s_a1_1", "c1", "score", 1.0),
    ("s_a1_1", "c2", "score", 0.0),
    ("s_a1_2", "c1", "score", 1.0),
    ("s_a1_2", "c1", "score", 0.5),
    ("s_b1_1", "c1", "rating", 4),
    ("s_b1_1", "c1", "rating", 3),
    ("s_b1_1", "c1", "rating", 4),
    ("s_s1_1", "c3", "score", 1.0),
]


def bkt_estimate(observations: list[tuple[str, float]]) -> float:
    """P(known) by DESIGN.md section 4 with the default parameters, written out independently."""
    platform: dict[str, Any] = settings.PLPLATFORM
    defaults = platform["BKT_DEFAULTS"]
    known = defaults["p_init"]
    for kind, value in observations:
        if kind == "rating":
            guess = slip = platform["BKT_RATING_GUESS_SLIP"]
            credit = 1.0 if value >= platform["BKT_RATING_MEETS"] else 0.0
        else:
            guess, slip, credit = defaults["p_guess"], defaults["p_slip"], float(value)
        if_known = credit * (1 - slip) + (1 - credit) * slip
        if_unknown = credit * guess + (1 - credit) * (1 - guess)
        posterior = known * if_known / (known * if_known + (1 - known) * if_unknown)
        known = posterior * (1 - defaults["p_forget"]) + (1 - posterior) * defaults["p_learn"]
    return known


def observations_of(student: str, code: str, evidence: list[tuple[str, str, str, float]]) -> list[tuple[str, float]]:
    return [(kind, value) for who, what, kind, value in evidence if (who, what) == (student, code)]


# What the first night must store: (student, competency, status, evidence_count).
EXPECTED_STATES = [
    ("s_a1_1", "c1", "mastered", 4),
    ("s_a1_1", "c2", "in_progress", 1),
    ("s_a1_2", "c1", "in_progress", 2),
    ("s_b1_1", "c1", "mastered", 3),
    ("s_s1_1", "c3", "in_progress", 1),
]


class Night:
    def __init__(self, world: World) -> None:
        self.world = world
        self.framework = Framework.objects.create(name="Math", subject="math", grade_low=3, grade_high=8)
        self.competencies = {
            code: Competency.objects.create(
                framework=self.framework, code=code, statement=f"Statement {code}", grade_level=5, sort_order=i
            )
            for i, code in enumerate(["c1", "c2", "c3"])
        }
        self.policy = MasteryPolicy.objects.create(framework=self.framework, version=1, method="bkt", parameters={})
        self.evidence = list(EVIDENCE)
        for i, row in enumerate(EVIDENCE):
            self.add_evidence(*row, day=i)
        Evidence.objects.update(created_at=RECORDED_BEFORE)

    def school(self, code: str) -> int:
        return self.world.schools[code].pk

    def add_evidence(self, student: str, code: str, kind: str, value: float, *, day: int) -> Evidence:
        return Evidence.objects.create(
            student=self.world.users[student],
            competency=self.competencies[code],
            kind=kind,
            score=value if kind == "score" else None,
            rating=value if kind == "rating" else None,
            observed_at=datetime.datetime(2026, 11, 2, 15, tzinfo=datetime.UTC) + datetime.timedelta(hours=day),
            source="test",
        )

    def states(self) -> list[tuple[str, str, str, int]]:
        codes = {c.pk: code for code, c in self.competencies.items()}
        names = {user.pk: name for name, user in self.world.users.items()}
        return sorted(
            (names[s.student_id], codes[s.competency_id], s.status, s.evidence_count)
            for s in MasteryState.objects.all()
        )

    def estimates(self) -> dict[tuple[str, str], float | None]:
        codes = {c.pk: code for code, c in self.competencies.items()}
        names = {user.pk: name for name, user in self.world.users.items()}
        return {(names[s.student_id], codes[s.competency_id]): s.estimate for s in MasteryState.objects.all()}

    def pair(self, student: str, code: str) -> list[int]:
        return [self.world.users[student].pk, self.competencies[code].pk]

    def runs(self) -> list[tuple[str, datetime.date, str, str]]:
        codes = {school.pk: code for code, school in self.world.schools.items()}
        return sorted(
            (run.job, run.run_date, codes[run.school_id], run.status)
            for run in JobRun.objects.all()
            if run.school_id is not None
        )


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process Celery, whatever REDIS_URL says (CI sets it for the worker test)."""
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)


@pytest.fixture
def mastery_stage_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The orchestration tests below watch one stage; the paths stage has its own tests at the end."""
    monkeypatch.setattr(pipeline, "STAGES", (pipeline.stage_by_name("mastery"),))


@pytest.fixture
def night(transactional_db: None, eager: None, mastery_stage_only: None) -> Night:
    return Night(build_world())


@pytest.fixture
def full_night(transactional_db: None, eager: None) -> Night:
    """Every stage of the night, as run_nightly runs them."""
    return Night(build_world())


def run_nightly(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("run_nightly", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def run_nightly_failing(*args: str) -> tuple[dict[str, Any], str]:
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("run_nightly", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1]), str(raised.value)


def mastery_report(pairs: int, rows: int, *, succeeded: int = 3, failed: int = 0, chunks_failed: int = 0) -> dict:
    return {
        "pairs": pairs,
        "rows_written": rows,
        "chunks_failed": chunks_failed,
        "runs": {"pending": 0, "running": 0, "succeeded": succeeded, "failed": failed},
    }


def without_seconds(report: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(report.pop("seconds"), float | int)
    return report


def replace_stage(
    monkeypatch: pytest.MonkeyPatch,
    *,
    plan: Callable[[JobRun], pipeline.Plan] | None = None,
    run_chunk: Callable[[JobRun, dict[str, Any]], int] | None = None,
) -> None:
    """Swap the mastery stage's callables (the extension point) for a test."""
    stage = pipeline.stage_by_name("mastery")
    changed = dataclasses.replace(stage, plan=plan or stage.plan, run_chunk=run_chunk or stage.run_chunk)
    monkeypatch.setattr(pipeline, "STAGES", (changed,))


def lose_chunk_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker loses every chunk message (the rows in PostgreSQL say what is left to do)."""
    monkeypatch.setattr(tasks.night_chunk, "delay_on_commit", lambda *args, **kwargs: None)


# --------------------------------------------------------------------------------------------------


def test_first_night_recomputes_every_pair_and_records_one_run_per_school(night: Night):
    report = run_nightly("--date", "2026-11-20")

    assert without_seconds(report) == {
        "date": "2026-11-20",
        "schools": 3,
        "status": "succeeded",
        "stages": {"mastery": mastery_report(5, 5)},
    }
    assert night.runs() == [
        ("mastery", NIGHT, "north-a", "succeeded"),
        ("mastery", NIGHT, "north-b", "succeeded"),
        ("mastery", NIGHT, "south-a", "succeeded"),
    ]
    assert night.states() == EXPECTED_STATES
    estimates = night.estimates()
    for student, code, _, _ in EXPECTED_STATES:
        assert estimates[(student, code)] == pytest.approx(
            bkt_estimate(observations_of(student, code, night.evidence)), abs=1e-12
        )
    run = JobRun.objects.get(school_id=night.school("north-a"))
    assert run.started_at is not None and run.finished_at is not None and run.error == ""
    until = run.details.pop("evidence_until")
    assert datetime.datetime.fromisoformat(until) <= run.started_at
    assert run.details == {
        "full": False,
        "reason": "first_run",
        "recompute_all": True,
        "previous_run": None,
        "since": None,
        "policy_versions": {str(night.framework.pk): 1},
        "policy_changed": [],
        "pairs": 3,
        "chunks": 1,
        "rows_written": 3,
        "chunks_failed": 0,
    }
    chunk = run.chunks.get()
    assert (chunk.index, chunk.status, chunk.attempts, chunk.rows_written, chunk.error) == (0, "succeeded", 1, 3, "")
    # Ids only in the payload.
    assert chunk.payload == {
        "pairs": sorted([night.pair("s_a1_1", "c1"), night.pair("s_a1_1", "c2"), night.pair("s_a1_2", "c1")])
    }


def test_rerun_of_the_same_night_writes_nothing_and_creates_no_run(night: Night):
    run_nightly("--date", "2026-11-20")
    before_runs = list(JobRun.objects.order_by("pk").values())
    before_chunks = list(JobChunk.objects.order_by("pk").values())
    before_states = list(MasteryState.objects.order_by("pk").values())

    report = run_nightly("--date", "2026-11-20")

    assert without_seconds(report) == {
        "date": "2026-11-20",
        "schools": 3,
        "status": "succeeded",
        "stages": {"mastery": mastery_report(0, 0)},
    }
    assert list(JobRun.objects.order_by("pk").values()) == before_runs
    assert list(JobChunk.objects.order_by("pk").values()) == before_chunks
    assert list(MasteryState.objects.order_by("pk").values()) == before_states


def test_next_night_recomputes_only_the_pairs_with_new_evidence(night: Night):
    run_nightly("--date", "2026-11-20")
    first = JobRun.objects.get(school_id=night.school("north-a"))
    night.add_evidence("s_a1_2", "c1", "score", 1.0, day=20)
    night.evidence.append(("s_a1_2", "c1", "score", 1.0))

    report = run_nightly("--date", "2026-11-21")

    assert report["stages"] == {"mastery": mastery_report(1, 1)}
    assert night.runs() == [
        ("mastery", NIGHT, "north-a", "succeeded"),
        ("mastery", NIGHT, "north-b", "succeeded"),
        ("mastery", NIGHT, "south-a", "succeeded"),
        ("mastery", NEXT_NIGHT, "north-a", "succeeded"),
        ("mastery", NEXT_NIGHT, "north-b", "succeeded"),
        ("mastery", NEXT_NIGHT, "south-a", "succeeded"),
    ]
    second = JobRun.objects.get(school_id=night.school("north-a"), run_date=NEXT_NIGHT)
    assert second.details["reason"] == "incremental"
    assert second.details["previous_run"] == first.pk
    assert (
        second.details["since"]
        == (
            datetime.datetime.fromisoformat(first.details["evidence_until"]) - pipeline.EVIDENCE_COMMIT_MARGIN
        ).isoformat()
    )
    assert second.chunks.get().payload == {"pairs": [night.pair("s_a1_2", "c1")]}
    assert JobRun.objects.get(school_id=night.school("north-b"), run_date=NEXT_NIGHT).details["pairs"] == 0
    assert night.states() == [
        ("s_a1_1", "c1", "mastered", 4),
        ("s_a1_1", "c2", "in_progress", 1),
        ("s_a1_2", "c1", "in_progress", 3),
        ("s_b1_1", "c1", "mastered", 3),
        ("s_s1_1", "c3", "in_progress", 1),
    ]
    assert night.estimates()[("s_a1_2", "c1")] == pytest.approx(
        bkt_estimate(observations_of("s_a1_2", "c1", night.evidence)), abs=1e-12
    )


def test_a_new_policy_version_recomputes_every_pair(night: Night):
    run_nightly("--date", "2026-11-20")
    MasteryPolicy.objects.create(framework=night.framework, version=2, method="bkt", parameters={"p_init": 0.5})

    report = run_nightly("--date", "2026-11-21")

    assert report["stages"] == {"mastery": mastery_report(5, 5)}
    details = JobRun.objects.get(school_id=night.school("north-a"), run_date=NEXT_NIGHT).details
    assert (details["reason"], details["policy_changed"], details["policy_versions"], details["since"]) == (
        "policy_changed",
        [str(night.framework.pk)],
        {str(night.framework.pk): 2},
        None,
    )
    assert set(MasteryState.objects.values_list("policy__version", flat=True)) == {2}


def test_full_recomputes_every_pair_and_nothing_changes_without_new_evidence(night: Night):
    run_nightly("--date", "2026-11-20")

    report = run_nightly("--date", "2026-11-21", "--full")

    assert report["stages"] == {"mastery": mastery_report(5, 0)}
    assert JobRun.objects.get(school_id=night.school("south-a"), run_date=NEXT_NIGHT).details["reason"] == "requested"


def test_one_school_only(night: Night):
    report = run_nightly("--date", "2026-11-20", "--school", str(night.school("north-b")))

    assert report["schools"] == 1
    assert report["stages"] == {"mastery": mastery_report(1, 1, succeeded=1)}
    assert night.runs() == [("mastery", NIGHT, "north-b", "succeeded")]


def test_a_chunk_failing_three_times_is_failed_and_the_run_says_so(night: Night, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pipeline, "PAIRS_PER_CHUNK", 1)
    poisoned = night.pair("s_a1_2", "c1")
    calls: list[list[int]] = []
    real_chunk = pipeline.stage_by_name("mastery").run_chunk

    def flaky(run: JobRun, payload: dict[str, Any]) -> int:
        calls.append(payload["pairs"][0])
        if payload["pairs"] == [poisoned]:
            raise OperationalError("server closed the connection unexpectedly")
        return real_chunk(run, payload)

    replace_stage(monkeypatch, run_chunk=flaky)

    report, error = run_nightly_failing("--date", "2026-11-20")

    assert calls.count(poisoned) == services.MAX_ATTEMPTS == 3
    assert error == "The night of 2026-11-20 is failed; see the JobRun rows."
    assert without_seconds(report) == {
        "date": "2026-11-20",
        "schools": 3,
        "status": "failed",
        "stages": {"mastery": mastery_report(4, 4, succeeded=2, failed=1, chunks_failed=1)},
    }
    run = JobRun.objects.get(school_id=night.school("north-a"))
    assert (run.status, run.error) == ("failed", "Chunks 2 of 3 failed; see their errors.")
    assert (run.details["rows_written"], run.details["chunks_failed"]) == (2, 1)
    # Chunks follow the pairs in (student id, competency id) order.
    assert list(run.chunks.values_list("index", "status", "attempts", "rows_written", "error")) == [
        (0, "succeeded", 1, 1, ""),
        (1, "succeeded", 1, 1, ""),
        (2, "failed", 3, 0, "OperationalError: server closed the connection unexpectedly"),
    ]
    assert [row[:2] for row in night.states()] == [
        ("s_a1_1", "c1"),
        ("s_a1_1", "c2"),
        ("s_b1_1", "c1"),
        ("s_s1_1", "c3"),
    ]

    # The same night again: the failed run is not run twice, nothing is written, no new row.
    calls.clear()
    again, _ = run_nightly_failing("--date", "2026-11-20")
    assert calls == []
    assert again["stages"] == {"mastery": mastery_report(0, 0, succeeded=2, failed=1, chunks_failed=1)}
    assert JobRun.objects.count() == 3
    assert run.chunks.get(index=2).attempts == 3

    # The next night picks the failed school's pairs up again (no successful run to start from).
    replace_stage(monkeypatch, run_chunk=real_chunk)
    next_report = run_nightly("--date", "2026-11-21")
    assert next_report["stages"] == {"mastery": mastery_report(3, 1)}
    assert JobRun.objects.get(school_id=night.school("north-a"), run_date=NEXT_NIGHT).details["reason"] == "first_run"
    assert night.states() == EXPECTED_STATES


def test_a_transient_error_is_retried_and_counted(night: Night, monkeypatch: pytest.MonkeyPatch):
    real_chunk = pipeline.stage_by_name("mastery").run_chunk
    failures = {"left": 1}

    def once(run: JobRun, payload: dict[str, Any]) -> int:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("could not connect to server")
        return real_chunk(run, payload)

    replace_stage(monkeypatch, run_chunk=once)

    report = run_nightly("--date", "2026-11-20", "--school", str(night.school("north-a")))

    assert report["stages"] == {"mastery": mastery_report(3, 3, succeeded=1)}
    chunk = JobChunk.objects.get()
    assert (chunk.status, chunk.attempts, chunk.error) == ("succeeded", 2, "")


def test_any_other_error_fails_the_chunk_at_once(night: Night, monkeypatch: pytest.MonkeyPatch):
    calls = []

    def broken(run: JobRun, payload: dict[str, Any]) -> int:
        calls.append(1)
        raise ValueError("a bug")

    replace_stage(monkeypatch, run_chunk=broken)

    report, _ = run_nightly_failing("--date", "2026-11-20", "--school", str(night.school("north-b")))

    assert len(calls) == 1
    assert report["stages"] == {"mastery": mastery_report(0, 0, succeeded=0, failed=1, chunks_failed=1)}
    assert list(JobChunk.objects.values_list("status", "attempts", "error")) == [("failed", 1, "ValueError: a bug")]
    assert MasteryState.objects.count() == 0


def test_a_planning_error_fails_the_run_without_chunks(night: Night, monkeypatch: pytest.MonkeyPatch):
    def broken(run: JobRun) -> pipeline.Plan:
        raise ValueError("no plan")

    replace_stage(monkeypatch, plan=broken)

    report, _ = run_nightly_failing("--date", "2026-11-20")

    assert report["status"] == "failed"
    assert list(JobRun.objects.values_list("status", "error").distinct()) == [
        ("failed", "Planning failed: ValueError: no plan")
    ]
    assert JobChunk.objects.count() == 0


def test_a_duplicate_message_for_a_finished_chunk_does_nothing(night: Night):
    run_nightly("--date", "2026-11-20")
    chunks = list(JobChunk.objects.order_by("pk").values())
    states = list(MasteryState.objects.order_by("pk").values())
    runs = list(JobRun.objects.order_by("pk").values())

    for chunk in chunks:
        tasks.night_chunk.delay(chunk["id"])

    assert list(JobChunk.objects.order_by("pk").values()) == chunks
    assert list(MasteryState.objects.order_by("pk").values()) == states
    assert list(JobRun.objects.order_by("pk").values()) == runs


def test_a_second_beat_does_not_run_the_night_twice(night: Night):
    tasks.nightly_dispatch.delay("2026-11-20")
    chunks = list(JobChunk.objects.order_by("pk").values())

    tasks.nightly_dispatch.delay("2026-11-20")

    assert night.runs() == [
        ("mastery", NIGHT, "north-a", "succeeded"),
        ("mastery", NIGHT, "north-b", "succeeded"),
        ("mastery", NIGHT, "south-a", "succeeded"),
    ]
    assert list(JobChunk.objects.order_by("pk").values()) == chunks
    assert night.states() == EXPECTED_STATES


def test_a_rerun_resumes_the_chunks_left_undone(night: Night, monkeypatch: pytest.MonkeyPatch):
    with monkeypatch.context() as lost:
        lose_chunk_messages(lost)
        report, _ = run_nightly_failing("--date", "2026-11-20")
    assert report["status"] == "incomplete"
    assert report["stages"] == {
        "mastery": {
            **mastery_report(0, 0, succeeded=0),
            "runs": {"pending": 0, "running": 3, "succeeded": 0, "failed": 0},
        }
    }
    assert list(JobChunk.objects.values_list("status", "attempts").distinct()) == [("pending", 0)]

    report = run_nightly("--date", "2026-11-20")

    assert report["stages"] == {"mastery": mastery_report(5, 5)}
    assert JobRun.objects.count() == 3
    assert list(JobChunk.objects.values_list("status", "attempts").distinct()) == [("succeeded", 1)]
    assert night.states() == EXPECTED_STATES


def test_the_reconciler_finishes_nights_left_undone(night: Night, monkeypatch: pytest.MonkeyPatch):
    with monkeypatch.context() as lost:
        lose_chunk_messages(lost)
        run_nightly_failing("--date", "2026-11-20")

    assert pipeline.night_reconcile(today=NEXT_NIGHT) == 3

    assert night.runs() == [
        ("mastery", NIGHT, "north-a", "succeeded"),
        ("mastery", NIGHT, "north-b", "succeeded"),
        ("mastery", NIGHT, "south-a", "succeeded"),
    ]
    assert night.states() == EXPECTED_STATES
    assert pipeline.night_reconcile(today=NEXT_NIGHT) == 0
    # Nights older than the reconciler's window are left alone.
    assert pipeline.night_reconcile(today=NIGHT + datetime.timedelta(days=pipeline.RECONCILE_DAYS + 1)) == 0


def test_redelivery_after_a_lost_worker_counts_and_gives_up_at_three(night: Night, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pipeline, "PAIRS_PER_CHUNK", 2)
    with monkeypatch.context() as lost:
        lose_chunk_messages(lost)
        run_nightly_failing("--date", "2026-11-20", "--school", str(night.school("north-a")))
    first, second = JobChunk.objects.order_by("index")
    # A worker died during the first chunk's third attempt and during the second chunk's first one.
    JobChunk.objects.filter(pk=first.pk).update(status="running", attempts=3)
    JobChunk.objects.filter(pk=second.pk).update(status="running", attempts=1)

    tasks.night_chunk.delay(second.pk)
    tasks.night_chunk.delay(first.pk)

    assert list(JobChunk.objects.order_by("index").values_list("status", "attempts", "rows_written", "error")) == [
        ("failed", 3, 0, "Gave up after 3 attempts. Last error: none"),
        ("succeeded", 2, 1, ""),
    ]
    run = JobRun.objects.get()
    assert (run.status, run.error) == ("failed", "Chunks 0 of 2 failed; see their errors.")


def test_the_date_is_fixed_once_and_passed_down_unchanged(night: Night, monkeypatch: pytest.MonkeyPatch):
    # The clock crosses midnight while the night runs: nothing below the dispatch may ask it again.
    days = iter(NIGHT + datetime.timedelta(days=n) for n in range(100))
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: next(days))
    seen: list[tuple[str, tuple, dict]] = []

    def record(sender: Any = None, task: Any = None, args: tuple = (), kwargs: dict | None = None, **_: Any) -> None:
        seen.append((task.name, tuple(args or ()), dict(kwargs or {})))

    task_prerun.connect(record, weak=False)
    try:
        tasks.nightly_dispatch.delay()  # as the beat sends it: no date
    finally:
        task_prerun.disconnect(record)

    assert {run.run_date for run in JobRun.objects.all()} == {NIGHT}
    assert night.runs() == [
        ("mastery", NIGHT, "north-a", "succeeded"),
        ("mastery", NIGHT, "north-b", "succeeded"),
        ("mastery", NIGHT, "south-a", "succeeded"),
    ]
    school_nights = [args for name, args, _ in seen if name == "monitoring.tasks.school_night"]
    assert school_nights and {args[1] for args in school_nights} == {"2026-11-20"}
    # Every argument of every task is an id, an ISO date or a flag.
    for _, args, kwargs in seen:
        assert all(isinstance(arg, int | str | bool) for arg in [*args, *kwargs.values()])
    assert next(days) == NIGHT + datetime.timedelta(days=1)  # the clock was read once


def test_the_celery_settings_follow_the_design():
    conf = app.conf
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost, conf.worker_prefetch_multiplier) == (True, True, 1)
    assert (conf.task_serializer, conf.accept_content) == ("json", ["json"])
    visibility = conf.broker_transport_options["visibility_timeout"]
    for task in (tasks.nightly_dispatch, tasks.school_night, tasks.night_chunk, tasks.nightly_reconcile):
        assert task.soft_time_limit < task.time_limit < visibility / 2
        assert task.autoretry_for == pipeline.TRANSIENT_ERRORS
        assert task.retry_backoff
    assert conf.task_time_limit < visibility / 2
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert {entry["task"] for entry in schedule.values()} == {
        "monitoring.tasks.nightly_dispatch",
        "monitoring.tasks.nightly_reconcile",
    }
    assert all(entry["task"] in app.tasks for entry in schedule.values())
    nightly = schedule["nightly-pipeline"]["schedule"]
    assert (nightly.hour, nightly.minute) == ({1}, {30})


def test_bad_arguments_are_refused(night: Night):
    with pytest.raises(CommandError, match="--date must be a date like 2026-11-20, got '20-11-2026'"):
        call_command("run_nightly", "--date", "20-11-2026", stdout=StringIO())
    with pytest.raises(CommandError, match=r"No school has id 999999\."):
        call_command("run_nightly", "--school", "999999", stdout=StringIO())
    assert JobRun.objects.count() == 0


# --- the paths stage, after mastery ------------------------------------------------------------------


# The snapshot stage's rows for the world's three schools: equity cells (21 subgroup values per grade and
# for all grades, one per section) and implementation rows (the school and each section).
SNAPSHOT_ROWS = (3 * 21 + 2 + 3) + (2 * 21 + 1 + 2) + (2 * 21 + 1 + 2)


def paths_report(students: int, rows: int, *, succeeded: int = 3) -> dict:
    return {
        "students": students,
        "rows_written": rows,
        "chunks_failed": 0,
        "runs": {"pending": 0, "running": 0, "succeeded": succeeded, "failed": 0},
    }


def alert_rows() -> list[Any]:
    return list(PacingAlert.objects.order_by("pk").values())


def test_the_paths_stage_follows_mastery_and_a_rerun_changes_nothing(full_night: Night):
    report = run_nightly("--date", "2026-11-20")

    assert without_seconds(report) == {
        "date": "2026-11-20",
        "schools": 3,
        "status": "succeeded",
        "stages": {
            "mastery": mastery_report(5, 5),
            "paths": paths_report(6, PATHS_FIRST_NIGHT_ROWS),
            # One snapshot chunk per school (tests/monitoring/test_snapshots_pipeline.py checks its rows).
            "snapshots": {
                "schools": 3,
                "rows_written": SNAPSHOT_ROWS,
                "chunks_failed": 0,
                "runs": {"pending": 0, "running": 0, "succeeded": 3, "failed": 0},
            },
        },
    }
    assert full_night.runs() == [
        ("mastery", NIGHT, "north-a", "succeeded"),
        ("mastery", NIGHT, "north-b", "succeeded"),
        ("mastery", NIGHT, "south-a", "succeeded"),
        ("paths", NIGHT, "north-a", "succeeded"),
        ("paths", NIGHT, "north-b", "succeeded"),
        ("paths", NIGHT, "south-a", "succeeded"),
        ("snapshots", NIGHT, "north-a", "succeeded"),
        ("snapshots", NIGHT, "north-b", "succeeded"),
        ("snapshots", NIGHT, "south-a", "succeeded"),
    ]
    # The grade-5 students have a path over c1, c2, c3 (the framework has nothing at the other grades).
    names = {user.pk: name for name, user in full_night.world.users.items()}
    codes = {c.pk: code for code, c in full_night.competencies.items()}
    steps = sorted(
        (names[s.path.student_id], s.order, codes[s.competency_id], s.state)
        for s in PathStep.objects.select_related("path")
    )
    assert steps == [
        ("s_a1_1", 1, "c1", "mastered"),
        ("s_a1_1", 2, "c2", "in_progress"),
        ("s_a1_1", 3, "c3", "ready"),
        ("s_a1_2", 1, "c1", "in_progress"),
        ("s_a1_2", 2, "c2", "ready"),
        ("s_a1_2", 3, "c3", "ready"),
        ("s_left", 1, "c1", "ready"),
        ("s_left", 2, "c2", "ready"),
        ("s_left", 3, "c3", "ready"),
    ]
    assert sorted((names[p.student_id], p.pacing_on, p.pacing_status) for p in LearningPath.objects.all()) == [
        ("s_a1_1", NIGHT, "on_track"),
        ("s_a1_2", NIGHT, "off_track"),
        ("s_left", NIGHT, "off_track"),
    ]
    # One night is not enough to open an alert: the conditions are remembered.
    assert alert_rows() == []
    assert sorted((names[c.student_id], c.kind, c.streak) for c in AlertCondition.objects.all()) == [
        ("s_a1_1", "inactive", 1),
        ("s_a1_2", "behind_pace", 1),
        ("s_a1_2", "inactive", 1),
        ("s_left", "behind_pace", 1),
        ("s_left", "inactive", 1),
    ]
    before = (alert_rows(), list(AlertCondition.objects.order_by("pk").values()))

    again = run_nightly("--date", "2026-11-20")

    assert again["stages"]["paths"] == paths_report(0, 0)
    assert (alert_rows(), list(AlertCondition.objects.order_by("pk").values())) == before


def test_alerts_open_on_the_second_school_day_and_a_rerun_leaves_the_alert_table_unchanged(full_night: Night):
    run_nightly("--date", "2026-11-20")  # Friday
    report = run_nightly("--date", "2026-11-23")  # Monday: the next school day

    assert report["stages"]["paths"]["rows_written"] == PATHS_SECOND_NIGHT_ROWS
    names = {user.pk: name for name, user in full_night.world.users.items()}
    alerts = sorted((names[a.student_id], a.kind, a.status, a.opened_on) for a in PacingAlert.objects.all())
    monday = datetime.date(2026, 11, 23)
    assert alerts == [
        ("s_a1_1", "inactive", "open", monday),
        ("s_a1_2", "behind_pace", "open", monday),
        ("s_a1_2", "inactive", "open", monday),
        ("s_left", "behind_pace", "open", monday),
        ("s_left", "inactive", "open", monday),
    ]
    behind = PacingAlert.objects.get(kind="behind_pace", student=full_night.world.users["s_a1_2"])
    assert behind.numbers["status"] == "off_track"
    assert (behind.numbers["mastered"], behind.numbers["velocity"], behind.numbers["target_count"]) == (0, 0.0, 3)
    assert behind.reason.startswith("Off track: mastered 0 of the grade 5 goals (3 in all) where ")
    before = alert_rows()

    again = run_nightly("--date", "2026-11-23")
    assert again["stages"]["paths"] == paths_report(0, 0)
    assert alert_rows() == before
    # Even the stage itself run again for the same date (not only the JobRun guard) writes nothing.
    student_ids = list(LearnerProfile.objects.values_list("pk", flat=True))
    assert paths_night(student_ids=student_ids, on=monday) == 0
    assert alert_rows() == before


def test_nights_runs_the_last_school_nights_oldest_first(full_night: Night):
    """`make run` runs two nights so the demo has alerts: Friday 20 and Monday 23 November here (the world's
    term has no holidays then; holidays are stepped over, see the next test)."""
    out = StringIO()
    call_command("run_nightly", "--date", "2026-11-23", "--nights", "2", stdout=out)
    reports = [json.loads(line) for line in out.getvalue().strip().splitlines()]
    assert [report["date"] for report in reports] == ["2026-11-20", "2026-11-23"]
    assert reports[-1]["stages"]["paths"]["rows_written"] == PATHS_SECOND_NIGHT_ROWS
    assert set(JobRun.objects.values_list("run_date", flat=True)) == {
        datetime.date(2026, 11, 20),
        datetime.date(2026, 11, 23),
    }
    assert PacingAlert.objects.filter(status="open").count() == 5


def test_school_nights_step_over_weekends():
    assert school_nights(datetime.date(2026, 11, 23), 3) == [
        datetime.date(2026, 11, 19),
        datetime.date(2026, 11, 20),
        datetime.date(2026, 11, 23),
    ]
    assert school_nights(datetime.date(2026, 11, 22), 1) == [datetime.date(2026, 11, 20)]  # a Sunday


def test_nights_below_one_is_refused(night: Night):
    with pytest.raises(CommandError, match=r"--nights must be 1 or more, got 0\."):
        call_command("run_nightly", "--nights", "0", stdout=StringIO())
    assert JobRun.objects.count() == 0
