"""The process's database: engine, sessionmaker, and where the URL came from."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.db.actor import ActingFor
from core.db.engine import create_engine, create_sessionmaker


@dataclass(frozen=True)
class Database:
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Where the LISTEN connection goes: a transaction pooler cannot hold one (defaults to url).
    listen_url: str = ""

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        pool_size: int = 10,
        transaction_pooler: bool = False,
        listen_url: str | None = None,
        pre_ping: bool = False,
        actor: ActingFor | None = None,
    ) -> Database:
        engine = create_engine(
            url, pool_size=pool_size, transaction_pooler=transaction_pooler, pre_ping=pre_ping
        )
        return cls(
            url=url,
            engine=engine,
            sessionmaker=create_sessionmaker(engine, actor=actor),
            listen_url=listen_url or url,
        )

    async def dispose(self) -> None:
        await self.engine.dispose()
