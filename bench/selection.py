"""A wave's selection at scale: 500,000 drawn among 5,000,000 registrants (target: 60 s).

The population lives in a database of its own on the server of ``PRAKERJA_BENCH_SERVER_URL``
(a maintenance database URL such as ``postgresql://postgres@127.0.0.1:5432/postgres``):
migrated, seeded with the small demo programme (geography, schemes, partners), and then
filled with registrants by ``INSERT ... SELECT generate_series``, every column a function of
the row number (5% offline, 3% with a disability, family cards of 1, 2 and 3 registrants),
vacuumed and analysed. ``--database NAME`` keeps it between runs (it is made only when
missing); without it a scratch one is made and dropped.

Each run copies the population (``CREATE DATABASE ... TEMPLATE``) so every run draws from
the same untouched registrants, starts one gateway worker (``prakerja-gateway serve``) on
the copy, opens a wave through GraphQL as programme management (``program:admin``) and times
``runSelection`` as a client sees it, with the CPU time the worker and the database backends
spent on it. ``--via resolver`` calls the resolver in this process instead. The copy is
dropped at the end unless ``--keep-run`` (to look at its plans afterwards).

    PRAKERJA_BENCH_SERVER_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.selection --database prakerja_selection_5m \\
        [--registrants 5000000] [--quota 500000] [--port 19600]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from core.audit import Actor
from core.db import migrate
from core.db.database import Database
from core.db.urls import with_database
from core.enums import PartnerType
from core.principal import Principal

# Family cards: in every block of ten row numbers, three people alone on their card, a card
# of two and a card of three (two of its three can become recipients) and one of two more.
POPULATION = """
INSERT INTO participants (id, card_number, nik_hash, nik_masked, full_name, birth_date,
                          education, regency_id, wave_id, training_balance, status,
                          first_purchase_deadline, registration_channel,
                          registered_by_partner_id, phone_masked, created_at, sex, kk_hash,
                          disabilities)
SELECT n, NULL, sha256(int8send(n)), '110101********' || lpad((n % 100)::text, 2, '0'),
       'Bench ' || n, date '1990-01-01' - (n % 12000)::int, 'SMA',
       1 + (n % 514), NULL, 0, 'REGISTERED', NULL,
       CASE WHEN n % 20 = 0 THEN 'OFFLINE' ELSE 'ONLINE' END,
       CASE WHEN n % 20 = 0 THEN office.id END,
       CASE WHEN n % 20 = 0 AND n % 40 <> 0 THEN NULL
            ELSE '0812****' || lpad((n % 10000)::text, 4, '0') END,
       timestamptz '2026-01-01' + make_interval(secs => n % 86400),
       CASE WHEN n % 2 = 0 THEN 'FEMALE' ELSE 'MALE' END,
       sha256(int8send((n / 10) * 6 + (ARRAY[0, 1, 2, 3, 3, 4, 4, 4, 5, 5])[n % 10 + 1])),
       CASE WHEN n % 33 = 0 THEN ARRAY['PHYSICAL'] ELSE '{}'::text[] END
  FROM generate_series($1::bigint, $2::bigint) AS n
  LEFT JOIN LATERAL (SELECT id FROM partners WHERE regency_id = 1 + (n % 514)
                      ORDER BY id LIMIT 1) office ON n % 20 = 0
