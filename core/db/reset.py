"""Emptying every table of the model (``seed --force``)."""

from __future__ import annotations

from sqlalchemy import text

from core.db.database import Database
from core.models import Base


async def reset_database(url: str) -> None:
    """Truncates every table of the model at once; the schema and its migrations stay."""
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    database = Database.connect(url, pool_size=1)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await database.dispose()
