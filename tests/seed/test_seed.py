"""The demo programme is deterministic, complete, and in the seed's proportions."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from core.db import migrate
from core.models import Base
from gateway.cli import main
from gateway.seed import seed_database
from tests.support.databases import SEED_PARTICIPANTS, DatabaseFactory


@pytest.fixture(scope="module")
async def seeded_url(databases: DatabaseFactory) -> str:
    """The seed's database exactly as the seed made it (conftest's one holds test clients)."""
    return await databases.seeded("seed_check")


async def _table_digests(url: str) -> dict[str, str]:
    connection = await asyncpg.connect(url)
    try:
        digests = {}
        for table in Base.metadata.sorted_tables:
            digests[table.name] = await connection.fetchval(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                f' FROM "{table.name}" t'
            )
        return digests
    finally:
        await connection.close()


async def _scalar(url: str, sql: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(sql))
    finally:
        await connection.close()


async def test_same_seed_gives_identical_rows(databases: DatabaseFactory, seeded_url: str) -> None:
    again = await databases.create("seed_again")
    await asyncio.to_thread(migrate.upgrade, again)
    await seed_database(again, participants=SEED_PARTICIPANTS)
    assert await _table_digests(again) == await _table_digests(seeded_url)


async def test_counts_match_the_programme(seeded_url: str) -> None:
    counts = {
        "provinces": "SELECT count(*) FROM provinces",
        "regencies": "SELECT count(*) FROM regencies",
        "platforms": "SELECT count(*) FROM partners WHERE type = 'PLATFORM'",
        "payment_partners": "SELECT count(*) FROM partners WHERE type = 'PAYMENT_PARTNER'",
        "providers": "SELECT count(*) FROM partners WHERE type = 'TRAINING_PROVIDER'",
        "participants": "SELECT count(*) FROM participants",
    }
    found = {name: await _scalar(seeded_url, sql) for name, sql in counts.items()}
    assert found == {
        "provinces": 34,
        "regencies": 514,
        "platforms": 7,
        "payment_partners": 4,
        "providers": 165,
        "participants": SEED_PARTICIPANTS,
    }
    assert (
        await _scalar(seeded_url, "SELECT count(*) FROM courses WHERE status = 'APPROVED'") >= 2000
    )
    methods = await _scalar(
        seeded_url,
        "SELECT count(DISTINCT learning_method) FROM courses WHERE status = 'APPROVED'",
    )
    assert methods == 3


async def test_proportions_follow_the_seed_article(seeded_url: str) -> None:
    recipients = await _scalar(
        seeded_url, "SELECT count(*) FROM participants WHERE status = 'RECIPIENT'"
    )
    completed = await _scalar(seeded_url, "SELECT count(DISTINCT participant_id) FROM completions")
    paid = await _scalar(
        seeded_url,
        "SELECT count(DISTINCT i.participant_id) FROM disbursement_items d"
        " JOIN incentive_installments i ON i.id = d.installment_id WHERE d.status = 'PAID'",
    )
    assert 0.24 <= completed / recipients <= 0.32  # 849,921 of 3 million
    assert 0.66 <= paid / completed <= 0.78  # 610,563 of 849,921
    # Every paid item's batch header matches its items (the receiver echoes both).
    mismatched = await _scalar(
        seeded_url,
        "SELECT count(*) FROM disbursement_batches b WHERE (b.item_count, b.control_sum) <>"
        " (SELECT count(*), coalesce(sum(amount), 0) FROM disbursement_items i"
        "   WHERE i.batch_id = b.id)",
    )
    assert mismatched == 0


async def test_no_national_id_is_stored_in_clear(seeded_url: str) -> None:
    unmasked = await _scalar(
        seeded_url,
        "SELECT count(*) FROM participants WHERE nik_masked !~ '^[0-9]{6}[*]{8}[0-9]{2}$'",
    )
    assert unmasked == 0


async def test_seed_refuses_a_database_with_data_without_force(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], seeded_url: str
) -> None:
    monkeypatch.setenv("PRAKERJA_DATABASE_URL", seeded_url)
    before = await _table_digests(seeded_url)
    assert await asyncio.to_thread(main, ["seed", "--participants", "10"]) == 2
    assert "--force" in capsys.readouterr().err
    assert await _table_digests(seeded_url) == before


async def test_seed_force_replaces_the_data(
    monkeypatch: pytest.MonkeyPatch, databases: DatabaseFactory
) -> None:
    url = await databases.create("seed_force")
    monkeypatch.setenv("PRAKERJA_DATABASE_URL", url)
    assert await asyncio.to_thread(main, ["seed", "--participants", "300"]) == 0
    assert await asyncio.to_thread(main, ["seed", "--participants", "200", "--force"]) == 0
    assert await _scalar(url, "SELECT count(*) FROM participants") == 200


async def test_a_seed_without_registrants_leaves_the_programme_and_no_seed_tables(
    databases: DatabaseFactory,
) -> None:
    """``--participants 0`` (the selection benchmark's start): partners, catalog and waves,
    nobody registered, and none of the seed's working tables left behind (it failed at the
    end dropping the buyers' table that no buyer had made)."""
    url = await databases.create("seed_empty")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_database(url, participants=0)
    assert await _scalar(url, "SELECT count(*) FROM participants") == 0
    assert await _scalar(url, "SELECT count(*) FROM waves") == 6
    assert await _scalar(url, "SELECT count(*) FROM partners WHERE type = 'PLATFORM'") == 7
    leftovers = "SELECT count(*) FROM pg_class WHERE relname LIKE 'seed\\_%' AND relkind = 'r'"
    assert await _scalar(url, leftovers) == 0
