"""The process's database: engine, sessionmaker, and where the URL came from."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.db.engine import create_engine, create_sessionmaker


@dataclass(frozen=True)
class Database:
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 10) -> Database:
        engine = create_engine(url, pool_size=pool_size)
        return cls(url=url, engine=engine, sessionmaker=create_sessionmaker(engine))

    async def dispose(self) -> None:
        await self.engine.dispose()
