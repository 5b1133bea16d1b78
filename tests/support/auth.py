"""Helpers for identity tests: the app's signing key, forged tokens, raw token requests."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from auth.keys import PrivateKeyCache, PrivateSigningKey, ensure_signing_keys
from core.db.database import Database
from tests.support.gateway import TEST_MASTER_KEY

ISSUER = "http://127.0.0.1:8000"  # Settings.public_base_url's default
AUDIENCE = f"{ISSUER}/graphql"


async def app_signing_key(database: Database) -> PrivateSigningKey:
    """The key the app signs with (made now if the database has none yet)."""
    async with database.sessionmaker() as session:
        row = await ensure_signing_keys(session, TEST_MASTER_KEY.encode())
        await session.commit()
    return PrivateKeyCache(TEST_MASTER_KEY.encode()).load(row)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def payload_of(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return claims


def header_of(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return header


def sign(key: ECKey, kid: str, claims: dict[str, Any], **header: Any) -> str:
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": kid, **header}, claims, key)


def claims_like(token: str, **changes: Any) -> dict[str, Any]:
    """A real token's claims with some changed (a fresh jti unless given)."""
    claims = payload_of(token)
    claims["jti"] = uuid.uuid4().hex
    claims.update(changes)
    return claims


def now() -> int:
    return int(time.time())


async def ask_graphql(http: httpx.AsyncClient, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await http.post("/graphql", json={"query": "{ viewer { code } }"}, headers=headers)


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def token_request(
    http: httpx.AsyncClient,
    client_id: str,
    secret: str,
    scope: str | None = None,
    *,
    method: str = "basic",
) -> httpx.Response:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    if method == "basic":
        return await http.post("/oauth/token", data=data, auth=(client_id, secret))
    return await http.post(
        "/oauth/token", data={**data, "client_id": client_id, "client_secret": secret}
    )
