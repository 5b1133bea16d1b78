"""Fuzzing: random documents from the introspected schema, as every partner type.

Makes a fresh database on the server (``--server-url``, default
``$PRAKERJA_TEST_DATABASE_URL`` or the local PostgreSQL), migrates and seeds it, runs the
gateway in this process (no network), and sends ``--count`` documents per partner type
(queries and mutations, custom scalars included; see tests/fuzz/fuzzer.py). Prints, per
type, the 5xx answers, non-JSON answers, INTERNAL_ERRORs and errors the gateway logged,
then drops the database.

    .venv/bin/python -m bench.fuzz --count 10000
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
import uuid

import asyncpg
import httpx

from auth.admin import create_client
from auth.audit import Origin
from auth.scopes import allowed_scopes
from core.db import migrate
from core.db.database import Database
from core.db.urls import with_database
from core.enums import PartnerType
from core.settings import Settings
from gateway.app import create_app
from gateway.seed import seed_database
from tests.fuzz import fuzzer
from tests.fuzz.schema_model import INTROSPECTION_QUERY, client_schema

PARTNERS = {
    PartnerType.PLATFORM: "DP-001",
    PartnerType.TRAINING_PROVIDER: "LP-0001",
    PartnerType.PAYMENT_PARTNER: "PP-001",
    PartnerType.REGIONAL_OFFICE: "DISNAKER-1101",
    PartnerType.PROGRAM_MANAGEMENT: "PMO",
}


async def main(server_url: str, count: int) -> None:
    name = f"prakerja_fuzz_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    database = Database.connect(url, pool_size=4)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        await seed_database(url, participants=2_000)
        settings = Settings(
            database_url=url,
            master_key="fuzz-master-key",
            rate_limit_points=10_000_000,
            rate_limit_points_per_second=1_000_000,
        )
        app = create_app(settings, database=database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            headers = {}
            for partner_type, code in PARTNERS.items():
                async with database.sessionmaker() as session:
                    issued = await create_client(
                        session,
                        Origin(operator="fuzz"),
                        partner_code=code,
                        scopes=[s.value for s in allowed_scopes(partner_type)],
                        master_key=settings.resolved_master_key(),
                    )
                    await session.commit()
                assert issued.client_secret is not None
                token = await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(issued.client_id, issued.client_secret),
                )
                headers[partner_type] = {"Authorization": f"Bearer {token.json()['access_token']}"}
            introspection = await http.post(
                "/graphql",
                json={"query": INTROSPECTION_QUERY},
                headers=headers[PartnerType.PROGRAM_MANAGEMENT],
            )
            schema = client_schema(introspection.json()["data"])
            for index, partner_type in enumerate(PARTNERS):
                started = time.perf_counter()
                counts = await fuzzer.run(
                    http, schema, headers[partner_type], count=count, seed=1000 + index
                )
                print(
                    f"{partner_type.value}: {counts.documents} documents in "
                    f"{time.perf_counter() - started:.0f} s; 5xx {counts.server_errors}, "
                    f"non-JSON {counts.not_json}, INTERNAL_ERROR {counts.internal_errors}, "
                    f"logged errors {counts.logged_errors}; statuses {dict(counts.statuses)}"
                )
                print("   codes:", dict(counts.codes.most_common(12)))
                for example in counts.examples:
                    print("   example:", example)
    finally:
        await database.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "PRAKERJA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--count", type=int, default=10_000)
    arguments = parser.parse_args()
    # Errors the gateway logs are counted (tests/fuzz/fuzzer.py), not printed.
    logging.basicConfig(level=logging.ERROR, handlers=[logging.NullHandler()])
    if os.environ.get("FUZZ_DEBUG"):
        logging.getLogger().addHandler(logging.StreamHandler())
    asyncio.run(main(arguments.server_url, arguments.count))
