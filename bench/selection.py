"""A wave's selection at scale: 500,000 drawn among 5,000,000 registrants (target: 60 s).

Makes its own database on the server of ``PRAKERJA_BENCH_SERVER_URL`` (a maintenance
database URL such as ``postgresql://postgres@127.0.0.1:5432/postgres``), migrates it, seeds
the small demo programme (for geography, schemes and partners), adds the registrants with
``INSERT ... SELECT generate_series`` (deterministic: every column a function of the
row number: 5% offline, 3% with a disability, families of 1-4 on one card), opens a wave
and times ``run_selection`` (the resolver the GraphQL mutation calls), then drops it all.

    PRAKERJA_BENCH_SERVER_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.selection [--registrants 5000000] [--quota 500000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from core.audit import Actor
from core.db import migrate
from core.db.database import Database
from core.db.urls import with_database
from core.enums import PartnerType
from core.principal import Principal
from resolvers.registration import waves

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
       CASE WHEN n % 20 = 0 THEN (SELECT id FROM partners WHERE regency_id = 1 + (n % 514)
                                   LIMIT 1) END,
       NULL, timestamptz '2026-01-01' + make_interval(secs => n % 86400),
       CASE WHEN n % 2 = 0 THEN 'FEMALE' ELSE 'MALE' END,
       sha256(int8send(n / 3)),
       CASE WHEN n % 33 = 0 THEN ARRAY['PHYSICAL'] ELSE '{}'::text[] END
  FROM generate_series($1::bigint, $2::bigint) AS n
"""


async def main(registrants: int, quota: int) -> None:
    server = os.environ.get("PRAKERJA_BENCH_SERVER_URL")
    if not server:
        raise SystemExit("set PRAKERJA_BENCH_SERVER_URL to a maintenance database URL")
    name = f"prakerja_bench_selection_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        from gateway.seed import seed_database

        await seed_database(url, participants=0)
        connection = await asyncpg.connect(url)
        try:
            started = time.perf_counter()
            offset = 10_000_000  # above any seeded id
            step = 1_000_000
            for first in range(offset, offset + registrants, step):
                last = min(first + step, offset + registrants) - 1
                await connection.execute(POPULATION, first, last)
                print(f"  registrants: {last - offset + 1:,}", flush=True)
            await connection.execute("ANALYZE participants")
            print(f"population of {registrants:,}: {time.perf_counter() - started:.1f} s")
        finally:
            await connection.close()

        database = Database.connect(url, pool_size=1)
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
                reserved_disability_share=0.03,
                reserved_offline_share=0.05,
                opens_at=now,
                closes_at=now + timedelta(days=4),
            )
            await session.commit()
        async with database.sessionmaker() as session:
            started = time.perf_counter()
            result = await waves.run_selection(
                session, actor, wave_number=wave.number, quota=None, now=now
            )
            await session.commit()
            seconds = time.perf_counter() - started
        await database.dispose()
        print(
            f"selection: {result.selected:,} of {result.considered:,} considered "
            f"({result.family_card_limited:,} held back by the family card limit) "
            f"in {seconds:.1f} s, committed"
        )
        for pool in result.pools:
            print(f"  {pool.pool.value}: {pool.selected:,} of {pool.reserved:,} reserved")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrants", type=int, default=5_000_000)
    parser.add_argument("--quota", type=int, default=500_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.registrants, arguments.quota))
