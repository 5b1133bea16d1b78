"""Migrations go up to head and all the way down again, on the test server."""

from __future__ import annotations

import asyncio

import asyncpg

from core.db import migrate
from gateway.seed import codes
from tests.support.databases import DatabaseFactory


async def _tables(url: str) -> set[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows}


async def test_upgrade_creates_the_whole_model_and_downgrade_removes_it(
    databases: DatabaseFactory,
) -> None:
    url = await databases.create("migrations")
    await asyncio.to_thread(migrate.upgrade, url)
    tables = await _tables(url)
    for expected in (
        "partners",
        "oauth_clients",
        "signing_keys",
        "provinces",
        "regencies",
        "waves",
        "schemes",
        "participants",
        "courses",
        "schedules",
        "course_listings",
        "purchases",
        "attendances",
        "completions",
        "certificates",
        "payment_accounts",
        "incentive_installments",
        "disbursement_batches",
        "disbursement_items",
        "idempotency_records",
        "audit_log",
        "notification_outbox",
    ):
        assert expected in tables

    await asyncio.to_thread(migrate.downgrade, url, "base")
    assert await _tables(url) <= {"alembic_version"}

    # and up again: downgrade left nothing behind that blocks it
    await asyncio.to_thread(migrate.upgrade, url)
    assert "participants" in await _tables(url)


async def test_constraints_hold_in_the_database(databases: DatabaseFactory) -> None:
    """Invariants are enforced by PostgreSQL itself, not only by the code."""
    url = await databases.create("constraints")
    await asyncio.to_thread(migrate.upgrade, url)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO provinces (id, code, name) VALUES (1, '11', 'Aceh');"
            "INSERT INTO regencies (id, code, province_id, name, kind)"
            " VALUES (1, '1101', 1, 'Simeulue', 'KABUPATEN');"
        )
        participant = (
            "INSERT INTO participants (id, card_number, nik_hash, nik_masked, full_name,"
            " birth_date, education, regency_id, training_balance, status,"
            " registration_channel)"
            " VALUES ($1, $2, $3, '110101********01', 'Siti', '1990-01-01', 'SMA', 1, $4,"
            " 'REGISTERED', 'ONLINE')"
        )
        refused = (
            (1, "123", 0),  # not 16 digits
            (1, codes.card_number(1), -1),  # a negative balance
            (1, "1234567890123456", 0),  # 16 digits, but not the card id 1 is issued
        )
        for participant_id, card, balance in refused:
            try:
                await connection.execute(participant, participant_id, card, b"x" * 32, balance)
            except asyncpg.CheckViolationError:
                pass
            else:
                raise AssertionError(f"accepted card {card!r} with balance {balance}")
        await connection.execute(participant, 1, codes.card_number(1), b"a" * 32, 0)
        try:
            await connection.execute(participant, 2, codes.card_number(1), b"b" * 32, 0)
        except (asyncpg.CheckViolationError, asyncpg.UniqueViolationError):
            pass
        else:
            raise AssertionError("two participants with one card number")
        # The card's holder is found from the card alone, through the primary key.
        for participant_id in (1, 2, 15_900_000, 10**12):
            holder = await connection.fetchval(
                "SELECT prakerja_card_holder($1)", codes.card_number(participant_id)
            )
            assert holder == participant_id
        for not_a_card in ("1234567890123456", "5" * 15, None):
            assert await connection.fetchval("SELECT prakerja_card_holder($1)", not_a_card) is None
    finally:
        await connection.close()
