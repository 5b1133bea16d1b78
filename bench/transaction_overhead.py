"""What a mutation's transaction costs the gateway around its own statements: the session's
way against the same round trips on the pooled connection's asyncpg connection.

A partner's mutation (``startPurchase``, ``authorizePurchase``) runs one or two statements of
its own, inside what the gateway does for every mutation request: a session and its
connection, ``BEGIN``, the row-level security settings (``core/db/actor.py``), a savepoint
for the field (``schema/transactions.py``), its release and ``COMMIT``. This runs
``--transactions`` such transactions with one ``SELECT 1`` as the mutation's work, as
``prakerja_app`` on a migrated database, in alternating rounds:

- session: the gateway's own sessionmaker, ``bind_actor``, ``begin_nested``, commit;
- driver: the same statements on ``Database.driver_connection()``: ``BEGIN``, the settings and
  ``SAVEPOINT`` as one simple-query message, the work as a prepared statement, ``RELEASE``
  and ``COMMIT`` as another;

and prints this process's and the PostgreSQL backend's CPU per transaction. Not the
gateway's code path for the second: a measurement of what owning the transaction on the
driver would save (see bench/README.md).

    .venv/bin/python -m bench.transaction_overhead \\
        --database-url postgresql://postgres@127.0.0.1:5432/<a migrated database> \\
        [--transactions 3000] [--rounds 3]
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

import psutil
from sqlalchemy import text

from bench.actor_settings import PLATFORM, run_rounds
from core.db.actor import APP_ROLE, bind_actor, transaction_opening_sql
from core.db.database import Database
from core.db.urls import as_role

# BEGIN with the settings bind_actor makes, for a platform, and the field's savepoint: the
# one simple-query message a DriverTransaction sends before its first statement.
_BEGIN = f"{transaction_opening_sql(PLATFORM, None)}; SAVEPOINT field"
_END = "RELEASE SAVEPOINT field; COMMIT"


async def _through_session(database: Database) -> None:
    async with database.sessionmaker() as session:
        bind_actor(session, PLATFORM)
        savepoint = await session.begin_nested()
        await session.execute(text("SELECT 1"))
        await savepoint.commit()
        await session.commit()


async def _through_driver(database: Database) -> None:
    async with database.driver_connection() as connection:
        await connection.execute(_BEGIN)
        await connection.fetch("SELECT 1")
        await connection.execute(_END)


async def _cpu_per(
    count: int, backend: psutil.Process, transaction: Callable[[], Awaitable[None]]
) -> tuple[float, float]:
    """Microseconds of CPU per transaction: (this process, the backend)."""
    me = psutil.Process()
    mine, theirs = sum(me.cpu_times()[:2]), sum(backend.cpu_times()[:2])
    for _ in range(count):
        await transaction()
    return (
        (sum(me.cpu_times()[:2]) - mine) / count * 1e6,
        (sum(backend.cpu_times()[:2]) - theirs) / count * 1e6,
    )


async def run(url: str, transactions: int, rounds: int) -> None:
    database = Database.connect(as_role(url, APP_ROLE), pool_size=1)
    ways = {"session": _through_session, "driver": _through_driver}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    try:
        async with database.driver_connection() as connection:
            backend = psutil.Process(await connection.fetchval("SELECT pg_backend_pid()"))
        for _ in range(rounds):
            for name, way in ways.items():
                results[name].append(
                    await _cpu_per(transactions, backend, lambda way=way: way(database))
                )
    finally:
        await database.dispose()
    for name, samples in results.items():
        gateway = ", ".join(f"{g:.0f}" for g, _ in samples)
        server = ", ".join(f"{s:.0f}" for _, s in samples)
        print(f"{name:8}: gateway {gateway} µs/transaction; PostgreSQL backend {server} µs")
    saved = min(g for g, _ in results["session"]) - min(g for g, _ in results["driver"])
    print(
        f"the session's way costs the gateway {saved:.0f} µs more per transaction (best "
        f"rounds); load average {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    run_rounds(__doc__, run)


if __name__ == "__main__":
    main()
