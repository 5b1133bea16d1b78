"""PostgreSQL stopped under a running gateway: every endpoint answers a JSON 503 with an
error id and ``Retry-After``; started again, the same gateway serves again (no restart)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from auth.admin import create_client
from auth.audit import Origin
from core.db import migrate
from core.db.database import Database
from core.settings import Settings
from gateway.app import create_app
from gateway.embedded import EmbeddedPostgres
from gateway.seed import seed_database
from tests.support.gateway import TEST_MASTER_KEY, as_app

VIEWER = {"query": "{ viewer { code } }"}


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert int(response.headers["retry-after"]) > 0
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert len(error["extensions"]["errorId"]) == 32


async def test_outage_gives_json_503_everywhere_and_recovers(tmp_path: Path) -> None:
    embedded = EmbeddedPostgres(tmp_path)
    url = await asyncio.to_thread(embedded.start)
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_database(url, participants=20)
    database = Database.connect(url, pool_size=2)
    try:
        async with database.sessionmaker() as session:
            credentials = await create_client(
                session,
                Origin(operator="tests"),
                partner_code="PMO",
                scopes=["program:admin"],
                master_key=TEST_MASTER_KEY.encode(),
            )
            await session.commit()
        assert credentials.client_secret is not None
        auth = (credentials.client_id, credentials.client_secret)
        form = {"grant_type": "client_credentials"}
        app = create_app(
            Settings(database_url=url, master_key=TEST_MASTER_KEY), database=as_app(database)
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            token = (await http.post("/oauth/token", data=form, auth=auth)).json()
            bearer = {"Authorization": f"Bearer {token['access_token']}"}
            assert (await http.post("/graphql", json=VIEWER, headers=bearer)).status_code == 200

            await asyncio.to_thread(embedded.stop)
            _assert_unavailable(await http.post("/graphql", json=VIEWER, headers=bearer))
            _assert_unavailable(await http.post("/oauth/token", data=form, auth=auth))
            _assert_unavailable(await http.get("/certificates/jwks.json"))
            _assert_unavailable(
                await http.post("/oauth/introspect", data={"token": "x"}, auth=auth)
            )
            assert (await http.get("/readyz")).status_code == 503
            assert (await http.get("/healthz")).status_code == 200

            embedded = EmbeddedPostgres(tmp_path)
            assert await asyncio.to_thread(embedded.start) == url
            # Pooled connections died with the server: the first use of each may still
            # fail (as a 503), then the pool reconnects by itself.
            statuses = [
                (await http.post("/graphql", json=VIEWER, headers=bearer)).status_code
                for _ in range(4)
            ]
            assert statuses[-1] == 200, statuses
            assert set(statuses) <= {200, 503}
            assert (await http.post("/oauth/token", data=form, auth=auth)).status_code == 200
            assert (await http.get("/readyz")).status_code == 200
    finally:
        await database.dispose()
        await asyncio.to_thread(embedded.stop)
