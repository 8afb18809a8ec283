"""Fresh databases for tests: a SQLite file, or a new PostgreSQL database when PORTAL_TEST_PG_URL is set
(``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``; CI runs the suite both ways)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

MACHINE_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pg_admin_url() -> str | None:
    return os.environ.get("PORTAL_TEST_PG_URL") or None


def new_database_url(tmp_dir: Path, name: str) -> str:
    admin = pg_admin_url()
    if not admin:
        return f"sqlite:///{tmp_dir / (name + '.db')}"
    return new_pg_database_url(name, admin)


def new_pg_database_url(name: str, admin: str | None = None) -> str:
    """A fresh PostgreSQL database whatever the suite runs on (tests of what only PostgreSQL offers: several
    processes on one database): on PORTAL_TEST_PG_URL's server, else the machine's."""
    admin = admin or pg_admin_url() or MACHINE_PG_URL
    db_name = f"t_{name}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    engine.dispose()
    return make_url(admin).set(database=db_name).render_as_string(hide_password=False)


def drop_database_url(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()


def template_for(tmp_dir: Path, services: tuple[str, ...]) -> dict[str, str]:
    """``<SERVICE>_DATABASE_URL`` env entries with one fresh database per service."""
    return {f"{s.upper()}_DATABASE_URL": new_database_url(tmp_dir, s) for s in services}
