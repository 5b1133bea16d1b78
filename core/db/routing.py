"""Which database a request's session talks to: the primary, or a streaming read replica.

Only operations that cannot write may go to the replica, and only when it is safe:

- **read-your-writes, across every gateway process**: after a client's mutation commits,
  the process that ran it records, on the primary, where the primary's WAL stood
  (``client_write_positions``, one UNLOGGED row per client) before it replies. Any process
  that later serves a read of that client learns the position in the statement it sends to
  the primary for every request anyway (the rate-limit spend, ``gateway/rate_limit.py``),
  and sends the read to the replica only once the replica has replayed past it;
- **bounded staleness**: a monitor samples the primary's WAL position and the replica's
  replay position a few times a second; when the replica is more than ``max_lag_seconds``
  behind, or does not answer, every read goes to the primary until it catches up.

Why a row on the primary, and not the position in each process's memory (as before) or a
NOTIFY to every process: the client's next request may land on any replica of the gateway,
at once. A NOTIFY reaches the other processes some time after the writer's reply, and
nothing bounds that time; a row committed before the reply is seen by every statement that
starts after it, so correctness depends on no timing at all. Reading it costs no round trip
of its own (a primary-key lookup inside the rate-limit statement); writing it replaces the
``SELECT pg_current_wal_lsn()`` that followed each mutation, and, the table being UNLOGGED,
its commit waits for no WAL flush. Where no shared position is known (no cost was computed,
or the in-process limiter of the embedded demo), a read goes to the primary.

The position is ``pg_current_wal_insert_lsn()`` read after the mutation's commit returned:
at or past the end of its commit record, whatever ``synchronous_commit`` says.
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
_LSN = text("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
# After the mutation's commit, in a transaction of its own: an earlier position than one
# already recorded (two processes racing for one client) never wins.
_RECORD_POSITION = text(
    """
    INSERT INTO client_write_positions AS p (client_id, lsn, updated_at)
    VALUES (:client_id, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint, now())
    ON CONFLICT (client_id) DO UPDATE
       SET lsn = greatest(p.lsn, excluded.lsn), updated_at = excluded.updated_at
    """
)
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
        self._samples: deque[tuple[float, int]] = deque(maxlen=256)
        self._replayed = -1
        self._caught_up_at = float("-inf")
        self._task: asyncio.Task[None] | None = None

    # What the view asks --------------------------------------------------------------------
    def route(
        self,
        *,
        client_id: str | None,
        read_only: bool,
        writes: bool,
        write_position: int | None,
    ) -> Route:
        """``writes``: a mutation, whose commit is recorded for its client.
        ``write_position``: the client's last recorded commit position, read from the
        primary for this request (0: none recorded; None: not known, so not the replica)."""
        if self.replica is None:
            # No replica, nothing to catch up with: no position is recorded either.
            return Route(self.primary.sessionmaker, replica=False, remember_commit_of=None)
        if not read_only:
            remember = client_id if writes else None
            return Route(self.primary.sessionmaker, replica=False, remember_commit_of=remember)
        if self.replica_usable() and self._caught_up_with(write_position):
            return Route(self.replica.sessionmaker, replica=True, remember_commit_of=None)
        return Route(self.primary.sessionmaker, replica=False, remember_commit_of=None)

    async def committed(self, route: Route, session: AsyncSession) -> None:
        """After a write's commit and before its reply: record, on the primary, where the
        WAL stands for its client, so every gateway process routes its next read right."""
        if route.remember_commit_of is None:
            return
        await session.execute(_RECORD_POSITION, {"client_id": route.remember_commit_of})
        await session.commit()

    def replica_failed(self) -> bool:
        """A request could not reach the replica: reads go to the primary until it answers."""
        self._caught_up_at = float("-inf")
        return False

    def replica_usable(self) -> bool:
        return time.monotonic() - self._caught_up_at <= self.max_lag_seconds

    def _caught_up_with(self, write_position: int | None) -> bool:
        # What the monitor last saw replayed is a lower bound of what the replica holds now.
        return write_position is not None and write_position <= self._replayed

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
