"""Bearer tokens at /graphql: every forged, stale or foreign token gets 401, never data."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
from joserfc.jwk import ECKey

from core.db.database import Database
from tests.support.auth import (
    AUDIENCE,
    app_signing_key,
    ask_graphql,
    assert_invalid_token,
    b64,
    claims_like,
    header_of,
    now,
    payload_of,
    sign,
)
from tests.support.gateway import Tokens


async def test_a_real_token_reads_and_carries_rfc9068_claims(tokens: Tokens) -> None:
    token = await tokens.issue("DP-001", ["catalog:read"])
    header, claims = header_of(token), payload_of(token)
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256" and header["kid"]
    assert claims["iss"] == "http://127.0.0.1:8000"
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == "DP-001"
    assert claims["scope"] == "catalog:read"
    assert claims["client_id"].startswith("dp-001-")
    assert claims["exp"] - claims["iat"] == 900  # the default lifetime, 15 minutes
    assert claims["jti"]
    response = await ask_graphql(tokens.http, token)
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["code"] == "DP-001"


async def test_no_token_is_401_with_a_bare_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await ask_graphql(client, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert "error=" not in response.headers["www-authenticate"]
    basic = await client.post(
        "/graphql", json={"query": "{ viewer { code } }"}, auth=("someone", "secret")
    )
    assert basic.status_code == 401


async def test_alg_none_is_refused(tokens: Tokens) -> None:
    token = await tokens.issue("DP-001", ["catalog:read"])
    header = {**header_of(token), "alg": "none"}
    unsigned = f"{b64(json.dumps(header).encode())}.{token.split('.')[1]}."
    assert_invalid_token(await ask_graphql(tokens.http, unsigned))


async def test_hmac_signed_with_the_public_key_is_refused(
    tokens: Tokens, database: Database
) -> None:
    token = await tokens.issue("DP-001", ["catalog:read"])
    key = await app_signing_key(database)
    public = json.dumps(key.key.as_dict(private=False)).encode()
    pem = key.key.as_pem(private=False)
    for secret in (public, pem):
        header = {**header_of(token), "alg": "HS256"}
        signing_input = f"{b64(json.dumps(header).encode())}.{token.split('.')[1]}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert_invalid_token(await ask_graphql(tokens.http, f"{signing_input}.{b64(mac)}"))


async def test_an_unknown_kid_is_refused(tokens: Tokens) -> None:
    token = await tokens.issue("DP-001", ["catalog:read"])
    stranger = ECKey.generate_key("P-256")
    assert_invalid_token(
        await ask_graphql(tokens.http, sign(stranger, "no-such-key", payload_of(token)))
    )
    # ...and a known kid with a stranger's signature is no better.
    kid = header_of(token)["kid"]
    assert_invalid_token(await ask_graphql(tokens.http, sign(stranger, kid, payload_of(token))))


async def test_a_tampered_payload_is_refused(tokens: Tokens) -> None:
    token = await tokens.issue("DP-001", ["catalog:read"])
    claims = {**payload_of(token), "scope": "catalog:read program:admin", "sub": "PMO"}
    head, _, signature = token.split(".")
    tampered = f"{head}.{b64(json.dumps(claims).encode())}.{signature}"
    assert_invalid_token(await ask_graphql(tokens.http, tampered))


async def test_an_expired_token_is_refused(tokens: Tokens, database: Database) -> None:
    token = await tokens.issue("DP-001", ["catalog:read"])
    key = await app_signing_key(database)
    claims = claims_like(token, iat=now() - 2000, exp=now() - 120)
    response = await ask_graphql(tokens.http, sign(key.key, key.kid, claims))
    assert_invalid_token(response)
    assert "expired" in response.headers["www-authenticate"]


async def test_a_token_not_yet_valid_is_refused(tokens: Tokens, database: Database) -> None:
    token = await tokens.issue("DP-001", ["catalog:read"])
    key = await app_signing_key(database)
    for changes in ({"nbf": now() + 600}, {"iat": now() + 600, "exp": now() + 1500}):
        claims = claims_like(token, **changes)
        assert_invalid_token(await ask_graphql(tokens.http, sign(key.key, key.kid, claims)))


async def test_a_wrong_issuer_or_audience_is_refused(tokens: Tokens, database: Database) -> None:
    token = await tokens.issue("DP-001", ["catalog:read"])
    key = await app_signing_key(database)
    for changes in (
        {"iss": "https://evil.example"},
        {"aud": "https://other-resource.example"},
        {"aud": ["https://other-resource.example"]},
    ):
        claims = claims_like(token, **changes)
        assert_invalid_token(await ask_graphql(tokens.http, sign(key.key, key.kid, claims)))
    # The control: the same forgery path with the right claims is accepted.
    good = sign(key.key, key.kid, claims_like(token))
    assert (await ask_graphql(tokens.http, good)).status_code == 200


async def test_another_token_type_or_a_missing_claim_is_refused(
    tokens: Tokens, database: Database
) -> None:
    token = await tokens.issue("DP-001", ["catalog:read"])
    key = await app_signing_key(database)
    assert_invalid_token(
        await ask_graphql(tokens.http, sign(key.key, key.kid, claims_like(token), typ="JWT"))
    )
    for claim in ("exp", "jti", "client_id", "sub"):
        claims = claims_like(token)
        del claims[claim]
        assert_invalid_token(await ask_graphql(tokens.http, sign(key.key, key.kid, claims)))


async def test_garbage_tokens_are_refused(client: httpx.AsyncClient) -> None:
    for garbage in ("", "abc", "a.b.c", "a.b.c.d.e", "x" * 10_000, "Bearer"):
        assert_invalid_token(await ask_graphql(client, garbage))
    latin = await client.post(
        "/graphql",
        json={"query": "{ viewer { code } }"},
        headers={"Authorization": "Bearer é.é.é".encode("latin-1")},
    )
    assert_invalid_token(latin)
