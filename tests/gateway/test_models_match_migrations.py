"""The ORM models and the migrations describe one schema: autogenerate finds no difference."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.db.engine import create_engine
from core.models import Base


async def test_autogenerate_finds_no_difference(seeded_url: str) -> None:
    engine = create_engine(seeded_url, pool_size=1)
    try:
        async with engine.connect() as connection:

            def compare(sync_connection: Any) -> list[Any]:
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
                return list(compare_metadata(context, Base.metadata))

            differences = await connection.run_sync(compare)
    finally:
        await engine.dispose()
    assert differences == [], "\n".join(map(str, differences))
