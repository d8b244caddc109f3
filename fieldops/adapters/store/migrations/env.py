"""Alembic environment: run programmatically by fieldops.adapters.store.migrate (never via an
alembic.ini). The caller passes an open connection in ``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context

from fieldops.adapters.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the programmatic entry point is supported
    raise RuntimeError("fieldops migrations run through fieldops.adapters.store.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
