"""The rate limit's spend riding on a read's first statement (``core.db.driver_session.Rider``,
``PostgresLimiter.rider``), as the compiled lane sends it: one statement that spends and,
only when the budget allows, reads, with the read's rows as they would come alone.

These run the rider and the statements it rides on against a real database; the lane's own
tests (tests/catalog/test_compiled_lane.py) run it through HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Integer, bindparam, column, text

from core.db.database import Database
from core.db.driver_session import DriverSession, DriverStatements, Rider, RiderStopped
from gateway.rate_limit import PostgresLimiter
from tests.support.databases import DatabaseFactory

NUMBERS = text(
    "SELECT n, n * :factor AS scaled FROM generate_series(1, :upto) AS n ORDER BY n DESC"
).columns(column("n", Integer), column("scaled", Integer))
# One row whatever the input, every column NULL when there is nothing to aggregate.
AGGREGATE = text("SELECT max(n) AS top FROM generate_series(1, :upto) AS n").columns(
    column("top", Integer)
)
# Fails the moment it is executed (on a row: not when the planner folds constants), and is
# a page's shape (ORDER BY, LIMIT), which the planner would otherwise run under a join filter.
FAILING = (
    text("SELECT 1 / (n - n) AS boom FROM generate_series(1, :upto) AS n ORDER BY n LIMIT 2")
    .bindparams(bindparam("upto", type_=Integer))
    .columns(column("boom", Integer))
)


@pytest.fixture
async def database(databases: DatabaseFactory) -> AsyncIterator[Database]:
    database = Database.connect(await databases.seeded("rider"), pool_size=1)
    try:
        yield database
    finally:
        await database.dispose()


def limiter(database: Database, capacity: int = 100) -> PostgresLimiter:
    return PostgresLimiter(database, capacity=capacity, rate=1)


async def ride(
    database: Database, spender: PostgresLimiter, cost: int, statement: Any, **values: Any
) -> tuple[Rider, DriverSession, list[Any]]:
    statements = DriverStatements(database.engine.dialect)
    rider = spender.rider("client:rider", cost, client_id="rider")
    async with database.driver_connection() as connection:
        session = DriverSession(connection, statements, rider)
        rows = (await session.execute_core(statement, values)).all()
        # Only the first statement carries the rider: the next one is sent alone.
        assert session.rider is None
        again = (await session.execute_core(NUMBERS, {"factor": 1, "upto": 2})).all()
        assert [tuple(row) for row in again] == [(2, 2), (1, 1)]
    return rider, session, [tuple(row) for row in rows]


async def test_the_read_gives_its_rows_in_order_and_the_budget_is_spent_once(
    database: Database,
) -> None:
    spender = limiter(database)
    rider, session, rows = await ride(database, spender, 30, NUMBERS, factor=10, upto=4)
    assert rows == [(4, 40), (3, 30), (2, 20), (1, 10)]
    assert session.rider_row is not None
    decision = spender.decided(rider, session.rider_row)
    assert decision.allowed and 69 <= decision.remaining <= 70
    _, _, rows = await ride(database, spender, 30, NUMBERS, factor=1, upto=1)
    assert rows == [(1, 1)]
    # The second read spent its own 30 points, no more (a point may have been regained).
    alone = await spender.spend("client:rider", 0)
    assert 39 <= alone.remaining <= 41


async def test_an_empty_result_is_empty_and_a_row_of_nulls_is_a_row(database: Database) -> None:
    spender = limiter(database)
    _, _, rows = await ride(database, spender, 1, NUMBERS, factor=1, upto=0)
    assert rows == []
    _, _, rows = await ride(database, spender, 1, AGGREGATE, upto=0)
    assert rows == [(None,)]


async def test_a_refused_spend_reads_nothing_and_says_why(database: Database) -> None:
    """The statement the rider stops would fail if it ran: it does not run."""
    spender = limiter(database, capacity=10)
    statements = DriverStatements(database.engine.dialect)
    rider = spender.rider("client:r", 11, client_id="r")
    async with database.driver_connection() as connection:
        session = DriverSession(connection, statements, rider)
        with pytest.raises(RiderStopped) as stopped:
            await session.execute_core(FAILING, {"upto": 3})
    decision = spender.decided(rider, stopped.value.row)
    assert not decision.allowed and decision.retry_after >= 1
    assert decision.remaining == 10  # nothing was taken


async def test_a_read_that_fails_spends_nothing(database: Database) -> None:
    """One statement: the read's failure rolls the spend back with it."""
    spender = limiter(database)
    statements = DriverStatements(database.engine.dialect)
    async with database.driver_connection() as connection:
        session = DriverSession(
            connection, statements, spender.rider("client:f", 40, client_id="f")
        )
        with pytest.raises(Exception, match="division by zero"):
            await session.execute_core(FAILING, {"upto": 3})
        assert session.rider_row is None
    assert (await spender.spend("client:f", 0)).remaining == 100


async def test_expanding_parameters_are_numbered_before_the_riders(database: Database) -> None:
    listed = text("SELECT n FROM generate_series(1, 9) AS n WHERE n IN :wanted ORDER BY n")
    listed = listed.bindparams(bindparam("wanted", expanding=True)).columns(column("n", Integer))
    _, _, rows = await ride(database, limiter(database), 5, listed, wanted=[2, 3, 7])
    assert rows == [(2,), (3,), (7,)]
