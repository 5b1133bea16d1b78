"""Building the programme into an empty, migrated database.

One mechanism at every size: geography, schemes, waves, partners and the catalog are made in
Python (a few thousand rows, copied with COPY); the registrants and everything that hangs off
them are generated inside PostgreSQL (``gateway/seed/full.py``), so nothing per registrant
passes through Python and the seed's memory does not grow with its size.

In parts, each committed: the small tables with the large tables' indexes set aside; the
registrants, over several connections at once (one backend's CPU is the limit at 15.9 million);
the buyers' journeys; the indexes and constraints put back, each on one of several connections
(``gateway/seed/rebuild.py``); the rest. Should the seed fail or be killed in between, the
database is emptied and its indexes put back (``undo_interrupted``: at once on failure, or by
the next ``seed --force``), never left half-seeded.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import asyncpg

from core.models import Base
from gateway.seed import tables
from gateway.seed.catalog import add_catalog
from gateway.seed.full import (
    LARGE_TABLES,
    LOAD_WEIGHT,
    FullInputs,
    FullScale,
    add_journeys,
    complete,
    load_registrants,
    put_back,
    set_aside,
    undo_interrupted,
)
from gateway.seed.loader import Loader, RowBuffer
from gateway.seed.partners import add_partners
from gateway.seed.programme import add_geography, add_schemes_and_waves

# Serialises two seeds started against the same database.
_ADVISORY_LOCK: Final = 0x5EED_2020
# Progress units of the steps outside ``load_full``: the catalog, then the id sequences.
_CATALOG_WEIGHT: Final = 1
_FINISH_WEIGHT: Final = 2
PROGRESS_TOTAL: Final = _CATALOG_WEIGHT + LOAD_WEIGHT + _FINISH_WEIGHT

Step = Callable[[str, float], None]


@dataclass(frozen=True)
class SeedReport:
    counts: dict[str, int]  # table name -> rows inserted
    seconds: float
    phases: list[tuple[str, float]] = field(default_factory=list)  # (step, seconds), in order


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
    on_step: Step | None = None,
    jobs: int | None = None,
) -> SeedReport:
    """The demo programme with ``participants`` registrants in the programme's proportions;
    the same arguments always give the same rows.

    Raises ``RuntimeError`` when the database already holds partners or participants.
    """
    if participants < 0:
        raise ValueError("participants must not be negative")
    return await _seed(url, FullScale.of(participants), random_seed, master_key, on_step, jobs)


async def seed_full_database(
    url: str,
    *,
    fraction: float = 1.0,
    random_seed: int = 2020,
    master_key: bytes = b"demo-master-key",
    on_step: Step | None = None,
    jobs: int | None = None,
) -> SeedReport:
    """The programme at the seed's full scale (15.9 million registrants), or a fraction."""
    return await _seed(url, FullScale.at(fraction), random_seed, master_key, on_step, jobs)


async def _seed(
    url: str,
    scale: FullScale,
    random_seed: int,
    master_key: bytes,
    on_step: Step | None,
    jobs: int | None,
) -> SeedReport:
    started = time.perf_counter()
    phases: list[tuple[str, float]] = []
    last = started

    def step(label: str, weight: float) -> None:
        nonlocal last
        now = time.perf_counter()
        phases.append((label, now - last))
        last = now
        if on_step is not None:
            on_step(label, weight)

    dsn = _dsn(url)
    connection = await asyncpg.connect(dsn)
    try:
        # A session lock: it spans the three transactions.
        await connection.execute("SELECT pg_advisory_lock($1)", _ADVISORY_LOCK)
        if not await _is_empty(connection):
            raise RuntimeError("the database already holds partners or participants")
        model_tables = [table.name for table in Base.metadata.sorted_tables]
        await undo_interrupted(connection, model_tables)  # an earlier seed killed midway
        loader = Loader(connection, tables.ALL_TABLES)
        async with connection.transaction():
            buffer = RowBuffer(tables.ALL_TABLES)
            rng = random.Random(random_seed)
            regencies = add_geography(buffer)
            waves = add_schemes_and_waves(buffer)
            partners = add_partners(rng, buffer, regencies)
            add_catalog(rng, buffer, partners, regencies)
            await buffer.flush(loader)
            step("partners and catalog", _CATALOG_WEIGHT)
            inputs = FullInputs(regencies, waves, partners, master_key)
            await set_aside(connection, inputs, step)
        connections = jobs or os.cpu_count() or 1
        # Rows written per large table, from the statements' own command statuses.
        counts = dict.fromkeys((*LARGE_TABLES, "disbursement_batches"), 0)
        try:
            await load_registrants(dsn, scale, inputs, step, jobs=connections)
            counts["participants"] = scale.registrants
            await add_journeys(dsn, connection, scale, inputs, step, counts, jobs=connections)
            validations = await put_back(dsn, connection, scale, step, counts, jobs=connections)
            async with connection.transaction():
                await complete(dsn, connection, step, validations, jobs=connections)
                await loader.advance_id_sequences(tables.ALL_TABLES)
        except BaseException:
            await undo_interrupted(connection, model_tables)
            raise
        # Fresh statistics, so the first queries after a large seed get sensible plans (the
        # large tables' were taken before the figures were rebuilt). Vacuumed too: the seed
        # rewrites every schedule's seats and the figures' totals once loaded, so without it
        # each of those rows is read through a dead version until autovacuum comes by (on a
        # server without autovacuum, never: a catalog page paid a tenth more for it).
        rest = [f'"{name}"' for name in model_tables if name not in LARGE_TABLES]
        await connection.execute(f"VACUUM (ANALYZE) {', '.join(rest)}")
        step("committed, vacuumed, analyzed", _FINISH_WEIGHT)
    finally:
        await connection.close()
    return SeedReport(
        counts={**loader.counts, **counts},
        seconds=time.perf_counter() - started,
        phases=phases,
    )
