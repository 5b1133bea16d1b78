"""One request's transaction on a pooled connection's own asyncpg connection.

A mutation request through the ORM session pays, around its one or two statements, for the
session, its connection, ``BEGIN``, the row-level security settings, the field's savepoint,
its release and ``COMMIT``: about 1.1 ms of the gateway's CPU against 0.3 ms for the same
round trips on the driver (``bench/transaction_overhead.py``). A ``DriverTransaction`` is what
the resolvers of such a mutation use of a session (``execute_core``, ``begin_nested``), the
view's ``commit`` and ``rollback``, and nothing else; the view gives it only to documents
whose every field it can serve (``schema.transactions.runs_on_driver``).

The transaction's own commands travel as simple-query messages, several to a message: the
opening ``BEGIN`` with the actor's settings (``core.db.actor.transaction_opening_sql``) and
the field's ``SAVEPOINT`` wait for the first statement and go before it in one round trip;
the release and ``COMMIT`` go together. A request that never reached a statement (refused
by its input checks) sends nothing at all. Statements run through ``DriverStatements``, as
the compiled reads do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from sqlalchemy import Executable
from sqlalchemy.exc import IntegrityError

from core.db.actor import ASSUME_ROLE_KEY, ActingFor, transaction_opening_sql
from core.db.availability import leaves_connection_fit
from core.db.driver_session import DriverResult, DriverSession, DriverStatements

if TYPE_CHECKING:
    from core.db.database import Database

T = TypeVar("T")


class DriverTransaction:
    def __init__(
        self, database: Database, statements: DriverStatements, actor: ActingFor | None
    ) -> None:
        self._database = database
        self._statements = statements
        role = (database.sessionmaker.kw.get("info") or {}).get(ASSUME_ROLE_KEY)
        self._opening = transaction_opening_sql(actor, role)
        self._holding: Any = None  # the driver_connection() context, once entered
        self._connection: Any = None
        self._failure: BaseException | None = None
        self._pending: list[str] = []  # transaction commands not yet sent, in order
        self._begun = False  # BEGIN queued
        self._sent = False  # BEGIN reached the server: there is a transaction to end
        self._savepoints = 0
        self._lock = asyncio.Lock()
        self.info: dict[str, Any] = {}

    async def __aenter__(self) -> DriverTransaction:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def execute_core(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> DriverResult:
        async def call() -> DriverResult:
            connection = await self._connect()
            self._queue_begin()
            await self._send_pending(connection)
            session = DriverSession(connection, self._statements)
            try:
                return await session.execute_core(statement, parameters)
            except asyncpg.IntegrityConstraintViolationError as violated:
                # What the session's path raises, so a resolver that tells a lost race
                # from a bug by the constraint's name reads it the same way.
                raise IntegrityError(str(statement), dict(parameters or {}), violated) from violated

        return await self._serialized(call)

    execute = execute_core

    async def begin_nested(self) -> DriverSavepoint:
        self._queue_begin()
        self._savepoints += 1
        name = f"field_{self._savepoints}"
        self._pending.append(f"SAVEPOINT {name}")
        return DriverSavepoint(self, name)

    async def commit(self) -> None:
        async def call() -> None:
            if not self._sent:
                self._reset()  # nothing reached the server: nothing to commit
                return
            self._pending.append("COMMIT")
            await self._send_pending(await self._connect())
            self._reset()

        await self._serialized(call)

    async def rollback(self) -> None:
        async def call() -> None:
            sent = self._sent
            self._reset()
            if sent:
                await (await self._connect()).execute("ROLLBACK")

        await self._serialized(call)

    async def close(self) -> None:
        async with self._lock:
            try:
                if self._sent and self._failure is None:
                    await self._connection.execute("ROLLBACK")
            except Exception as failed:
                self._failure = failed
            finally:
                self._reset()
                connection, holding = self._connection, self._holding
                self._holding = self._connection = None
                failure, self._failure = self._failure, None
                if failure is None and connection is not None and connection.is_in_transaction():
                    # Never handed on inside a transaction, whatever left it there: the
                    # next user's BEGIN would run in this one.
                    failure = RuntimeError("a driver connection was left in a transaction")
                if holding is not None and failure is None:
                    await holding.__aexit__(None, None, None)
                elif holding is not None and failure is not None:
                    # Passed in, the failure makes the pool close the connection left in
                    # doubt; a second failure while closing it must not replace the answer
                    # the request already has (a 503).
                    with contextlib.suppress(Exception):
                        await holding.__aexit__(type(failure), failure, failure.__traceback__)

    def _queue_savepoint_end(self, commands: str) -> None:
        self._pending.append(commands)

    def _queue_begin(self) -> None:
        if not self._begun:
            self._begun = True
            self._pending.append(self._opening)

    async def _send_pending(self, connection: Any) -> None:
        if not self._pending:
            return
        script = "; ".join(self._pending)
        self._pending.clear()
        self._sent = True
        await connection.execute(script)

    async def _connect(self) -> Any:
        if self._connection is None:
            holding = self._database.driver_connection()
            self._connection = await holding.__aenter__()
            self._holding = holding
        return self._connection

    def _reset(self) -> None:
        self._pending.clear()
        self._begun = False
        self._sent = False

    async def _serialized(self, call: Callable[[], Awaitable[T]]) -> T:
        """One command at a time, and never cancelled halfway: a statement cancelled in
        flight leaves asyncpg's connection in progress for good (as
        ``SerializedAsyncSession`` does for the ORM session)."""
        async with self._lock:
            inner = asyncio.ensure_future(call())
            try:
                return await asyncio.shield(inner)
            except asyncio.CancelledError:
                await asyncio.wait([inner])
                raise
            except Exception as failed:
                # A connection left in doubt is closed at the end, not handed on.
                cause = failed.__cause__ if isinstance(failed, IntegrityError) else failed
                if cause is None or not leaves_connection_fit(cause):
                    self._failure = failed
                raise


class DriverSavepoint:
    """A field's savepoint: its end is queued and travels with the next command."""

    def __init__(self, transaction: DriverTransaction, name: str) -> None:
        self._transaction = transaction
        self._name = name

    async def commit(self) -> None:
        self._transaction._queue_savepoint_end(f"RELEASE SAVEPOINT {self._name}")

    async def rollback(self) -> None:
        self._transaction._queue_savepoint_end(
            f"ROLLBACK TO SAVEPOINT {self._name}; RELEASE SAVEPOINT {self._name}"
        )
