"""`python -m plplatform.ensure_database`: make sure the configured database exists.

With DATABASE_URL set, creates that database on its server when missing (CI's PostgreSQL starts
with only `postgres`); without it, starts the embedded server. Fails with one clear line when the
server cannot be reached.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg

from plplatform.embedded_db import embedded_database_url, ensure_database


def main() -> int:
    url = os.environ.get("DATABASE_URL")
    try:
        if url:
            ensure_database(url)
            print("Database ready (DATABASE_URL).")
        else:
            embedded_database_url(Path(__file__).resolve().parent.parent)
            print("Database ready (embedded PostgreSQL in .pgdata/).")
    except psycopg.OperationalError as exc:
        print(f"Cannot reach the database server: {exc}".strip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
