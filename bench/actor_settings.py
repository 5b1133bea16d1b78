"""What the row-level security settings cost per transaction: CPU of this process (the
gateway's side) and of the PostgreSQL backend, with and without ``bind_actor``.

Every transaction a partner's request opens starts with one ``SELECT set_config(...)`` of
three settings (``core/db/actor.py``). This runs ``--transactions`` transactions of one
short read (``SELECT 1``, the cheapest statement, so the difference shows) through the
gateway's own session class, as ``prakerja_app`` on a migrated database, first unbound then
bound to a platform, alternating rounds, and prints the CPU per transaction of each side.

    .venv/bin/python -m bench.actor_settings \\
        --database-url postgresql://postgres@127.0.0.1:5432/<a migrated database> \\
        [--transactions 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable, Coroutine
from typing import Any

import psutil
from sqlalchemy import text

from core.db.actor import APP_ROLE, ActingFor, ActorKind, bind_actor
from core.db.database import Database
from core.db.urls import as_role

PLATFORM = ActingFor(ActorKind.PLATFORM, partner_id=1)


async def _round(
    database: Database, backend: psutil.Process, count: int, bound: bool
) -> tuple[float, float]:
    me = psutil.Process()
    mine, theirs = sum(me.cpu_times()[:2]), sum(backend.cpu_times()[:2])
    for _ in range(count):
        async with database.sessionmaker() as session:
            if bound:
                bind_actor(session, PLATFORM)
            await session.execute(text("SELECT 1"))
            await session.commit()
    return (
        (sum(me.cpu_times()[:2]) - mine) / count * 1e6,
        (sum(backend.cpu_times()[:2]) - theirs) / count * 1e6,
    )


async def run(url: str, transactions: int, rounds: int) -> None:
    database = Database.connect(as_role(url, APP_ROLE), pool_size=1)
    try:
        async with database.engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        backend = psutil.Process(pid)
        results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        started = time.monotonic()
        for _ in range(rounds):
            for bound in (False, True):
                results[bound].append(await _round(database, backend, transactions, bound))
        wall = time.monotonic() - started
    finally:
        await database.dispose()
    for bound, samples in results.items():
        label = "with set_config" if bound else "without       "
        gateway = ", ".join(f"{g:.0f}" for g, _ in samples)
        server = ", ".join(f"{s:.0f}" for _, s in samples)
        print(f"{label}: gateway {gateway} µs/transaction; PostgreSQL backend {server} µs")
    extra_gateway = min(g for g, _ in results[True]) - min(g for g, _ in results[False])
    extra_server = min(s for _, s in results[True]) - min(s for _, s in results[False])
    print(
        f"extra per transaction (best rounds): gateway {extra_gateway:.0f} µs, "
        f"PostgreSQL {extra_server:.0f} µs; {rounds * 2 * transactions} transactions in "
        f"{wall:.1f} s; load average {os.getloadavg()[0]:.2f}"
    )


def run_rounds(description: str, run: Callable[[str, int, int], Coroutine[Any, Any, None]]) -> None:
    """The command line of a benchmark of rounds of transactions on a migrated database."""
    parser = argparse.ArgumentParser(description=description.split("\n", 1)[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--transactions", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.transactions, args.rounds))


def main() -> None:
    run_rounds(__doc__, run)


if __name__ == "__main__":
    main()
