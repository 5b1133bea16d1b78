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
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

T = TypeVar("T")

# The engine's execution option that says it connects through PgBouncer in transaction
# pooling (core.db.engine.create_engine sets it).
TRANSACTION_POOLER_OPTION = "prakerja_transaction_pooler"


class SessionEnded(RuntimeError):
    """A database call arrived after the request's session was closed."""


class SerializedAsyncSession(AsyncSession):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None
        self._closed = False

    async def _serialized(self, call: Callable[[], Awaitable[T]]) -> T:
        task = asyncio.current_task()
        if self._holder is not None and self._holder is task:
            return await call()  # re-entered from within a call this task already holds
        async with self._lock:
            if self._closed:
                # A resolver graphql-core abandoned (its parent had already failed) must not
                # reopen a connection after the request has ended: nobody would return it.
                raise SessionEnded("the request's session has ended")
            # The call runs as a task of its own, shielded: graphql-core cancels a field's
            # siblings when an error reaches a non-null parent, and a statement cancelled
            # halfway leaves asyncpg's connection "in progress" for good (every later use,
            # commit included, fails, and the pool hands the broken connection on). A
            # cancelled caller waits for its statement to end, then is cancelled.
            inner = asyncio.ensure_future(call())
            self._holder = inner
            try:
                return await asyncio.shield(inner)
            except asyncio.CancelledError:
                await asyncio.wait([inner])
                if not inner.cancelled():
                    inner.exception()  # retrieved: the caller is gone, not the error
                raise
            finally:
                self._holder = None

    # The transaction's end waits its turn too: a sibling resolver graphql-core stopped
    # waiting for may still be running a statement on the connection.
    async def commit(self) -> None:
        await self._serialized(lambda: super(SerializedAsyncSession, self).commit())

    async def rollback(self) -> None:
        await self._serialized(lambda: super(SerializedAsyncSession, self).rollback())

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
        await super().close()

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
    """``SerializedAsyncSession.execute_core`` on any session (tests and scripts use bare ones;
    the compiled lane a ``DriverSession``, a mutation on the driver a ``DriverTransaction``,
    which are no SQLAlchemy sessions)."""
    if isinstance(session, SerializedAsyncSession) or not isinstance(session, AsyncSession):
        return await session.execute_core(statement, parameters)
    return await (await session.connection()).execute(statement, parameters)


_AUTOCOMMIT: dict[int, tuple[AsyncEngine, AsyncEngine]] = {}


def autocommit_session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """A session of ``sessionmaker`` whose every statement commits by itself: sent alone,
    without BEGIN and COMMIT around it. For a single statement that is atomic by itself,
    or reads of public data that need no common snapshot; never for a partner-owned table
    (row-level security reads a transaction-local setting)."""
    engine = sessionmaker.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        # Bound to one connection (the tests' outer transaction): its statements are in
        # that transaction whatever this session does.
        return sessionmaker()
    if engine.get_execution_options().get(TRANSACTION_POOLER_OPTION):
        # PgBouncer in transaction pooling hands each transaction any server connection:
        # asyncpg prepares a statement and runs it in two exchanges, which only a
        # transaction keeps on one server connection.
        return sessionmaker()
    found = _AUTOCOMMIT.get(id(engine))
    if found is None or found[0] is not engine:
        # The option engine shares the pool; the isolation level is set at checkout and
        # put back when the connection returns to the pool.
        found = _AUTOCOMMIT[id(engine)] = (
            engine,
            engine.execution_options(isolation_level="AUTOCOMMIT"),
        )
    return sessionmaker(bind=found[1])
