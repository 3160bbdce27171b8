"""The night end to end through a real Redis broker and a real `celery -A plplatform worker` process.

Needs REDIS_URL (DESIGN.md section 6; CI sets it). The worker and `manage.py run_nightly` run as
subprocesses on the pytest test database (transactional_db: the data is committed, so they see it),
each test run on a Redis database of its own, claimed when empty and flushed afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import pytest
from django.db import connection

from monitoring.models import JobChunk, JobRun
from tests.monitoring.test_pipeline import EXPECTED_STATES, NIGHT, PATHS_FIRST_NIGHT_ROWS, SNAPSHOT_ROWS, Night
from tests.world import build_world

ROOT = Path(__file__).resolve().parent.parent.parent
REDIS_URL = os.environ.get("REDIS_URL", "")
CLAIM_KEY = "plplatform:test-worker-claim"

if not REDIS_URL and os.environ.get("CI"):
    raise RuntimeError("CI must set REDIS_URL: the worker test needs a real Redis broker.")

pytestmark = pytest.mark.skipif(
    not REDIS_URL,
    reason="The worker test needs REDIS_URL (a real Redis broker, e.g. redis://127.0.0.1:6379/0); "
    "CI sets it (DESIGN.md section 6).",
)


def database_url() -> str:
    """A URL to the test database as pytest-django created it (its name, host, socket, user)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    netloc = f"{auth}@{db['HOST'] or ''}" + (f":{db['PORT']}" if db["PORT"] else "")
    options = {key: str(value) for key, value in (db.get("OPTIONS") or {}).items() if isinstance(value, str | int)}
    return urlunsplit(("postgresql", netloc, "/" + quote(db["NAME"], safe=""), urlencode(options), ""))


@pytest.fixture
def broker_url() -> Iterator[str]:
    """A Redis database of this test run's own: the first empty one, claimed atomically, flushed after."""
    import redis

    base = urlsplit(REDIS_URL)
    token = uuid.uuid4().hex
    for number in range(15, 0, -1):
        url = urlunsplit((base.scheme, base.netloc, f"/{number}", "", ""))
        client = redis.Redis.from_url(url)
        if client.dbsize() == 0 and client.set(CLAIM_KEY, token, nx=True, ex=600):
            break
        client.close()
    else:
        pytest.fail("No empty Redis database (1-15) to run the worker test on.")
    try:
        yield url
    finally:
        if client.get(CLAIM_KEY) == token.encode():
            client.flushdb()
        client.close()


@pytest.fixture
def night_world(transactional_db: None) -> Night:
    return Night(build_world())


@pytest.fixture
def worker_env(night_world: Night, broker_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CELERY")}
    env.update(
        DJANGO_SETTINGS_MODULE="plplatform.settings.test",
        DATABASE_URL=database_url(),
        REDIS_URL=broker_url,
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def worker(worker_env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A real worker (prefork, 2 processes), always stopped: warm shutdown, then killed if it lingers."""
    log = tempfile.NamedTemporaryFile("w+", prefix="celery-worker-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "plplatform",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "--loglevel=INFO",
            f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",
        ],
        cwd=ROOT,
        env=worker_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the pool's children go with it
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # any pool child left behind
        log.seek(0)
        output = log.read()
        log.close()
        os.unlink(log.name)
        print(output[-5000:])  # shown by pytest when the test fails


def run_nightly(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "manage.py", "run_nightly", *args, "--wait", "40"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_night_runs_through_redis_and_a_real_worker(
    night_world: Night, worker_env: dict[str, str], worker: subprocess.Popen
):
    report = run_nightly(worker_env, "--date", "2026-11-20")

    assert worker.poll() is None, "the worker stopped"
    report.pop("seconds")
    assert report == {
        "date": "2026-11-20",
        "schools": 3,
        "status": "succeeded",
        "stages": {
            "mastery": {
                "pairs": 5,
                "rows_written": 5,
                "chunks_failed": 0,
                "runs": {"pending": 0, "running": 0, "succeeded": 3, "failed": 0},
            },
            "paths": {
                "students": 6,
                "rows_written": PATHS_FIRST_NIGHT_ROWS,
                "chunks_failed": 0,
                "runs": {"pending": 0, "running": 0, "succeeded": 3, "failed": 0},
            },
            "snapshots": {
                "schools": 3,
                "rows_written": SNAPSHOT_ROWS,
                "chunks_failed": 0,
                "runs": {"pending": 0, "running": 0, "succeeded": 3, "failed": 0},
            },
        },
    }
    assert night_world.runs() == [
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
    assert list(JobChunk.objects.order_by().values_list("status", "attempts").distinct()) == [("succeeded", 1)]
    assert night_world.states() == EXPECTED_STATES

    # The same night again through the broker: no new run, nothing written.
    again = run_nightly(worker_env, "--date", "2026-11-20")

    assert again["stages"]["mastery"]["pairs"] == again["stages"]["mastery"]["rows_written"] == 0
    assert again["stages"]["paths"]["students"] == again["stages"]["paths"]["rows_written"] == 0
    assert again["status"] == "succeeded"
    assert again["stages"]["snapshots"]["schools"] == again["stages"]["snapshots"]["rows_written"] == 0
    assert JobRun.objects.count() == 9
    assert list(JobChunk.objects.order_by().values_list("status", "attempts").distinct()) == [("succeeded", 1)]
    assert night_world.states() == EXPECTED_STATES
