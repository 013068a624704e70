"""The benchmark's own scratch database: created fresh on the server named by
DATABASE_URL, marked with a comment, and dropped at the end.

Only a database carrying that comment is ever dropped, so pointing ``--db`` at
a real database (caseport_dev, test_caseport, ...) fails instead of wiping it.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
MARKER = "caseport bench scratch database (bench/run.py); safe to drop"
# Never touched, whatever --db says.
PROTECTED = {"postgres", "template0", "template1", "caseport", "caseport_dev", "test_caseport"}


def with_database(url: str, name: str) -> str:
    """The same server URL with its database name replaced."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def admin_url(url: str) -> str:
    """Where to connect to create/drop databases: the maintenance DB "postgres" on the same server."""
    return with_database(url, "postgres")


def _connect(url: str):
    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)


def _marker(conn, name):
    row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]).fetchone()
    if row is None:
        return None  # no such database
    return row[0] or ""


def create(url: str, name: str) -> None:
    if name in PROTECTED or name.startswith("test_"):
        raise SystemExit(f"refusing to use database {name!r} for benchmarks (protected name)")
    with _connect(admin_url(url)) as conn:
        marker = _marker(conn, name)
        if marker is not None:
            if marker != MARKER:
                raise SystemExit(f"database {name!r} exists and was not created by bench/run.py; refusing to touch it")
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(MARKER)))


def drop(url: str, name: str) -> None:
    with _connect(admin_url(url)) as conn:
        marker = _marker(conn, name)
        if marker is None:
            return
        if marker != MARKER:
            raise SystemExit(f"database {name!r} was not created by bench/run.py; not dropping it")
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def server_version(url: str) -> str:
    with _connect(admin_url(url)) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]
