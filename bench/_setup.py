"""Shared set-up for the identity benchmarks: a throw-away client on a seeded database."""

from __future__ import annotations

import os
from pathlib import Path

from auth.admin import IssuedCredentials, create_client, disable_client
from auth.audit import Origin
from core.db.database import Database

ORIGIN = Origin(operator="bench")


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def database_url() -> str:
    url = os.environ.get("PRAKERJA_DATABASE_URL")
    if not url:
        raise SystemExit("set PRAKERJA_DATABASE_URL to a migrated, seeded database")
    return url


async def bench_client(url: str, master_key: bytes, partner: str = "DP-001") -> IssuedCredentials:
    database = Database.connect(url, pool_size=1)
    try:
        async with database.sessionmaker() as session:
            credentials = await create_client(
                session,
                ORIGIN,
                partner_code=partner,
                scopes=["catalog:read"],
                master_key=master_key,
                name="bench",
            )
            await session.commit()
    finally:
        await database.dispose()
    return credentials


async def retire_client(url: str, client_id: str) -> None:
    database = Database.connect(url, pool_size=1)
    try:
        async with database.sessionmaker() as session:
            await disable_client(session, ORIGIN, client_id)
            await session.commit()
    finally:
        await database.dispose()
