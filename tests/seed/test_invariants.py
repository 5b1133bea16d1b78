"""A seeded database keeps every invariant the live system keeps (checked with SQL), and a
seed that fails midway leaves the database as it found it."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from core.db import migrate
from gateway.seed import seed_database
from tests.support.databases import DatabaseFactory
from tests.support.seed_invariants import CHECKS, violations


async def test_the_seed_keeps_the_live_systems_invariants(databases: DatabaseFactory) -> None:
    url = await databases.seeded("seed_invariants")
    assert await violations(url) == dict.fromkeys(CHECKS, 0)


async def _shape(url: str) -> tuple[int, int, int, list[str]]:
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM partners) AS partners,"
            " (SELECT count(*) FROM participants) AS participants,"
            " (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
            "   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public')"
            "   AS indexes"
        )
        disabled = await connection.fetch(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'"
        )
        assert row is not None
        return (
            row["partners"],
            row["participants"],
            row["indexes"],
            sorted(r["tgname"] for r in disabled),
        )
    finally:
        await connection.close()


async def test_a_seed_failing_midway_leaves_the_database_as_it_was(
    databases: DatabaseFactory,
) -> None:
    url = await databases.create("seed_interrupted")
    await asyncio.to_thread(migrate.upgrade, url)
    before = await _shape(url)

    def fail_while_loading(label: str, weight: float) -> None:
        if label.startswith("registrants"):
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        await seed_database(url, participants=300, on_step=fail_while_loading)
    assert await _shape(url) == before == (0, 0, before[2], [])
    report = await seed_database(url, participants=300)
    assert report.counts["participants"] == 300
    assert await violations(url) == dict.fromkeys(CHECKS, 0)


async def _constraints(url: str) -> list[tuple[str, str, bool]]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT conrelid::regclass::text AS tbl, conname, convalidated FROM pg_constraint"
            " WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
        )
        return [(r["tbl"], r["conname"], r["convalidated"]) for r in rows]
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("failing_step", "occurrence"),
    [("indexes: ", 2), ("foreign keys: ", 2), ("seats and figures", 1)],
)
async def test_a_seed_failing_while_putting_indexes_back_leaves_the_database_as_it_was(
    databases: DatabaseFactory, failing_step: str, occurrence: int
) -> None:
    # The indexes and constraints come back one by one, each committed (the foreign keys
    # validated beside the figures' rebuild): a seed failing among them finishes the rest
    # over the emptied tables.
    url = await databases.create("seed_interrupted_rebuild")
    await asyncio.to_thread(migrate.upgrade, url)
    before = (await _shape(url), await _constraints(url))
    seen = 0

    def fail_there(label: str, weight: float) -> None:
        nonlocal seen
        if label.startswith(failing_step):
            seen += 1
            if seen == occurrence:
                raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        await seed_database(url, participants=300, on_step=fail_there, jobs=2)
    assert (await _shape(url), await _constraints(url)) == before
    assert all(validated for _, _, validated in before[1])
    report = await seed_database(url, participants=300)
    assert report.counts["participants"] == 300
    assert await violations(url) == dict.fromkeys(CHECKS, 0)
