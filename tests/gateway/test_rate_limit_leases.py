"""Leases of the shared rate-limit bucket (``gateway/rate_limit.py``, "Leases"): a spend
that asks may also take a lease of points, which its process spends in memory for at most
``LEASE_SECONDS``; whatever the number of processes, a client never spends more than its
bucket allows plus that much refill. Against a real database; the lane's use of them is
tested through HTTP in tests/catalog/test_compiled_lane.py."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from core.db.database import Database
from gateway.rate_limit import LEASE_SECONDS, PostgresLimiter
from tests.support.databases import DatabaseFactory

CAPACITY = 16_000
RATE = 4_000  # a lease is min(CAPACITY / 16, RATE * 0.25) = 1,000 points
LEASE = 1_000
COST = 100


@pytest.fixture
async def database(databases: DatabaseFactory) -> AsyncIterator[Database]:
    database = Database.connect(await databases.seeded("leases"), pool_size=2)
    try:
        yield database
    finally:
        await database.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def limiter(database: Database, clock: Clock | None = None) -> PostgresLimiter:
    return PostgresLimiter(database, capacity=CAPACITY, rate=RATE, clock=clock or time.monotonic)


async def bucket(database: Database, key: str) -> tuple[float, float]:
    async with database.driver_connection() as connection:
        row = await connection.fetchrow(
            "SELECT points, leased FROM rate_limit_buckets WHERE key = $1", key
        )
    return float(row["points"]), float(row["leased"])


async def test_a_lease_is_spent_in_memory_and_the_shared_row_is_not_written(
    database: Database,
) -> None:
    spender = limiter(database)
    assert spender.lease_size == LEASE
    assert spender.spent_locally("client:a", COST) is None  # nothing held yet
    first = await spender.spend("client:a", COST, client_id="a", lease=True)
    assert first.allowed
    assert await bucket(database, "client:a") == (CAPACITY - COST - LEASE, LEASE)
    local = [spender.spent_locally("client:a", COST) for _ in range(LEASE // COST)]
    assert all(decision is not None and decision.allowed for decision in local)
    assert local[-1] is not None and local[-1].remaining == CAPACITY - COST - LEASE
    # Spent out: the next spend takes a statement again, and the row saw none of the ten.
    assert spender.spent_locally("client:a", COST) is None
    assert await bucket(database, "client:a") == (CAPACITY - COST - LEASE, LEASE)


async def test_a_spend_that_does_not_ask_takes_no_lease(database: Database) -> None:
    spender = limiter(database)
    await spender.spend("client:b", COST, client_id="b")
    assert await bucket(database, "client:b") == (CAPACITY - COST, 0)
    assert spender.spent_locally("client:b", COST) is None


async def test_a_lease_is_dropped_once_its_time_is_up(database: Database) -> None:
    clock = Clock()
    spender = limiter(database, clock)
    await spender.spend("client:c", COST, client_id="c", lease=True)
    clock.now += LEASE_SECONDS / 2
    assert spender.spent_locally("client:c", COST) is not None
    clock.now += LEASE_SECONDS  # points are left, but no longer spendable
    assert spender.spent_locally("client:c", COST) is None


async def test_a_budget_near_its_end_leases_nothing(database: Database) -> None:
    spender = limiter(database)
    # 500 points would be left: less than a lease, so none is cut and each spend is exact.
    assert (await spender.spend("client:d", CAPACITY - 500, client_id="d", lease=True)).allowed
    points, leased = await bucket(database, "client:d")
    assert leased == 0 and 500 <= points < 520
    assert spender.spent_locally("client:d", COST) is None


async def test_a_bucket_under_its_reserve_leases_nothing(database: Database) -> None:
    """A lease is cut only while the bucket keeps half its capacity after it: a client
    halfway through its budget spends exactly, so no other process is refused while this
    one holds points it may never spend."""
    spender = limiter(database)
    # 8,000 left, then 7,900 after the next cost: cutting a lease would leave 6,900.
    assert (await spender.spend("client:g", CAPACITY // 2, client_id="g", lease=True)).allowed
    assert await bucket(database, "client:g") == (CAPACITY // 2, 0)
    assert (await spender.spend("client:g", COST, client_id="g", lease=True)).allowed
    _points, leased = await bucket(database, "client:g")  # the points regain meanwhile
    assert leased == 0
    assert spender.spent_locally("client:g", COST) is None


async def test_one_spend_at_a_time_asks_for_a_clients_lease(database: Database) -> None:
    spender = limiter(database)
    asking = spender.rider("client:e", COST, client_id="e", lease=True)
    other = spender.rider("client:e", COST, client_id="e", lease=True)
    assert asking.arguments[-1] == LEASE and other.arguments[-1] == 0


async def test_two_processes_leasing_never_exceed_the_bucket(database: Database) -> None:
    """Two limiters (two processes) spend one client's bucket until it refuses: what they
    allowed in all is at most the bucket plus its refill over the run and one lease span,
    and at least the bucket less the leases they could have left unspent."""
    processes = [limiter(database), limiter(database)]
    allowed = 0
    refused = False
    started = time.monotonic()
    for turn in range(2_000):
        process = processes[turn % 2]
        decision = process.spent_locally("client:f", COST) or await process.spend(
            "client:f", COST, client_id="f", lease=True
        )
        if not decision.allowed:
            refused = True
            break
        allowed += COST
    elapsed = time.monotonic() - started
    assert refused
    assert allowed <= CAPACITY + RATE * (elapsed + LEASE_SECONDS)
    # Each process leaves unspent at most one lease per LEASE_SECONDS (expired) and the one
    # it holds at the end: a run slowed by a busy machine drops more.
    assert allowed >= CAPACITY - 2 * LEASE * (1 + elapsed / LEASE_SECONDS)
