"""The catalog response cache: hits for repeated reads, never a stale answer after a write.

These tests need real commits (NOTIFY is only delivered at commit), so they run on a
scratch database of their own, migrated and seeded small, with the app's lifespan running
(which starts the LISTEN connection), instead of the rolled-back ``database`` fixture.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from core.db.database import Database
from core.settings import Settings
from gateway.app import create_app
from gateway.cache.http import CACHE_HEADER
from gateway.cache.store import ResponseCache
from tests.support.catalog import COURSE, PLATFORM, PROVIDER, UPDATE_COURSE, codes, data
from tests.support.databases import DatabaseFactory
from tests.support.gateway import TEST_MASTER_KEY, Tokens, as_app

SEATS = """
query($code: String!) { course(code: $code) { code status schedules(first: 1) { code seatsLeft } } }
"""


# Its tests share one committed database: keep them on one xdist worker, which builds it once.
pytestmark = pytest.mark.xdist_group("response_cache")


@pytest.fixture(scope="module")
async def committed_url(databases: DatabaseFactory) -> str:
    url = await databases.seeded("cache", participants=50)
    return url


class CachedGateway:
    def __init__(self, app: Starlette, http: httpx.AsyncClient, tokens: Tokens) -> None:
        self.app = app
        self.http = http
        self.tokens = tokens

    @property
    def cache(self) -> ResponseCache:
        cache: ResponseCache = self.app.state.catalog_cache
        return cache

    async def post(self, partner: str, query: str, variables: dict[str, Any]) -> httpx.Response:
        token = await self.tokens.issue(partner)
        return await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )


@pytest.fixture
async def gateway(committed_url: str) -> AsyncIterator[CachedGateway]:
    database = Database.connect(committed_url, pool_size=4)
    settings = Settings(database_url=committed_url, master_key=TEST_MASTER_KEY, catalog_cache=True)
    app = create_app(settings, database=as_app(database))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            gateway = CachedGateway(app, http, Tokens(http, database))
            assert gateway.cache.live
            yield gateway
    await database.dispose()


async def _changed_elsewhere(gateway: CachedGateway, url: str, sql: str, *args: Any) -> None:
    """A write committed by another connection (another process): waits for its NOTIFY."""
    generation = gateway.cache.generation
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()
    async with asyncio.timeout(10):
        while gateway.cache.generation == generation:  # noqa: ASYNC110 - a counter, bumped by the listener
            await asyncio.sleep(0.01)


async def test_repeated_reads_are_served_from_the_cache(gateway: CachedGateway) -> None:
    first = await gateway.post(PLATFORM, COURSE, {"code": "CRS-000003"})
    second = await gateway.post(PLATFORM, COURSE, {"code": "CRS-000003"})
    assert first.headers[CACHE_HEADER] == "miss"
    assert second.headers[CACHE_HEADER] == "hit"
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]


async def test_a_write_through_the_gateway_is_seen_by_the_next_read(
    gateway: CachedGateway,
) -> None:
    before = await gateway.post(PLATFORM, COURSE, {"code": "CRS-000001"})
    assert data(before.json())["course"]["status"] == "APPROVED"
    again = await gateway.post(PLATFORM, COURSE, {"code": "CRS-000001"})
    assert again.headers[CACHE_HEADER] == "hit"

    edit = await gateway.post(
        PROVIDER, UPDATE_COURSE, {"code": "CRS-000001", "input": {"hours": 77}}
    )
    assert data(edit.json())["updateCourse"]["course"]["status"] == "IN_REVIEW"

    after = await gateway.post(PLATFORM, COURSE, {"code": "CRS-000001"})
    assert codes(after.json()) == ["NOT_FOUND"], "stale answer served after a write"
    assert CACHE_HEADER not in after.headers  # errors are never cached


async def test_a_write_by_another_process_is_seen_by_the_next_read(
    gateway: CachedGateway, committed_url: str
) -> None:
    read = await gateway.post(PLATFORM, SEATS, {"code": "CRS-000005"})
    schedule = data(read.json())["course"]["schedules"][0]
    assert (await gateway.post(PLATFORM, SEATS, {"code": "CRS-000005"})).headers[
        CACHE_HEADER
    ] == "hit"

    seats = schedule["seatsLeft"] - 1
    await _changed_elsewhere(
        gateway,
        committed_url,
        "UPDATE schedules SET remaining = $1 WHERE code = $2",
        seats,
        schedule["code"],
    )
    fresh = await gateway.post(PLATFORM, SEATS, {"code": "CRS-000005"})
    assert data(fresh.json())["course"]["schedules"][0]["seatsLeft"] == seats
    assert fresh.headers[CACHE_HEADER] == "miss"


async def test_callers_who_see_different_catalogs_do_not_share_answers(
    gateway: CachedGateway,
) -> None:
    drafts = {"code": "CRS-000001"}  # in review after the edit above, or approved: either way
    as_provider = await gateway.post(PROVIDER, COURSE, drafts)
    as_platform = await gateway.post(PLATFORM, COURSE, drafts)
    provider_status = data(as_provider.json())["course"]["status"]
    if provider_status != "APPROVED":
        assert codes(as_platform.json()) == ["NOT_FOUND"]
    other = await gateway.post("DP-002", COURSE, {"code": "CRS-000003"})
    again = await gateway.post("DP-002", COURSE, {"code": "CRS-000003"})
    assert other.headers[CACHE_HEADER] in {"hit", "miss"}
    assert again.headers[CACHE_HEADER] == "hit"  # platforms share the public catalog


async def test_only_catalog_queries_are_cached(gateway: CachedGateway) -> None:
    mixed = "query($code: String!) { viewer { code } course(code: $code) { code } }"
    for _ in range(2):
        response = await gateway.post(PLATFORM, mixed, {"code": "CRS-000003"})
        assert CACHE_HEADER not in response.headers
        assert data(response.json())["viewer"]["code"] == PLATFORM
