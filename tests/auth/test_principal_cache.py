"""The principal cache never outlives a revocation, a suspension or a disabled client, in
any process.

Two app instances on one committed database stand for two gateway processes: each runs its
lifespan (its own LISTEN connection) and its own principal cache. NOTIFY is delivered only
at commit, so these tests use a scratch database of their own, not the rolled-back one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from auth.principal_cache import PrincipalCache
from tests.support.auth import ask_graphql, assert_invalid_token, payload_of
from tests.support.databases import DatabaseFactory
from tests.support.gateway import Tokens, running_app

# Its tests share one committed database: keep them on one xdist worker, which builds it once.
pytestmark = pytest.mark.xdist_group("principal_cache")


@pytest.fixture(scope="module")
async def committed_url(databases: DatabaseFactory) -> str:
    url = await databases.seeded("principals", participants=50)
    return url


class Process:
    """One gateway instance: its app (lifespan running) and an HTTP client to it."""

    def __init__(self, app: Starlette, http: httpx.AsyncClient) -> None:
        self.app = app
        self.http = http

    @property
    def principals(self) -> PrincipalCache:
        cache: PrincipalCache = self.app.state.auth.principals
        return cache

    async def ask(self, token: str) -> httpx.Response:
        return await ask_graphql(self.http, token)


async def _start(stack: AsyncExitStack, url: str) -> Process:
    process = Process(*await running_app(stack, url))
    assert process.principals.live
    return process


@pytest.fixture
async def processes(committed_url: str) -> AsyncIterator[tuple[Process, Process, Tokens]]:
    async with AsyncExitStack() as stack:
        first = await _start(stack, committed_url)
        second = await _start(stack, committed_url)
        tokens = Tokens(first.http, first.app.state.database)
        yield first, second, tokens


async def _cached_in(process: Process, token: str) -> None:
    """Two answered requests: the second one is served from the process's cache."""
    assert (await process.ask(token)).status_code == 200
    assert (await process.ask(token)).status_code == 200
    assert process.principals.get(token) is not None


async def _notified(process: Process, generation: int) -> None:
    """Waits for the commit's NOTIFY to reach the process (the documented residual window)."""
    async with asyncio.timeout(10):
        while process.principals.generation == generation:  # noqa: ASYNC110 - bumped by the listener
            await asyncio.sleep(0.005)


async def _execute_elsewhere(url: str, sql: str, *args: Any) -> None:
    """A statement committed by a connection of no gateway (an operator's CLI, say)."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()


async def test_a_token_revoked_through_one_process_is_refused_by_every_process(
    processes: tuple[Process, Process, Tokens],
) -> None:
    first, second, tokens = processes
    token = await tokens.issue("DP-001", ["catalog:read"])
    await _cached_in(first, token)
    await _cached_in(second, token)
    generation = second.principals.generation

    revoked = await tokens.revoke("DP-001", ["catalog:read"], token)  # through the first
    assert revoked.status_code == 200

    # The revoking process refuses the very next request: it dropped its cache at commit.
    refused = await first.ask(token)
    assert_invalid_token(refused)
    assert "revoked" in refused.headers["www-authenticate"]
    # The other one as soon as the commit's notification reaches it.
    await _notified(second, generation)
    refused = await second.ask(token)
    assert_invalid_token(refused)
    assert "revoked" in refused.headers["www-authenticate"]


async def test_suspending_a_partner_refuses_its_cached_tokens_in_every_process(
    processes: tuple[Process, Process, Tokens], committed_url: str
) -> None:
    first, second, tokens = processes
    token = await tokens.issue("LP-0002", ["catalog:read"])
    await _cached_in(first, token)
    await _cached_in(second, token)
    generations = first.principals.generation, second.principals.generation
    await _execute_elsewhere(
        committed_url, "UPDATE partners SET status = 'SUSPENDED' WHERE code = 'LP-0002'"
    )
    try:
        for process, generation in zip((first, second), generations, strict=True):
            await _notified(process, generation)
            assert_invalid_token(await process.ask(token))
    finally:
        await _execute_elsewhere(
            committed_url, "UPDATE partners SET status = 'ACTIVE' WHERE code = 'LP-0002'"
        )


async def test_disabling_a_client_refuses_its_cached_tokens_in_every_process(
    processes: tuple[Process, Process, Tokens], committed_url: str
) -> None:
    first, second, tokens = processes
    token = await tokens.issue("DP-002", ["catalog:read"])
    await _cached_in(first, token)
    await _cached_in(second, token)
    generations = first.principals.generation, second.principals.generation
    await _execute_elsewhere(
        committed_url,
        "UPDATE oauth_clients SET status = 'DISABLED' WHERE client_id = $1",
        payload_of(token)["client_id"],
    )
    for process, generation in zip((first, second), generations, strict=True):
        await _notified(process, generation)
        assert_invalid_token(await process.ask(token))


async def test_a_process_whose_listener_dropped_checks_every_token_in_the_database(
    processes: tuple[Process, Process, Tokens], committed_url: str
) -> None:
    _, second, tokens = processes
    token = await tokens.issue("DP-003", ["catalog:read"])
    await _cached_in(second, token)
    generation = second.principals.generation
    # The listener connections die (a failover, an idle-session kill)...
    await _execute_elsewhere(
        committed_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    await _notified(second, generation)  # the process noticed: its cache went dark
    # ...and a revocation's notification is lost (triggers off for this one session).
    jti = payload_of(token)["jti"]
    connection = await asyncpg.connect(committed_url)
    try:
        async with connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")
            await connection.execute(
                "INSERT INTO revoked_tokens (jti, client_id, expires_at) "
                "VALUES ($1, $2, now() + interval '1 hour')",
                jti,
                payload_of(token)["client_id"],
            )
    finally:
        await connection.close()
    # Dark, or listening again with an emptied cache: either way the database decides.
    refused = await second.ask(token)
    assert_invalid_token(refused)
    assert "revoked" in refused.headers["www-authenticate"]
