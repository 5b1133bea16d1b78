"""The process's database: engine, sessionmaker, and where the URL came from."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.util.concurrency import greenlet_spawn

from core.db.actor import ActingFor
from core.db.availability import leaves_connection_fit
from core.db.engine import create_engine, create_sessionmaker


@dataclass(frozen=True)
class Database:
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Where the LISTEN connection goes: a transaction pooler cannot hold one (defaults to url).
    listen_url: str = ""
    # Behind PgBouncer in transaction mode (core/db/engine.py): see ``driver_connection``.
    transaction_pooler: bool = False
    # Pooled connections ``driver_connection`` keeps between its blocks (see there), at most
    # ``held_limit`` of them; 0: none kept.
    held_limit: int = 0
    _held: list[Any] = field(default_factory=list, compare=False, repr=False)
    # Told each change of how many are kept (+1, -1): ``watch_kept``.
    _kept_watchers: list[Callable[[int], None]] = field(
        default_factory=list, compare=False, repr=False
    )

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
            transaction_pooler=transaction_pooler,
            # Half the pool at most, so the ORM's sessions always find the other half; none
            # where a connection is pinged before each use (a kept one would skip the
            # ping) or belongs to PgBouncer's transaction.
            held_limit=0 if pre_ping or transaction_pooler else pool_size // 2,
        )

    async def dispose(self) -> None:
        while self._held:
            kept = self._take_kept()
            await greenlet_spawn(kept.close)
        await self.engine.dispose()

    def watch_kept(self, watcher: Callable[[int], None]) -> None:
        """``watcher(+1)`` when ``driver_connection`` keeps a connection, ``watcher(-1)``
        when it takes one back: the pool counts a kept connection as checked out, though it
        is idle (the metrics tell the two apart)."""
        self._kept_watchers.append(watcher)

    def _keep(self, pooled: Any) -> None:
        self._held.append(pooled)
        for watcher in self._kept_watchers:
            watcher(1)

    def _take_kept(self) -> Any:
        pooled = self._held.pop()
        for watcher in self._kept_watchers:
            watcher(-1)
        return pooled

    @property
    def driver_transactions(self) -> bool:
        """Whether a request may own its transaction on a driver connection
        (``core/db/driver_transaction.py``): not behind PgBouncer in transaction mode (there
        ``driver_connection`` wraps its block in a transaction of its own), and not when the
        sessionmaker joins an outer transaction (the tests' rollback-only databases), whose
        savepoints only the ORM session keeps."""
        return not self.transaction_pooler and not isinstance(
            self.sessionmaker.kw.get("bind"), AsyncConnection
        )

    async def _checkout(self) -> Any:
        """A kept connection (``driver_connection``) if one is still open, else the pool's."""
        while self._held:
            pooled = self._take_kept()
            if not pooled.driver_connection.is_closed():
                return pooled
            # PostgreSQL closed it while it was kept (a restart, an operator, an outage):
            # the pool forgets it, and the request does not pay for it.
            await greenlet_spawn(pooled.invalidate)
            await greenlet_spawn(pooled.close)
        return await self.engine.raw_connection()

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """A pooled connection's own asyncpg connection, outside any transaction, for the
        few hot paths whose work is one or two statements (the token endpoint).

        Each statement sent on it commits by itself: no BEGIN and COMMIT round trips, none
        of the ORM session's per-statement work (SQLAlchemy's asyncpg adapter begins a
        transaction only before a statement of its own). Several statements that must hold
        together go in ``connection.transaction()``. (Behind PgBouncer in transaction mode the
        whole block is one transaction instead: see below.) Parameters are ``$n``; the pool's JSON
        codecs apply (JSONB is bound as JSON text and read as Python values). A connection
        that failed otherwise than by an error PostgreSQL reported (unreachable, cancelled
        halfway) is invalidated, so the pool opens a new one instead of handing it on.

        When the sessionmaker is bound to one connection inside an outer transaction (the
        tests roll every test back that way), the statements run on that connection,
        through a session joined to it, so that they see and keep the test's writes.
        """
        bind = self.sessionmaker.kw.get("bind")
        if isinstance(bind, AsyncConnection):
            async with self.sessionmaker() as session:
                joined = await session.connection()
                async with _driver_of(joined) as driver:
                    yield driver
                await session.commit()
            return
        # Straight from the pool (a quarter of the CPU of a SQLAlchemy Connection around it,
        # which these paths never use); returned and invalidated in a greenlet, where the
        # pool may close a connection it has no room for.
        #
        # A block that ends cleanly, outside any transaction, leaves its connection kept
        # here for the next block instead of handing it back (up to ``held_limit``): the
        # pool's checkout and checkin, through a greenlet and the pool's events, cost a
        # compiled catalog read a tenth of its CPU (123,000 of 1.21 million instructions,
        # bench/instructions.py). A kept connection counts as checked out to the pool. One
        # that asyncpg saw closed is dropped when it is taken; one closed without asyncpg
        # noticing yet fails its next statement, which invalidates it, as a pooled one
        # without a ping does.
        pooled = await self._checkout()
        keep = False
        try:
            asyncpg_connection: Any = pooled.driver_connection
            if not self.transaction_pooler:
                yield asyncpg_connection
            else:
                # PgBouncer in transaction mode hands each transaction (and each statement
                # outside one) whichever server connection is free, while asyncpg prepares a
                # statement in one round trip and runs it in the next: outside a transaction
                # the two could meet different servers. So there, one transaction holds the
                # block's statements.
                async with asyncpg_connection.transaction():
                    yield asyncpg_connection
            keep = len(self._held) < self.held_limit and not asyncpg_connection.is_in_transaction()
        except BaseException as exc:
            if not leaves_connection_fit(exc):
                await greenlet_spawn(pooled.invalidate, exc)
            raise
        finally:
            if keep:
                self._keep(pooled)
            else:
                await greenlet_spawn(pooled.close)


@asynccontextmanager
async def _driver_of(connection: AsyncConnection) -> AsyncIterator[Any]:
    raw = await connection.get_raw_connection()
    try:
        yield raw.driver_connection
    except BaseException as exc:
        if not leaves_connection_fit(exc):
            await connection.invalidate()
        raise
