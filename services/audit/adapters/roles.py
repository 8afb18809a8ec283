"""What audit's database roles may do, applied by the owner's migrations on PostgreSQL.

``deploy/postgres/01-roles.sql`` creates the audit database's owner, a writer role (audit-web, audit-worker)
and a retention role (``portal audit retain``), and records the latter two's names as database settings
``portal.audit_writer`` and ``portal.audit_retention``. Default privileges give the writer SELECT, INSERT,
UPDATE and DELETE on every table the owner creates and the retention role SELECT; this narrows them:

- the writer can append to the chain but never rewrite it: no UPDATE, DELETE or TRUNCATE on the events, the
  checkpoints, the signed roots or the retention records, no INSERT of a retention record (and, not being the
  owner, no ALTER or DROP). It keeps moving the signed head (``audit_chain_head``) and forgetting erased
  people's keys and references: that is its job.
- the retention role deletes old ranges (events and their person references), records the retention, emits
  its event, and locks the head while it cuts (SELECT ... FOR UPDATE needs UPDATE).

Without those settings (SQLite, one role for everything) nothing is changed.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

CHAIN_TABLES = ("audit_events", "audit_checkpoints", "audit_retention_records", "audit_roots")


def apply_role_grants(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        return
    setting = "SELECT current_setting(:name, true)"
    writer = conn.execute(text(setting), {"name": "portal.audit_writer"}).scalar()
    retention = conn.execute(text(setting), {"name": "portal.audit_retention"}).scalar()
    quote = conn.dialect.identifier_preparer.quote
    chain = ", ".join(CHAIN_TABLES)
    if writer:
        conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {chain} FROM {quote(writer)}"))
        conn.execute(text(f"REVOKE INSERT ON audit_retention_records FROM {quote(writer)}"))
    if retention:
        role = quote(retention)
        for statement in (
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            f"GRANT DELETE ON audit_events, audit_person_refs TO {role}",
            f"GRANT INSERT ON audit_retention_records, outbox TO {role}",
            f"GRANT UPDATE ON audit_chain_head TO {role}",
        ):
            conn.execute(text(statement))
