"""Migrations go up to head and all the way down again, on the test server."""

from __future__ import annotations

import asyncio

import asyncpg

from core.db import migrate
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
            "INSERT INTO participants (card_number, nik_hash, nik_masked, full_name, birth_date,"
            " education, regency_id, training_balance, status, registration_channel)"
            " VALUES ($1, $2, '110101********01', 'Siti', '1990-01-01', 'SMA', 1, $3,"
            " 'REGISTERED', 'ONLINE')"
        )
        for card, balance in (("123", 0), ("1234567890123456", -1)):
            try:
                await connection.execute(participant, card, b"x" * 32, balance)
            except asyncpg.CheckViolationError:
                pass
            else:
                raise AssertionError(f"accepted card {card!r} with balance {balance}")
        await connection.execute(participant, "1234567890123456", b"a" * 32, 0)
        try:
            await connection.execute(participant, "1234567890123456", b"b" * 32, 0)
        except asyncpg.UniqueViolationError:
            pass
        else:
            raise AssertionError("two participants with one card number")
    finally:
        await connection.close()
