"""What read-your-writes across gateway replicas costs, statement by statement.

    .venv/bin/python -m bench.read_your_writes [--iterations 3000] [--server-url URL]

On a database of its own (``prakerja_scaleout_ryw``, made and dropped here) holding only the
two tables involved, it runs, alternately and ``--iterations`` times each, what a gateway
process sends to the primary:

- after each mutation: before 0012 ``SELECT pg_current_wal_lsn()`` (then the session's
  rollback); now the upsert of ``client_write_positions`` and its commit
  (``core/db/routing.py``);
- for each request: the rate-limit spend (``gateway/rate_limit.py``), before without and now
  with the client's commit position read in the same statement.

It prints, per operation, the wall time, this process's CPU (SQLAlchemy, asyncpg) and the
PostgreSQL backend's CPU (psutil, the server on this machine). Compare the pairs; the
absolute figures are this machine's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import psutil
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.database import Database
from core.db.routing import _LSN, _RECORD_POSITION
from core.models import ClientWritePosition, RateLimitBucket
from gateway.rate_limit import _SPEND_SQL

DATABASE = "prakerja_scaleout_ryw"
CLIENTS = 200
# The spend statement as it was before migration 0012: the same, less the position (the
# client id is still returned, so that both take the same six parameters).
_SPEND_BEFORE = _SPEND_SQL.split("RETURNING")[0] + "RETURNING b.points, b.allowed, $5::text"


@dataclass
class Figure:
    label: str
    iterations: int
    wall: float
    client_cpu: float
    server_cpu: float

    def line(self) -> str:
        per = 1000 / self.iterations
        return (
            f"{self.label:58} wall {self.wall * per:6.3f} ms   client CPU "
            f"{self.client_cpu * per:6.3f} ms   PostgreSQL CPU {self.server_cpu * per:6.3f} ms"
        )


async def _backends_cpu(admin: asyncpg.Connection) -> float:
    pids = await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        DATABASE,
    )
    total = 0.0
    for row in pids:
        try:
            times = psutil.Process(row["pid"]).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


async def _timed(
    label: str,
    admin: asyncpg.Connection,
    iterations: int,
    once: Callable[[int], Awaitable[None]],
) -> Figure:
    for number in range(50):  # warm: statements prepared, rows present
        await once(number)
    server = await _backends_cpu(admin)
    client = time.process_time()
    wall = time.perf_counter()
    for number in range(iterations):
        await once(number)
    wall = time.perf_counter() - wall
    client = time.process_time() - client
    server = await _backends_cpu(admin) - server
    return Figure(label, iterations, wall, client, server)


async def run(server_url: str, iterations: int) -> list[Figure]:
    admin = await asyncpg.connect(server_url)
    await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
    await admin.execute(f"CREATE DATABASE {DATABASE}")
    url = make_url(server_url).set(database=DATABASE).render_as_string(hide_password=False)
    database = Database.connect(url, pool_size=1)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(
                lambda sync: RateLimitBucket.metadata.create_all(
                    sync, tables=[RateLimitBucket.__table__, ClientWritePosition.__table__]
                )
            )
        sessions: async_sessionmaker[AsyncSession] = database.sessionmaker

        async def lsn_select(number: int) -> None:
            async with sessions() as session:
                await session.execute(_LSN)

        async def record_position(number: int) -> None:
            async with sessions() as session:
                await session.execute(_RECORD_POSITION, {"client_id": f"c{number % CLIENTS}"})
                await session.commit()

        # The gateway sends its spend alone on a driver connection, without BEGIN and
        # COMMIT (gateway/rate_limit.py, PostgresLimiter.spend): so does this.
        driver = await asyncpg.connect(url)

        def spend(statement: str, with_client: bool) -> Callable[[int], Awaitable[None]]:
            async def once(number: int) -> None:
                client = f"c{number % CLIENTS}" if with_client else None
                await driver.fetchrow(
                    statement, f"client:c{number % CLIENTS}", 1.0, 1e9, 1.0, client, 0.0
                )

            return once

        figures = []
        for _ in range(2):  # alternately, twice: the machine's load moves
            figures += [
                await _timed(
                    "after a mutation, before: SELECT pg_current_wal_lsn()",
                    admin,
                    iterations,
                    lsn_select,
                ),
                await _timed(
                    "after a mutation, now: upsert client_write_positions",
                    admin,
                    iterations,
                    record_position,
                ),
                await _timed(
                    "each request, before: rate-limit spend",
                    admin,
                    iterations,
                    spend(_SPEND_BEFORE, False),
                ),
                await _timed(
                    "each request, now: spend + the client's position",
                    admin,
                    iterations,
                    spend(_SPEND_SQL, True),
                ),
            ]
        return figures
    finally:
        if "driver" in locals():
            await driver.close()
        await database.dispose()
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        await admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "PRAKERJA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    load = os.getloadavg()
    for figure in asyncio.run(run(args.server_url, args.iterations)):
        print(figure.line())
    print(f"load average before: {load[0]:.1f}, after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
