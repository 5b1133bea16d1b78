"""The async engine and sessionmaker, made once per process in the app's lifespan."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.db.session import SerializedAsyncSession
from core.db.urls import async_url

CONNECT_TIMEOUT_SECONDS = 5


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        # While PostgreSQL is unreachable a request fails within seconds (a 503): the connect
        # timeout below bounds it. The pool's queue keeps its 30 seconds, so a burst that
        # waits for a free connection on a busy machine is served late rather than refused.
        # Every statement is bound by a timeout, so one runaway query cannot hold a worker.
        connect_args={
            "server_settings": {"statement_timeout": "30000", "jit": "off"},
            "timeout": CONNECT_TIMEOUT_SECONDS,
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after the one commit of a request.
    return async_sessionmaker(
        engine, class_=SerializedAsyncSession, expire_on_commit=False, autoflush=False
    )
