from alembic import context

from services.audit.adapters.tables import metadata
from shared.db import run_alembic_env

run_alembic_env(context, metadata)
