"""Building the demo programme into an empty, migrated database, in one transaction."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TextIO

import asyncpg

from gateway.seed import tables
from gateway.seed.catalog import add_catalog
from gateway.seed.disbursements import add_disbursements
from gateway.seed.full import FullInputs, FullScale, Progress, load_full, set_figures_triggers
from gateway.seed.loader import Loader, RowBuffer
from gateway.seed.partners import add_partners
from gateway.seed.programme import add_geography, add_schemes_and_waves
from gateway.seed.registrants import Registrants

CHUNK: Final = 25_000  # participants generated and copied at a time
# Serialises two seeds started against the same database.
_ADVISORY_LOCK: Final = 0x5EED_2020


@dataclass(frozen=True)
class SeedReport:
    counts: dict[str, int]  # table name -> rows inserted
    seconds: float


def _dsn(url: str) -> str:
    """asyncpg takes ``postgresql://`` URLs (with ``?host=/socket/dir``) but no driver suffix."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


async def _is_empty(connection: Any) -> bool:
    return bool(
        await connection.fetchval(
            "SELECT NOT EXISTS (SELECT 1 FROM partners) AND NOT EXISTS (SELECT 1 FROM participants)"
        )
    )


async def database_is_empty(url: str) -> bool:
    """True when no partners and no participants exist (the seed has not run)."""
    connection = await asyncpg.connect(_dsn(url))
    try:
        return await _is_empty(connection)
    finally:
        await connection.close()


async def seed_database(
    url: str,
    *,
    participants: int = 10_000,
    random_seed: int = 2020,
    master_key: bytes = b"demo-master-key",
    on_progress: Callable[[int], None] | None = None,
) -> SeedReport:
    """Builds the demo programme; the same arguments always give the same rows.

    Raises ``RuntimeError`` when the database already holds partners or participants.
    """
    if participants < 0:
        raise ValueError("participants must not be negative")
    started = time.perf_counter()
    connection = await asyncpg.connect(_dsn(url))
    try:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _ADVISORY_LOCK)
            if not await _is_empty(connection):
                raise RuntimeError("the database already holds partners or participants")
            loader = Loader(connection, tables.ALL_TABLES)
            await set_figures_triggers(connection, enabled=False)
            await _seed(
                loader,
                connection,
                random.Random(random_seed),
                participants,
                master_key,
                on_progress or (lambda done: None),
            )
            await set_figures_triggers(connection, enabled=True)
            await loader.advance_id_sequences(tables.ALL_TABLES)
        # Fresh statistics, so the first queries after a large seed get sensible plans.
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return SeedReport(counts=dict(loader.counts), seconds=time.perf_counter() - started)


async def _seed(
    loader: Loader,
    connection: Any,
    rng: random.Random,
    participants: int,
    master_key: bytes,
    on_progress: Callable[[int], None],
) -> None:
    buffer = RowBuffer(tables.ALL_TABLES)
    regencies = add_geography(buffer)
    waves = add_schemes_and_waves(buffer)
    partners = add_partners(rng, buffer, regencies)
    catalog = add_catalog(rng, buffer, partners, regencies)
    await buffer.flush(loader)

    registrants = Registrants(rng, participants, master_key, regencies, waves, partners, catalog)
    await _copy_registrants(loader, registrants, on_progress)

    # Seats sold above were counted in memory; the schedules were written before the sales.
    await connection.execute(
        "UPDATE schedules AS s SET remaining = v.remaining "
        "FROM unnest($1::bigint[], $2::integer[]) AS v(id, remaining) "
        "WHERE s.id = v.id AND s.remaining <> v.remaining",
        [slot.id for slot in catalog.slots],
        [slot.remaining for slot in catalog.slots],
    )
    add_disbursements(rng, buffer, partners, registrants.journeys.paid)
    await buffer.flush(loader)


async def _copy_registrants(
    loader: Loader, registrants: Registrants, on_progress: Callable[[int], None]
) -> None:
    """Makes and copies the participants chunk by chunk.

    The next chunk is made in a worker thread while the previous one is being copied, so
    Python and PostgreSQL work at the same time. Chunks are still made one at a time and in
    order, so the random stream, and every row, is the same as without the overlap.
    """
    count = registrants.count
    bounds = [(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]
    making: asyncio.Future[RowBuffer] | None = None
    try:
        for position, (start, stop) in enumerate(bounds):
            chunk = await making if making is not None else registrants.chunk(start, stop)
            making = None
            if position + 1 < len(bounds):
                making = asyncio.ensure_future(
                    asyncio.to_thread(registrants.chunk, *bounds[position + 1])
                )
            await chunk.flush(loader)
            on_progress(stop - start)
    finally:
        if making is not None:  # a copy failed: let the worker finish before unwinding
            await asyncio.gather(making, return_exceptions=True)


async def seed_full_database(
    url: str,
    *,
    fraction: float = 1.0,
    random_seed: int = 2020,
    master_key: bytes = b"demo-master-key",
    stream: TextIO | None = None,
) -> SeedReport:
    """The programme at the seed's full scale (or a fraction of it), generated in PostgreSQL
    (``gateway/seed/full.py``); partners and catalog are the demo's. One transaction."""
    scale = FullScale.at(fraction)
    started = time.perf_counter()
    progress = Progress(total=66, stream=stream)
    connection = await asyncpg.connect(_dsn(url))
    try:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _ADVISORY_LOCK)
            if not await _is_empty(connection):
                raise RuntimeError("the database already holds partners or participants")
            loader = Loader(connection, tables.ALL_TABLES)
            buffer = RowBuffer(tables.ALL_TABLES)
            rng = random.Random(random_seed)
            regencies = add_geography(buffer)
            waves = add_schemes_and_waves(buffer)
            partners = add_partners(rng, buffer, regencies)
            add_catalog(rng, buffer, partners, regencies)
            await buffer.flush(loader)
            progress.step("partners and catalog", 1)
            counts = await load_full(
                connection,
                scale,
                FullInputs(regencies, waves, partners, master_key),
                progress.step,
            )
            await loader.advance_id_sequences(tables.ALL_TABLES)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return SeedReport(counts={**loader.counts, **counts}, seconds=time.perf_counter() - started)
