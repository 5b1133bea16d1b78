"""An AsyncSession that one request's concurrently running resolvers can share.

graphql-core resolves sibling fields concurrently, and data loaders dispatch in the same
tick; a SQLAlchemy session holds one connection and refuses concurrent use. Queueing the
session's database calls on a per-session lock keeps one connection per request (so one
transaction, committed in one place) without every resolver having to know.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Executable
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class SerializedAsyncSession(AsyncSession):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None

    async def _serialized(self, call: Callable[[], Awaitable[T]]) -> T:
        task = asyncio.current_task()
        if self._holder is not None and self._holder is task:
            return await call()  # re-entered from within a call this task already holds
        async with self._lock:
            self._holder = task
            try:
                return await call()
            finally:
                self._holder = None

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._serialized(
            lambda: super(SerializedAsyncSession, self).execute(*args, **kwargs)
        )

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return await self._serialized(
            lambda: super(SerializedAsyncSession, self).scalar(*args, **kwargs)
        )

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return await self._serialized(
            lambda: super(SerializedAsyncSession, self).scalars(*args, **kwargs)
        )

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return await self._serialized(
            lambda: super(SerializedAsyncSession, self).get(*args, **kwargs)
        )

    async def flush(self, *args: Any, **kwargs: Any) -> None:
        await self._serialized(lambda: super(SerializedAsyncSession, self).flush(*args, **kwargs))

    async def refresh(self, *args: Any, **kwargs: Any) -> None:
        await self._serialized(lambda: super(SerializedAsyncSession, self).refresh(*args, **kwargs))

    async def execute_core(
        self, statement: Executable, parameters: dict[str, Any] | None = None
    ) -> CursorResult[Any]:
        """A Core statement on the session's connection (and transaction), in its turn.

        ``execute`` runs a Core select through the ORM's result layer, which wraps every
        row for nothing when the caller reads plain rows."""

        async def call() -> CursorResult[Any]:
            connection = await super(SerializedAsyncSession, self).connection()
            return await connection.execute(statement, parameters)

        return await self._serialized(call)


async def execute_core(
    session: AsyncSession, statement: Executable, parameters: dict[str, Any] | None = None
) -> CursorResult[Any]:
    """``SerializedAsyncSession.execute_core`` on any session (tests and scripts use bare ones)."""
    if isinstance(session, SerializedAsyncSession):
        return await session.execute_core(statement, parameters)
    return await (await session.connection()).execute(statement, parameters)
