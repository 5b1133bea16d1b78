"""The per-client rate limit in query-cost points: a token bucket (Shopify's "leaky bucket").

Each client's bucket holds up to ``capacity`` points and regains ``rate`` points a second;
a request spends its document's static cost (``schema/cost.py``), or is refused with
``RATE_LIMITED`` (429, ``Retry-After``) when the bucket holds less than that.

Every gateway process must share one bucket per client, or N processes would give N times
the allowance: the bucket is a row of ``rate_limit_buckets``, refilled and spent in one
atomic ``INSERT ... ON CONFLICT DO UPDATE`` (the row lock is held for that statement only,
in a transaction of its own, never across the request). The embedded demo is one process
and keeps its buckets in memory.

The compiled lane sends the spend as a rider of its read (``core.db.driver_session.Rider``):
one statement that spends and, only when the budget allows, reads.

The same statement also returns the client's last recorded commit position
(``client_write_positions``, see ``core/db/routing.py``): it is the one statement every
request already sends to the primary before it is routed, so read-your-writes across gateway
processes costs no round trip of its own.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol

from core.db.database import Database
from core.db.driver_session import Rider


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    remaining: int
    capacity: int
    retry_after: int  # seconds until the cost would fit (0 when allowed)
    # The client's last commit position on the primary (0: none); None: not known here.
    write_position: int | None = None

    def headers(self) -> dict[str, str]:
        headers = {
            "ratelimit-limit": str(self.capacity),
            "ratelimit-remaining": str(self.remaining),
            "ratelimit-reset": str(self.retry_after),
        }
        if not self.allowed:
            headers["retry-after"] = str(max(1, self.retry_after))
        return headers


def client_bucket(client_id: str) -> str:
    """The bucket a client's GraphQL requests spend from (one per client, every process)."""
    return f"client:{client_id}"


class Limiter(Protocol):
    capacity: int
    rate: int

    async def spend(
        self, key: str, cost: int, *, client_id: str | None = None, connection: Any = None
    ) -> Decision:
        """``connection``: a driver connection the caller already holds (the compiled lane's)
        for the shared bucket's statement; without one the limiter takes its own."""
        ...

    def rider(self, key: str, cost: int, *, client_id: str) -> Rider | None:
        """The spend as a statement to send with a read (None: this limiter has none; the
        caller spends first). ``decided`` reads its row."""
        ...

    def decided(self, row: tuple[Any, ...], cost: int) -> Decision:
        """The decision a rider's row gives."""
        ...


def _decision(
    capacity: int,
    rate: int,
    cost: int,
    points: float,
    allowed: bool,
    write_position: int | None = None,
) -> Decision:
    if allowed:
        return Decision(True, int(points), capacity, 0, write_position)
    wait = math.ceil((min(cost, capacity) - points) / rate)
    return Decision(False, int(points), capacity, max(1, wait), write_position)


# The level now: what the bucket held, plus what it regained since, capped. SET expressions
# all read the row as it was, so the level is the same in each. $1 key, $2 cost, $3
# capacity, $4 rate (points a second), $5 client id.
_LEVEL = "least($3, b.points + extract(epoch FROM now() - b.updated_at) * $4)"
_SPEND_SQL = f"""
    INSERT INTO rate_limit_buckets AS b (key, points, allowed, updated_at)
    VALUES ($1::text, CASE WHEN $2::float8 <= $3::float8 THEN $3 - $2 ELSE $3 END,
            $2 <= $3, now())
    ON CONFLICT (key) DO UPDATE SET
        points = CASE WHEN {_LEVEL} >= $2 THEN {_LEVEL} - $2 ELSE {_LEVEL} END,
        allowed = {_LEVEL} >= $2,
        updated_at = now()
    RETURNING b.points, b.allowed,
              coalesce((SELECT w.lsn FROM client_write_positions AS w
                         WHERE w.client_id = $5::text), 0) AS write_position
    """  # noqa: S608 (no client text: a constant expression)
_SPENT = ("points", "allowed", "write_position")  # what _SPEND_SQL returns, in order


class PostgresLimiter:
    def __init__(self, database: Database, *, capacity: int, rate: int) -> None:
        self.database = database
        self.capacity = capacity
        self.rate = rate

    async def spend(
        self, key: str, cost: int, *, client_id: str | None = None, connection: Any = None
    ) -> Decision:
        # One statement is atomic by itself: sent alone on the driver's connection, without
        # BEGIN and COMMIT around it (two round trips fewer on every request) and without
        # the ORM session's own work per statement.
        if connection is None:
            async with self.database.driver_connection() as own:
                return await self.spend(key, cost, client_id=client_id, connection=own)
        row = await connection.fetchrow(_SPEND_SQL, *self._arguments(key, cost, client_id))
        decision = self.decided(tuple(row), cost)
        return decision if client_id is not None else replace(decision, write_position=None)

    def rider(self, key: str, cost: int, *, client_id: str) -> Rider:
        return Rider(_SPEND_SQL, self._arguments(key, cost, client_id), _SPENT, "allowed")

    def decided(self, row: tuple[Any, ...], cost: int) -> Decision:
        points, allowed, position = row
        return _decision(
            self.capacity, self.rate, cost, float(points), bool(allowed), int(position)
        )

    def _arguments(self, key: str, cost: int, client_id: str | None) -> tuple[Any, ...]:
        return (key, float(cost), float(self.capacity), float(self.rate), client_id)


class InProcessLimiter:
    """The embedded demo's buckets: one process, so memory is the shared state."""

    MAX_CLIENTS = 10_000

    def __init__(self, *, capacity: int, rate: int) -> None:
        self.capacity = capacity
        self.rate = rate
        self._buckets: dict[str, tuple[float, float]] = {}

    async def spend(
        self, key: str, cost: int, *, client_id: str | None = None, connection: Any = None
    ) -> Decision:
        # No shared record of commit positions here: ``write_position`` stays unknown.
        now = time.monotonic()
        points, at = self._buckets.get(key, (float(self.capacity), now))
        points = min(float(self.capacity), points + (now - at) * self.rate)
        allowed = points >= cost
        if allowed:
            points -= cost
        if len(self._buckets) >= self.MAX_CLIENTS and key not in self._buckets:
            self._buckets.clear()  # a full bucket for everyone is the safe way to forget
        self._buckets[key] = (points, now)
        return _decision(self.capacity, self.rate, cost, points, allowed)

    def rider(self, key: str, cost: int, *, client_id: str) -> None:
        return None  # no statement: the lane spends first, in memory

    def decided(self, row: tuple[Any, ...], cost: int) -> Decision:
        raise NotImplementedError("the in-process limiter gives no rider")


def make_limiter(database: Database, *, shared: bool, capacity: int, rate: int) -> Limiter:
    if shared:
        return PostgresLimiter(database, capacity=capacity, rate=rate)
    return InProcessLimiter(capacity=capacity, rate=rate)
