"""Failed client authentications back off exponentially per client id and per address,
without letting an attacker lock the real client out."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from core.db.database import Database
from core.settings import Settings
from gateway.app import create_app
from tests.support.gateway import TEST_MASTER_KEY, Tokens, as_app

FORM = {"grant_type": "client_credentials"}


def _from(database: Database, address: str) -> httpx.AsyncClient:
    settings = Settings(database_url=database.url, master_key=TEST_MASTER_KEY)
    app = create_app(settings, database=as_app(database))
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def _unblock(database: Database) -> None:
    """Lets the current back-off elapse without sleeping (the counters stay)."""
    async with database.sessionmaker() as session:
        await session.execute(text("UPDATE auth_failures SET blocked_until = now()"))
        await session.commit()


async def test_failures_back_off_exponentially_but_never_lock_out_the_real_client(
    tokens: Tokens, database: Database
) -> None:
    credentials = await tokens.client_for("DP-001", ["catalog:read"])
    assert credentials.client_secret is not None
    wrong = (credentials.client_id, "not-the-secret")
    right = (credentials.client_id, credentials.client_secret)
    async with _from(database, "203.0.113.7") as attacker, _from(database, "198.51.100.2") as owner:
        for _ in range(4):  # three free failures, the fourth starts the back-off
            assert (await attacker.post("/oauth/token", data=FORM, auth=wrong)).status_code == 401
        waits = []
        for _ in range(4):
            throttled = await attacker.post("/oauth/token", data=FORM, auth=wrong)
            assert throttled.status_code == 429
            assert throttled.json()["error"] == "slow_down"
            waits.append(int(throttled.headers["retry-after"]))
            # Even the right secret waits from an address that keeps failing.
            assert (await attacker.post("/oauth/token", data=FORM, auth=right)).status_code == 429
            await _unblock(database)
            assert (await attacker.post("/oauth/token", data=FORM, auth=wrong)).status_code == 401
        assert waits == [1, 2, 4, 8]
        # The real client, from its own address, is not refused for the attacker's guesses.
        response = await owner.post("/oauth/token", data=FORM, auth=right)
        assert response.status_code == 200, response.text
        # A fresh address guessing the same client id gets one free try, then waits with
        # the client id's back-off (reset by the success above: back to free failures).
        async with _from(database, "192.0.2.9") as other:
            for _ in range(4):
                assert (await other.post("/oauth/token", data=FORM, auth=wrong)).status_code == 401
            assert (await other.post("/oauth/token", data=FORM, auth=wrong)).status_code == 429
