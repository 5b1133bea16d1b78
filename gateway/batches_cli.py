"""``prakerja-gateway batches create``: the scheduled making of disbursement batches."""

from __future__ import annotations

from datetime import UTC, datetime

from core.db.actor import SYSTEM
from core.db.database import Database
from resolvers.disbursements.batches import create_batches
from resolvers.disbursements.records import BatchRecord


async def make_batches(url: str) -> list[BatchRecord]:
    """Commits the batches made now; running it again makes none for the same installments."""
    database = Database.connect(url, pool_size=1, actor=SYSTEM)
    try:
        async with database.sessionmaker() as session:
            made = await create_batches(
                session, None, now=datetime.now(UTC), operator="prakerja-gateway batches create"
            )
            await session.commit()
    finally:
        await database.dispose()
    return made
