"""Alembic environment: uses the platform's engine and the complete metadata."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import Engine

from khusela.store.schema import metadata

config = context.config
engine: Engine = config.attributes["engine"]


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave out what only migrations create (intel's full-text search objects), so that
    autogenerate never proposes dropping them."""
    if type_ == "table" and (name or "").startswith("intel_items_fts"):
        return False
    return not (type_ == "column" and name == "search" and obj.table.name == "intel_items")


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
