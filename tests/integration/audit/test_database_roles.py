"""deploy/postgres/01-roles.sql on the machine's PostgreSQL (names prefixed, so parallel runs do not collide):
one role per service with rights on its own database only, and audit's writer role able to append to the
chain but not to rewrite it, while retention runs under a role of its own (``PORTAL_AUDIT_RETENTION_DATABASE_URL``).

The machine's server trusts local connections, so passwords are not checked here: what is tested is what the
roles may do once connected (CONNECT on a database, privileges on tables), which PostgreSQL enforces whatever
the authentication method."""

from __future__ import annotations

import secrets
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from services.audit.bootstrap import bootstrap
from tests.integration.audit.conftest import events_at, store
from tests.support.audit_keys import audit_keys_env
from tests.support.databases import MACHINE_PG_URL, pg_admin_url
from tests.support.processes import REPO, VENV_BIN, base_env

pytestmark = pytest.mark.integration
INIT_SQL = REPO / "deploy" / "postgres" / "01-roles.sql"
ROLES = ("identity", "linking", "content", "gateway", "audit", "audit_writer", "audit_retention")
DATABASES = ("identity", "linking", "content", "gateway", "audit")


@dataclass(frozen=True)
class Cluster:
    admin: str
    prefix: str

    def url(self, role: str, database: str) -> str:
        return make_url(self.admin).set(username=self.prefix + role, password=None,
                                        database=self.prefix + database).render_as_string(hide_password=False)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    admin = pg_admin_url() or MACHINE_PG_URL
    parsed = make_url(admin)
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    env = base_env({f"PORTAL_PG_PASSWORD_{r.upper()}": secrets.token_hex(16) for r in ROLES})
    env["PGPASSWORD"] = parsed.password or ""
    applied = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-v", f"prefix={prefix}", "-h", parsed.host or "127.0.0.1",
         "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres", "-d", parsed.database or "postgres",
         "-f", str(INIT_SQL)], env=env, capture_output=True, text=True, timeout=120, check=False)
    try:
        assert applied.returncode == 0, applied.stderr[-3000:]
        yield Cluster(admin, prefix)
    finally:
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for database in DATABASES:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{prefix}{database}" WITH (FORCE)'))
            for role in ROLES:
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{prefix}{role}"'))
        engine.dispose()


def refused(url: str, statement: str) -> str:
    """The error PostgreSQL answers ``statement`` with, run as the URL's role ("" if it was allowed)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    except sa.exc.DBAPIError as exc:
        return str(exc.orig)
    finally:
        engine.dispose()
    return ""


def test_each_service_role_reaches_its_own_database_only(cluster: Cluster):
    for role in ("identity", "linking", "content", "gateway"):
        assert refused(cluster.url(role, role), "CREATE TABLE mine (id int)") == ""  # it owns its database
        for other in DATABASES:
            if other != role:
                assert "permission denied for database" in refused(cluster.url(role, other), "SELECT 1"), (role, other)
    for role in ("audit_writer", "audit_retention"):
        assert refused(cluster.url(role, "audit"), "SELECT 1") == ""
        assert "permission denied for database" in refused(cluster.url(role, "identity"), "SELECT 1")


@pytest.mark.parametrize("chains", ["1", "2"])
def test_the_audit_writer_appends_but_cannot_rewrite_and_retention_runs_under_its_own_role(
        cluster: Cluster, monkeypatch, tmp_path, chains):
    """With one chain and with two: retention cuts every chain under the same limited role."""
    env = {"AUDIT_DATABASE_URL": cluster.url("audit", "audit"), "PORTAL_INTERNAL_SECRET": secrets.token_hex(32),
           "REDIS_URL": "redis://127.0.0.1:9/0", "PORTAL_AUDIT_CHECKPOINT_EVERY": "10", "PORTAL_AUDIT_CHAINS": chains,
           "PORTAL_AUDIT_RETENTION_DAYS": "5", "PORTAL_VAR_DIR": str(tmp_path / "var"), **audit_keys_env(tmp_path)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    bootstrap().runtime.engine.dispose()  # the owner applies the migrations

    writer = cluster.url("audit_writer", "audit")
    monkeypatch.setenv("AUDIT_DATABASE_URL", writer)
    container = bootstrap()  # at head: starting as the writer needs no DDL
    try:
        store(container, events_at(25, start=datetime(2026, 1, 1, tzinfo=UTC)))  # events, checkpoints, head
    finally:
        container.runtime.engine.dispose()
    count = "SELECT count(*) FROM audit_events"
    engine = sa.create_engine(writer)
    with engine.connect() as conn:
        assert conn.execute(sa.text(count)).scalar_one() == 25
    engine.dispose()
    for statement in ("UPDATE audit_events SET subject = 'rewritten'", "DELETE FROM audit_events",
                      "TRUNCATE audit_events", "UPDATE audit_checkpoints SET signature = ''",
                      "DELETE FROM audit_checkpoints", "DELETE FROM audit_retention_records", "DELETE FROM audit_roots",
                      "INSERT INTO audit_retention_records SELECT * FROM audit_retention_records",
                      "ALTER TABLE audit_events DISABLE TRIGGER ALL", "DROP TABLE audit_events"):
        error = refused(writer, statement)
        assert "permission denied" in error or "must be owner" in error, (statement, error)

    clock = tmp_path / "clock-offset"
    clock.write_text(str(10 * 86400))  # ten days later: every event is past the five days of retention
    run_env = base_env({**env, "AUDIT_DATABASE_URL": writer, "PORTAL_CLOCK_OFFSET_FILE": str(clock)})

    def portal(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "portal"), "audit", *args], cwd=REPO, env={**run_env, **extra},
                              capture_output=True, text=True, timeout=120, check=False)

    as_writer = portal("retain", "--older-than", "5")
    assert as_writer.returncode != 0 and "permission denied" in as_writer.stderr, as_writer.stderr[-2000:]
    retained = portal("retain", "--older-than", "5",
                      PORTAL_AUDIT_RETENTION_DATABASE_URL=cluster.url("audit_retention", "audit"))
    assert retained.returncode == 0, retained.stderr[-3000:]
    assert '"removed": 25' in retained.stdout
    verified = portal("verify")
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]
