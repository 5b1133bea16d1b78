"""Which database a request's session talks to: the primary, or a streaming read replica.

Only operations that cannot write may go to the replica, and only when it is safe:

- **read-your-writes**: after a client's mutation commits, the primary's WAL position
  (``pg_current_wal_lsn()``) is remembered for that client; its reads stay on the primary
  until the replica has replayed past that position;
- **bounded staleness**: a monitor samples the primary's WAL position and the replica's
  replay position a few times a second; when the replica is more than ``max_lag_seconds``
  behind, or does not answer, every read goes to the primary until it catches up.

Read-your-writes is per process: a client's reads that land on another gateway process
right after its write can be stale by at most the replica's lag (bounded as above).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.database import Database

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
POLL_TIMEOUT_SECONDS = 1.0
# A client's remembered write is dropped after this: by then the lag bound covers it.
MAX_REMEMBERED_CLIENTS = 100_000
_LSN = text("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
_REPLAYED = text("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint")


@dataclass(frozen=True, slots=True)
class Route:
    """The session factory one request uses, and whether its commit must be remembered."""

    sessionmaker: async_sessionmaker[AsyncSession]
    replica: bool
    remember_commit_of: str | None


class ReadRouting:
    def __init__(
        self, primary: Database, replica: Database | None, *, max_lag_seconds: float = 5.0
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag_seconds = max_lag_seconds
        self._writes: dict[str, tuple[int, float]] = {}
        self._samples: deque[tuple[float, int]] = deque(maxlen=256)
        self._replayed = -1
        self._caught_up_at = float("-inf")
        self._task: asyncio.Task[None] | None = None

    # What the view asks --------------------------------------------------------------------
    def route(self, *, client_id: str | None, read_only: bool) -> Route:
        if self.replica is None:
            return Route(self.primary.sessionmaker, replica=False, remember_commit_of=None)
        if not read_only:
            return Route(self.primary.sessionmaker, replica=False, remember_commit_of=client_id)
        if self.replica_usable() and self._caught_up_with(client_id):
            return Route(self.replica.sessionmaker, replica=True, remember_commit_of=None)
        return Route(self.primary.sessionmaker, replica=False, remember_commit_of=None)

    async def committed(self, route: Route, session: AsyncSession) -> None:
        """After a write's commit: remember where the primary's WAL is for its client."""
        if route.remember_commit_of is None:
            return
        position = int((await session.execute(_LSN)).scalar_one())
        if len(self._writes) >= MAX_REMEMBERED_CLIENTS:
            self._forget_old(time.monotonic())
        self._writes[route.remember_commit_of] = (position, time.monotonic())

    def replica_failed(self) -> bool:
        """A request could not reach the replica: reads go to the primary until it answers."""
        self._caught_up_at = float("-inf")
        return False

    def replica_usable(self) -> bool:
        return time.monotonic() - self._caught_up_at <= self.max_lag_seconds

    def _caught_up_with(self, client_id: str | None) -> bool:
        if client_id is None:
            return True
        write = self._writes.get(client_id)
        return write is None or write[0] <= self._replayed

    def _forget_old(self, now: float) -> None:
        horizon = now - 2 * self.max_lag_seconds
        for client, (_, at) in list(self._writes.items()):
            if at < horizon:
                del self._writes[client]

    # The monitor ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self.replica is not None:
            self._task = asyncio.create_task(self._monitor(), name="replica-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _monitor(self) -> None:
        assert self.replica is not None
        healthy = True
        while True:
            try:
                async with asyncio.timeout(POLL_TIMEOUT_SECONDS):
                    await self.poll()
                if not healthy:
                    log.warning("the read replica answers again")
                healthy = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.replica_failed()
                if healthy:
                    log.warning(
                        "the read replica does not answer: reads go to the primary: %s", exc
                    )
                    # Its pooled connections are dead: made anew once it is back.
                    with contextlib.suppress(Exception):
                        await self.replica.engine.dispose()
                healthy = False
            self._forget_old(time.monotonic())
            await asyncio.sleep(POLL_SECONDS)

    async def poll(self) -> None:
        """One sample: the primary's position first, then how far the replica replayed."""
        assert self.replica is not None
        started = time.monotonic()
        async with self.primary.engine.connect() as connection:
            position = int((await connection.execute(_LSN)).scalar_one())
        self._samples.append((started, position))
        async with self.replica.engine.connect() as connection:
            replayed = (await connection.execute(_REPLAYED)).scalar_one()
        if replayed is None:
            raise RuntimeError("the read database is not a replica in recovery")
        self._replayed = int(replayed)
        # The replica holds everything committed before the newest sample it has passed.
        for at, sampled in reversed(self._samples):
            if sampled <= self._replayed:
                self._caught_up_at = max(self._caught_up_at, at)
                break
