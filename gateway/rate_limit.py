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
one statement that spends and, only when the budget allows, reads. For a client whose
budget is far from spent, that spend also takes a lease of points that the process spends
in memory for at most ``LEASE_SECONDS`` (see "Leases" below): the lane then sends no spend
at all, and concurrent requests of one client no longer queue on the bucket's row lock,
which a rider holds for its whole read. The view spends leases too, for every request that
no replica may serve (a mutation, or any request when there is no replica): only a read
that may be routed needs the commit position the statement returns.

The same statement also returns the client's last recorded commit position
(``client_write_positions``, see ``core/db/routing.py``): it is the one statement every
request already sends to the primary before it is routed, so read-your-writes across gateway
processes costs no round trip of its own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final, Protocol

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
        self,
        key: str,
        cost: int,
        *,
        client_id: str | None = None,
        connection: Any = None,
        lease: bool = False,
    ) -> Decision:
        """``connection``: a driver connection the caller already holds (the compiled lane's)
        for the shared bucket's statement; without one the limiter takes its own. ``lease``:
        the spend may also take a lease (``PostgresLimiter``); the caller has no use for the
        client's write position."""
        ...

    def spent_locally(self, key: str, cost: int) -> Decision | None:
        """The spend decided in this process, without a statement (a lease it holds, or
        its own buckets); None: it takes a statement (``spend`` or ``rider``)."""
        ...

    def rider(self, key: str, cost: int, *, client_id: str, lease: bool = False) -> Rider:
        """The spend as a statement to send with a read, for when ``spent_locally`` did not
        decide. ``decided`` reads its row."""
        ...

    def decided(self, rider: Rider, row: tuple[Any, ...]) -> Decision:
        """The decision the row of ``rider`` (one of this limiter's) gives."""
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


# --- Leases: a process spends a high-rate client's points in memory for a moment. ---------
# A spend may take, beside its own cost, a lease of points cut from the shared bucket,
# which its process then spends in memory until it runs out or LEASE_SECONDS after it was
# asked for, whichever comes first; what is left then is dropped, never handed back. So
# every point spent was taken from the shared bucket at most LEASE_SECONDS earlier, and in
# any span of time a client spends at most what its bucket allows plus LEASE_SECONDS of
# its refill, however many processes serve it. A lease is at most that refill and a
# LEASE_SHARE-th of the bucket, and is given whole or not at all, and only while the bucket
# keeps at least LEASE_RESERVE of its capacity once the cost and the lease are cut: a
# bucket nearer its end spends each request exactly, so a client close to its limit is
# never refused by one process while another holds its points (several processes leasing
# at once could otherwise hold the last of a budget between them).
# A client whose refill in LEASE_SECONDS does not cover one more request never leases.
LEASE_SECONDS: Final = 0.25
LEASE_SHARE: Final = 16
LEASE_RESERVE: Final = 0.5
# One spend at a time asks for a client's lease in a process; one lost on the way (its
# statement failed) stops asking for this long.
ASKING_SECONDS: Final = 1.0
LEASES_KEPT: Final = 10_000


@dataclass(slots=True)
class _Lease:
    points: float = 0.0  # left to spend here
    level: int = 0  # what the shared bucket held once the lease was cut from it
    until: float = 0.0  # the clock's reading after which it is dropped
    asked_at: float | None = None  # when a spend in flight asked for the next one


# The level now: what the bucket held, plus what it regained since, capped. SET expressions
# all read the row as it was, so the level is the same in each. $1 key, $2 cost, $3
# capacity, $4 rate (points a second), $5 client id, $6 the lease asked for (0: none).
_LEVEL = "least($3, b.points + extract(epoch FROM now() - b.updated_at) * $4)"


def _lease_from(level: str) -> str:
    """The lease a spend takes from ``level``: all it asks for when the bucket still holds
    its reserve once the cost and the lease are cut, else nothing."""
    return f"CASE WHEN {level} - $2 - $6 >= $3 * {LEASE_RESERVE} THEN $6 ELSE 0 END"


_SPEND_SQL = f"""
    INSERT INTO rate_limit_buckets AS b (key, points, allowed, leased, updated_at)
    VALUES ($1::text,
            CASE WHEN $2::float8 <= $3::float8 THEN $3 - $2 - {_lease_from("$3")} ELSE $3 END,
            $2 <= $3, CASE WHEN $2 <= $3 THEN {_lease_from("$3")} ELSE 0 END, now())
    ON CONFLICT (key) DO UPDATE SET
        points = CASE WHEN {_LEVEL} >= $2 THEN {_LEVEL} - $2 - {_lease_from(_LEVEL)}
                      ELSE {_LEVEL} END,
        allowed = {_LEVEL} >= $2,
        leased = CASE WHEN {_LEVEL} >= $2 THEN {_lease_from(_LEVEL)} ELSE 0 END,
        updated_at = now()
    RETURNING b.points, b.allowed, b.leased,
              coalesce((SELECT w.lsn FROM client_write_positions AS w
                         WHERE w.client_id = $5::text), 0) AS write_position
    """  # noqa: S608 (no client text: a constant expression)
