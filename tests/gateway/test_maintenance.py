"""``prune`` deletes only what has expired."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from core.db import migrate
from core.db.actor import APP_ROLE
from core.db.urls import as_role
from gateway.cli import main
from tests.support.databases import DatabaseFactory


async def test_prune_deletes_expired_rows_and_keeps_live_ones(
    databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await databases.create("prune")
    await asyncio.to_thread(migrate.upgrade, url)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO idempotency_records (client_id, key, request_hash, expires_at) VALUES"
            " ('c', 'old', '\\x00', now() - interval '1 minute'),"
            " ('c', 'live', '\\x00', now() + interval '7 days');"
            "INSERT INTO revoked_tokens (jti, client_id, expires_at) VALUES"
            " ('gone', 'c', now() - interval '1 second'), ('kept', 'c', now() + interval '1 hour')"
        )
        # Prune needs DML only: it runs as the application's role.
        monkeypatch.setenv("PRAKERJA_DATABASE_URL", as_role(url, APP_ROLE))
        assert await asyncio.to_thread(main, ["prune"]) == 0
        keys = await connection.fetch("SELECT key FROM idempotency_records")
        jtis = await connection.fetch("SELECT jti FROM revoked_tokens")
    finally:
        await connection.close()
    assert [row["key"] for row in keys] == ["live"]
    assert [row["jti"] for row in jtis] == ["kept"]
