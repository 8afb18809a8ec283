"""content's migrations build exactly the schema its code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.content.adapters import tables
from services.content.bootstrap import bootstrap
from tests.integration.content.conftest import make_settings

pytestmark = pytest.mark.integration


def test_migrations_match_the_tables(database_url, redis_url, internal_secret, tmp_path):
    container = bootstrap(make_settings(database_url, redis_url, internal_secret, tmp_path))
    container.runtime.migrate()  # a second run is a no-op
    with container.runtime.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    container.runtime.engine.dispose()
    assert diff == []
