"""Pooled connections that ``Database.driver_connection`` keeps between its blocks (the
compiled lane's, the token endpoint's): kept only after a clean block, never more than half
the pool, and one that PostgreSQL closed is replaced after the block that found it broken.
Against a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from prometheus_client import REGISTRY

from core.db.database import Database
from gateway.metrics import instrument_pool
from tests.support.databases import DatabaseFactory

POOL = 4
# How asyncpg reports a connection its server closed, depending on when it notices.
BROKEN = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    ConnectionError,
)


@pytest.fixture
async def database(databases: DatabaseFactory) -> AsyncIterator[Database]:
    database = Database.connect(await databases.create("held"), pool_size=POOL)
    try:
        yield database
    finally:
        await database.dispose()


async def backend(database: Database) -> int:
    async with database.driver_connection() as connection:
        pid: int = await connection.fetchval("SELECT pg_backend_pid()")
    return pid


async def test_a_clean_block_leaves_its_connection_for_the_next(database: Database) -> None:
    first = await backend(database)
    assert await backend(database) == first
    assert database.engine.pool.checkedout() == 1  # kept, so checked out to the pool


async def test_no_more_than_half_the_pool_is_kept(database: Database) -> None:
    release = asyncio.Event()
    all_inside = asyncio.Event()
    inside: list[int] = []

    async def block() -> None:
        async with database.driver_connection() as connection:
            inside.append(await connection.fetchval("SELECT pg_backend_pid()"))
            if len(inside) == POOL:
                all_inside.set()
            await release.wait()

    blocks = [asyncio.create_task(block()) for _ in range(POOL)]
    async with asyncio.timeout(30):  # all of them hold a connection at once
        await all_inside.wait()
    release.set()
    await asyncio.gather(*blocks)
    assert len(set(inside)) == POOL
    assert database.engine.pool.checkedout() == POOL // 2
    # The ORM's sessions find the rest of the pool.
    async with database.sessionmaker() as session:
        assert (await session.connection()) is not None


async def test_a_block_that_fails_hands_its_connection_back(database: Database) -> None:
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with database.driver_connection() as connection:
            await connection.fetchval("SELECT 1 / 0")
    assert database.engine.pool.checkedout() == 0


async def test_a_kept_connection_postgres_closed_is_replaced(database: Database) -> None:
    kept = await backend(database)
    other = await asyncpg.connect(database.url)
    try:
        assert await other.fetchval("SELECT pg_terminate_backend($1)", kept)
    finally:
        await other.close()
    # A kept connection asyncpg saw closed is dropped when taken; one it has not seen closed
    # yet fails its block (as a pooled one without a ping would) and is not kept. Either
    # way, at most one block fails and the next has a live connection.
    try:
        assert await backend(database) != kept
    except BROKEN:
        assert await backend(database) != kept


async def test_disposing_closes_the_kept_connections(database: Database) -> None:
    kept = await backend(database)
    await database.dispose()
    probe = await asyncpg.connect(database.url)
    try:
        alive = await probe.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", kept)
    finally:
        await probe.close()
    assert alive == 0


def _pool_gauges() -> tuple[float, float]:
    in_use = REGISTRY.get_sample_value("prakerja_db_pool_in_use")
    kept = REGISTRY.get_sample_value("prakerja_db_pool_kept")
    assert in_use is not None and kept is not None
    return in_use, kept


async def test_the_metrics_count_a_kept_connection_as_idle_not_in_use(
    database: Database,
) -> None:
    instrument_pool(database)
    in_use, kept = _pool_gauges()
    async with database.driver_connection() as connection:
        await connection.fetchval("SELECT 1")
        assert _pool_gauges() == (in_use + 1, kept)  # at work
    # Checked out to the pool still, but idle: kept, not in use.
    assert database.engine.pool.checkedout() == 1
    assert _pool_gauges() == (in_use, kept + 1)
    async with database.driver_connection() as connection:  # the kept one, taken back
        await connection.fetchval("SELECT 1")
        assert _pool_gauges() == (in_use + 1, kept)
    await database.dispose()
    assert _pool_gauges() == (in_use, kept)
