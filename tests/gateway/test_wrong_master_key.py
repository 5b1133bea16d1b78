"""A gateway started with another master key than its keys were sealed with: /readyz says
why it is not ready, and /oauth/token answers a JSON 503 (never a plain-text 500)."""

from __future__ import annotations

from core.db.database import Database
from tests.support.gateway import Tokens, make_client


async def test_wrong_master_key_is_not_ready_and_a_json_503(
    tokens: Tokens, database: Database
) -> None:
    credentials = await tokens.client_for("PMO", ["program:admin"])
    await tokens.issue("PMO", ["program:admin"])  # the signing keys exist under the right key
    assert (await tokens.http.get("/readyz")).status_code == 200
    assert credentials.client_secret is not None
    async with make_client(database, master_key="not-the-master-key") as wrong:
        ready = await wrong.get("/readyz")
        assert ready.status_code == 503
        assert "master key" in ready.json()["reason"]
        response = await wrong.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials.client_id, credentials.client_secret),
        )
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "misconfigured" in error["message"]
