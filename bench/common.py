"""What the bench scripts share: which database they use, how they set Django up, and the evidence items
a client would send.

The bench database: --database-url, else $BENCH_DATABASE_URL, else a database named `plplatform_bench`
on the server of $DATABASE_URL, else `plplatform_bench` on the embedded server (.pgdata/). The scripts
create and migrate it; the project's own database is never touched, and only a database whose name
contains `bench` is ever dropped or reset.
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "plplatform_bench"
# Every observation of the generated district is before this; new evidence is observed after it.
AS_OF = datetime.datetime(2026, 11, 20, tzinfo=datetime.UTC)


def bench_database_url(explicit: str | None = None) -> str:
    """Where the bench district lives (see the module docstring); starts the embedded server if needed."""
    if explicit:
        return explicit
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL")
    if not base:
        sys.path.insert(0, str(ROOT))
        from plplatform.embedded_db import embedded_database_url

        base = embedded_database_url(ROOT)
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def database_name(url: str) -> str:
    from psycopg import conninfo

    return str(conninfo.conninfo_to_dict(url).get("dbname") or "")


def machine_load() -> str:
    """The 1-minute load average and the cores, e.g. "load 0.4 on 2 cores": other work on the machine
    (tests, another bench) slows a benchmark down, so every script prints this beside its figures."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far, from /proc; None when it cannot be read (e.g. a
    database backend on another machine). Unlike wall time, it hardly changes with other load."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def backend_cpu_seconds() -> float | None:
    """process_cpu_seconds of the database backend serving Django's connection."""
    from django.db import connection

    connection.ensure_connection()
    return process_cpu_seconds(connection.connection.info.backend_pid)


def require_bench_name(url: str, action: str) -> str:
    """The database's name; exits unless it contains 'bench' (nothing else is ever dropped or reset)."""
    name = database_name(url)
    if "bench" not in name:
        raise SystemExit(f"Refusing to {action} {name!r}: only databases whose name contains 'bench'.")
    return name


def django_environment(url: str, **extra: str) -> dict[str, str]:
    """The environment for Django on the bench database: this process's, with the database set, production
    -like DEBUG off (unless DEBUG is set) and quiet logs (unless LOG_LEVEL is set); `extra` on top."""
    env = dict(os.environ)
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="plplatform.settings.dev")
    env.setdefault("DEBUG", "false")
    env.setdefault("LOG_LEVEL", "WARNING")
    env.update(extra)
    return env


def setup_django(url: str, **extra: str) -> None:
    """Point Django at the bench database (before anything imports the settings) and set it up."""
    sys.path.insert(0, str(ROOT))
    for name, value in django_environment(url, **extra).items():
        if os.environ.get(name) != value:
            os.environ[name] = value
    import django

    django.setup()


def recreate_database(url: str) -> None:
    """Drop the bench database (it is created again by the caller)."""
    import psycopg
    from psycopg import conninfo, sql

    name = require_bench_name(url, "drop")
    admin = conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def district_exists(url: str) -> bool:
    """Whether the database exists and holds a generated district (without setting Django up)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            table = conn.execute("SELECT to_regclass('profiles_district')").fetchone()
            if not table or table[0] is None:
                return False
            row = conn.execute("SELECT EXISTS (SELECT 1 FROM profiles_district)").fetchone()
            return bool(row and row[0])
    except psycopg.OperationalError as exc:
        if "does not exist" in str(exc):
            return False
        raise


def raw_connection() -> Any:
    """Django's psycopg connection to the bench database."""
    from django.db import connection

    connection.ensure_connection()
    return connection.connection


def build_items(rows: int, seed: int, source: str, prefix: str = "") -> list[dict]:
    """`rows` evidence items for the district's students and assessable competencies, like an LMS
    export: a score in [0, 1] (a raw score out of 10 for one in five), a timezone-aware observed_at in
    the week after AS_OF, a fresh (source, external_id) each. Needs Django set up."""
    from mastery.models import Competency
    from profiles.models import LearnerProfile

    students = np.array(LearnerProfile.objects.order_by("pk").values_list("pk", flat=True))
    competencies = np.array(Competency.objects.filter(assessable=True).order_by("pk").values_list("pk", flat=True))
    if not len(students) or not len(competencies):
        raise SystemExit("The bench database has no district; run bench/generate_district.py first.")
    rng = np.random.default_rng(seed)
    student_ids = students[rng.integers(0, len(students), rows)].tolist()
    competency_ids = competencies[rng.integers(0, len(competencies), rows)].tolist()
    scores = (rng.integers(0, 11, rows) / 10).tolist()
    raw_score = (rng.random(rows) < 0.2).tolist()
    offsets = rng.integers(0, 86_400 * 7, rows).tolist()
    items = []
    for n in range(rows):
        item = {
            "student_id": student_ids[n],
            "competency_id": competency_ids[n],
            "observed_at": AS_OF + datetime.timedelta(seconds=offsets[n]),
            "source": source,
            "external_id": f"attempt-{prefix}{n}",
        }
        if raw_score[n]:
            item["raw_score"], item["max_score"] = round(scores[n] * 10), 10
        else:
            item["score"] = scores[n]
        items.append(item)
    return items