_SPENT = ("points", "allowed", "leased", "write_position")  # what _SPEND_SQL returns


class PostgresLimiter:
    def __init__(
        self,
        database: Database,
        *,
        capacity: int,
        rate: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.capacity = capacity
        self.rate = rate
        self.lease_size = min(capacity / LEASE_SHARE, rate * LEASE_SECONDS)
        self._clock = clock
        self._leases: dict[str, _Lease] = {}

    async def spend(
        self,
        key: str,
        cost: int,
        *,
        client_id: str | None = None,
        connection: Any = None,
        lease: bool = False,
    ) -> Decision:
        # One statement is atomic by itself: sent alone on the driver's connection, without
        # BEGIN and COMMIT around it (two round trips fewer on every request) and without
        # the ORM session's own work per statement.
        if connection is None:
            async with self.database.driver_connection() as own:
                return await self.spend(key, cost, client_id=client_id, connection=own, lease=lease)
        arguments = self._arguments(key, cost, client_id, lease)
        row = await connection.fetchrow(_SPEND_SQL, *arguments)
        decision = self._decided(arguments, tuple(row))
        return decision if client_id is not None else replace(decision, write_position=None)

    def spent_locally(self, key: str, cost: int) -> Decision | None:
        held = self._leases.get(key)
        if held is None or held.points < cost or self._clock() > held.until:
            return None
        held.points -= cost
        # Unknown here: its callers (the lane, and the view for any request that no replica
        # may serve) have no use for it.
        return Decision(True, held.level + int(held.points), self.capacity, 0, None)

    def rider(self, key: str, cost: int, *, client_id: str, lease: bool = False) -> Rider:
        return Rider(_SPEND_SQL, self._arguments(key, cost, client_id, lease), _SPENT, "allowed")

    def decided(self, rider: Rider, row: tuple[Any, ...]) -> Decision:
        return self._decided(rider.arguments, row)

    def _decided(self, arguments: tuple[Any, ...], row: tuple[Any, ...]) -> Decision:
        key, cost, _capacity, _rate, _client, asked = arguments
        points, allowed, leased, position = row
        if asked:
            held = self._leases.get(key)
            if held is not None and held.asked_at is not None:
                if leased > 0:
                    held.points = float(leased)
                    held.level = int(points)
                    # From the asking: the lease is never spent later than LEASE_SECONDS
                    # after the statement that cut it.
                    held.until = held.asked_at + LEASE_SECONDS
                held.asked_at = None
        return _decision(
            self.capacity, self.rate, int(cost), float(points), bool(allowed), int(position)
        )

    def _arguments(
        self, key: str, cost: int, client_id: str | None, lease: bool
    ) -> tuple[Any, ...]:
        asked = self._asking(key, cost) if lease else 0.0
        return (key, float(cost), float(self.capacity), float(self.rate), client_id, asked)

    def _asking(self, key: str, cost: int) -> float:
        """The lease a spend of ``cost`` asks for: none when it would not pay for one more
        request, or while another spend of this process asks for the client's."""
        if self.lease_size < cost:
            return 0.0
        now = self._clock()
        held = self._leases.get(key)
        if held is None:
            if len(self._leases) >= LEASES_KEPT:
                self._leases.clear()  # dropping leases only leaves points unspent
            held = self._leases[key] = _Lease()
        elif held.asked_at is not None and now - held.asked_at < ASKING_SECONDS:
            return 0.0
        held.asked_at = now
        return self.lease_size


class InProcessLimiter:
    """The embedded demo's buckets: one process, so memory is the shared state."""

    MAX_CLIENTS = 10_000

    def __init__(self, *, capacity: int, rate: int) -> None:
        self.capacity = capacity
        self.rate = rate
        self._buckets: dict[str, tuple[float, float]] = {}

    async def spend(
        self,
        key: str,
        cost: int,
        *,
        client_id: str | None = None,
        connection: Any = None,
        lease: bool = False,
    ) -> Decision:
        return self.spent_locally(key, cost)

    def spent_locally(self, key: str, cost: int) -> Decision:
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

    def rider(self, key: str, cost: int, *, client_id: str, lease: bool = False) -> Rider:
        raise NotImplementedError("every spend is decided in memory (spent_locally)")

    def decided(self, rider: Rider, row: tuple[Any, ...]) -> Decision:
        raise NotImplementedError("the in-process limiter gives no rider")


def make_limiter(database: Database, *, shared: bool, capacity: int, rate: int) -> Limiter:
    if shared:
        return PostgresLimiter(database, capacity=capacity, rate=rate)
    return InProcessLimiter(capacity=capacity, rate=rate)
