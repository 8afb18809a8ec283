"""Mail delivery through the real path: outbox → relay → broker → identity's Celery worker → .eml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from services.identity.adapters import tables
from tests.integration.identity.conftest import worker_idle
from tests.support.processes import base_env, celery_worker, wait_until

pytestmark = pytest.mark.integration


def test_a_registration_mail_reaches_the_mailer_through_the_worker(client, container, tmp_path):
    env = base_env({k: os.environ[k] for k in ("IDENTITY_DATABASE_URL", "REDIS_URL", "PORTAL_INTERNAL_SECRET",
                                               "PORTAL_VAR_DIR", "IDENTITY_ARGON2_MEMORY_KIB",
                                               "IDENTITY_ARGON2_TIME_COST")})
    worker = celery_worker("identity", env, tmp_path).start()
    try:
        client.register("worker@example.com")
        relay = container.runtime.relay()
        mail_dir = Path(container.settings.mail_dir)

        def delivered():
            relay.run_once()
            return list(mail_dir.glob("*.eml"))

        [eml] = wait_until(delivered, timeout=60, message="verification mail written by the worker")
        assert "To: worker@example.com" in eml.read_text()

        def recorded():
            with container.runtime.engine.connect() as conn:
                return conn.execute(select(tables.mails.c.sent_at, tables.mails.c.body)).first()

        row = wait_until(lambda: (r := recorded()) and r.sent_at and r, timeout=30, message="mail marked sent")
        assert row.body is None
        wait_until(lambda: worker_idle(worker), timeout=30, message="the worker finished its task")
    finally:
        worker.stop()
        assert "Traceback" not in worker.output(), worker.output()[-3000:]