"""
OFFSET = 10_000_000  # above any seeded id

OPEN_WAVE = """
mutation Open($input: OpenWaveInput!) { openWave(input: $input) { number selectionSeed } }
"""
RUN_SELECTION = """
mutation Run($wave: Int!) {
  runSelection(wave: $wave) {
    considered selected familyCardLimited
    pools { pool reserved selected }
  }
}
"""


async def populate(server: str, name: str, registrants: int) -> None:
    """Makes the population database ``name`` unless it already holds ``registrants``."""
    admin = await asyncpg.connect(server)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(server, name)
    if exists:
        # A population made by older code was laid out by its migrations (migration 0024
        # keeps pages 15% free as they are written): measure on one made at head.
        if await asyncio.to_thread(migrate.pending_revisions, url):
            raise SystemExit(f"{name} predates the latest migration: drop it to remake it")
        connection = await asyncpg.connect(url)
        try:
            have = await connection.fetchval(
                "SELECT count(*) FROM participants WHERE id >= $1", OFFSET
            )
        finally:
            await connection.close()
        if have == registrants:
            print(f"population {name}: {have:,} registrants, reused")
            return
        raise SystemExit(f"{name} holds {have:,} bench registrants, not {registrants:,}")
    await asyncio.to_thread(migrate.upgrade, url)
    from gateway.seed import seed_database

    await seed_database(url, participants=0)
    connection = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        step = 1_000_000
        for first in range(OFFSET, OFFSET + registrants, step):
            last = min(first + step, OFFSET + registrants) - 1
            await connection.execute(POPULATION, first, last)
            print(f"  registrants: {last - OFFSET + 1:,}", flush=True)
        # Hint bits set and the visibility map complete, as on a database that has lived.
        await connection.execute("VACUUM (FREEZE, ANALYZE) participants")
        print(f"population of {registrants:,}: {time.perf_counter() - started:.1f} s")
    finally:
        await connection.close()


async def backend_pids(server: str, name: str) -> list[int]:
    admin = await asyncpg.connect(server)
    try:
        rows = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()
    return [row["pid"] for row in rows]


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[pid] = times.user + times.system
    return seconds


def serve_command() -> list[str]:
    script = Path(sys.executable).with_name("prakerja-gateway")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "gateway.cli", "serve"]


async def via_graphql(
    server: str, name: str, port: int, quota: int, disability: float, offline: float
) -> None:
    from auth.admin import create_client
    from bench._setup import ORIGIN

    url = with_database(server, name)
    master_key = secrets.token_urlsafe(32)
    database = Database.connect(url, pool_size=1)
    async with database.sessionmaker() as session:
        credentials = await create_client(
            session,
            ORIGIN,
            partner_code="PMO",
            scopes=["program:admin"],
            name="bench",
            master_key=master_key.encode(),
        )
        await session.commit()
    await database.dispose()
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("PRAKERJA_")}
    env = {
        **inherited,
        "PRAKERJA_DATABASE_URL": url,
        "PRAKERJA_HOST": "127.0.0.1",
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PRAKERJA_LOG_LEVEL": "WARNING",
        "PRAKERJA_MASTER_KEY": master_key,
        "PRAKERJA_DB_POOL_SIZE": "2",  # one request at a time: the server is shared
    }
    # The command is this interpreter's own gateway script: no outside input.
    worker = subprocess.Popen(serve_command(), env=env)  # noqa: S603, ASYNC220
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=httpx.Timeout(600)
        ) as http:
            deadline = time.monotonic() + 60
            while True:
                if worker.poll() is not None:
                    raise SystemExit(f"the worker exited with status {worker.returncode}")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the worker did not come up within 60 s")
                await asyncio.sleep(0.2)
            reply = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": "program:admin"},
                auth=(credentials.client_id, credentials.client_secret or ""),
            )
            reply.raise_for_status()
            headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}
            now = datetime.now(UTC)

            async def call(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                answer = await http.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=headers
                )
                body: dict[str, Any] = answer.json()
                if body.get("errors"):
                    raise SystemExit(f"GraphQL errors: {body['errors']}")
                return body["data"]

            opened = await call(
                OPEN_WAVE,
                {
                    "input": {
                        "scheme": "2023",
                        "quota": quota,
                        "opensAt": now.isoformat(),
                        "closesAt": (now + timedelta(days=4)).isoformat(),
                        "reservedDisabilityShare": disability,
                        "reservedOfflineShare": offline,
                    }
                },
            )
            wave = opened["openWave"]["number"]
            pids = await backend_pids(server, name)
            before = cpu_seconds([worker.pid, *pids])
            load = os.getloadavg()
            started = time.perf_counter()
            result = (await call(RUN_SELECTION, {"wave": wave}))["runSelection"]
            seconds = time.perf_counter() - started
            after = cpu_seconds([worker.pid, *pids])
            load_after = os.getloadavg()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    worker_cpu = after.get(worker.pid, 0) - before.get(worker.pid, 0)
    backends_cpu = sum(after[pid] - before[pid] for pid in pids if pid in after and pid in before)
    print(
        f"runSelection: {result['selected']:,} of {result['considered']:,} considered "
        f"({result['familyCardLimited']:,} held back by the family card limit) in "
        f"{seconds:.1f} s wall, committed; CPU: worker {worker_cpu:.1f} s, "
        f"PostgreSQL backends {backends_cpu:.1f} s; load average {load[0]:.2f} before, "
        f"{load_after[0]:.2f} after"
    )
    for pool in result["pools"]:
        print(f"  {pool['pool']}: {pool['selected']:,} of {pool['reserved']:,} reserved")


async def via_resolver(
    server: str, name: str, quota: int, disability: float, offline: float
) -> None:
    """The resolver in this process, each of its statements timed: wall and the backend's CPU
    (the resolver's module-level ``execute_core`` is wrapped for the run)."""
    from sqlalchemy import text

    from resolvers import events
    from resolvers.registration import waves

    database = Database.connect(with_database(server, name), pool_size=1)
    principal = Principal(
        client_id="bench",
        partner_id=1,
        partner_type=PartnerType.PROGRAM_MANAGEMENT,
        scopes=frozenset({"program:admin"}),
        token_id="bench",  # noqa: S106 - an id, not a secret
    )
    actor = Actor(principal=principal, request_id="bench")
    now = datetime.now(UTC)
    async with database.sessionmaker() as session:
        wave = await waves.open_wave(
            session,
            actor,
            scheme_code="2023",
            quota=quota,
            reserved_disability_share=disability,
            reserved_offline_share=offline,
            opens_at=now,
            closes_at=now + timedelta(days=4),
        )
        await session.commit()
    statements: list[tuple[float, float, str]] = []
    async with database.sessionmaker() as session:
        backend = psutil.Process((await session.execute(text("SELECT pg_backend_pid()"))).scalar())

        def cpu() -> float:
            times = backend.cpu_times()
            return float(times.user + times.system)

        plain = waves.execute_core

        async def timed(session: Any, statement: Any, parameters: Any = None) -> Any:
            wall, used = time.perf_counter(), cpu()
            result = await plain(session, statement, parameters)
            words = " ".join(str(statement).split())[:60]
            statements.append((time.perf_counter() - wall, cpu() - used, words))
            return result

        waves.execute_core = timed  # type: ignore[assignment]
        events.execute_core = timed  # type: ignore[assignment]
        load = os.getloadavg()[0]
        started, used = time.perf_counter(), cpu()
        result = await waves.run_selection(
            session, actor, wave_number=wave.number, quota=None, now=now
        )
        await session.commit()
        seconds, spent = time.perf_counter() - started, cpu() - used
        waves.execute_core = plain  # type: ignore[assignment]
        events.execute_core = plain  # type: ignore[assignment]
    await database.dispose()
    print(
        f"run_selection: {result.selected:,} of {result.considered:,} considered "
        f"({result.family_card_limited:,} held back by the family card limit) "
        f"in {seconds:.1f} s wall, committed; backend CPU {spent:.1f} s; load average "
        f"{load:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    for wall, used, words in statements:
        if wall >= 0.05:
            print(f"  {wall:7.1f} s wall {used:6.1f} s CPU  {words}")


async def main(arguments: argparse.Namespace) -> None:
    server = os.environ.get("PRAKERJA_BENCH_SERVER_URL")
    if not server:
        raise SystemExit("set PRAKERJA_BENCH_SERVER_URL to a maintenance database URL")
    population = arguments.database or f"prakerja_bench_selection_{uuid.uuid4().hex[:8]}"
    run = f"{population}_run"
    admin = await asyncpg.connect(server)
    try:
        await populate(server, population, arguments.registrants)
        await admin.execute(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
        started = time.perf_counter()
        await admin.execute(f'CREATE DATABASE "{run}" TEMPLATE "{population}"')
        print(f"copied the population in {time.perf_counter() - started:.1f} s")
        shares = (arguments.disability_share, arguments.offline_share)
        if arguments.via == "graphql":
            await via_graphql(server, run, arguments.port, arguments.quota, *shares)
        else:
            await via_resolver(server, run, arguments.quota, *shares)
    finally:
        if not arguments.keep_run:
            await admin.execute(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
        if arguments.database is None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{population}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="keep the population in this database")
    parser.add_argument("--registrants", type=int, default=5_000_000)
    parser.add_argument("--quota", type=int, default=500_000)
    parser.add_argument("--disability-share", type=float, default=0.03)
    parser.add_argument("--offline-share", type=float, default=0.05)
    parser.add_argument("--via", choices=("graphql", "resolver"), default="graphql")
    parser.add_argument("--port", type=int, default=19600)
    parser.add_argument("--keep-run", action="store_true", help="keep the drawn copy")
    asyncio.run(main(parser.parse_args()))
