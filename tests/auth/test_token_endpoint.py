"""POST /oauth/token: the three client authentications, and every bad request refused."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select, text

from auth.admin import IssuedCredentials, create_client, disable_client
from auth.audit import AuditAction, Origin
from auth.secrets import scrypt_hash
from core.db.database import Database
from core.models import AuditRecord
from tests.support.auth import ISSUER, ask_graphql, assert_invalid_token, now, token_request
from tests.support.gateway import TEST_MASTER_KEY, Tokens


async def key_client(database: Database, key: ECKey, code: str = "DP-001") -> IssuedCredentials:
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "k1", "alg": "ES256"}]}
    async with database.sessionmaker() as session:
        credentials = await create_client(
            session,
            Origin(operator="tests"),
            partner_code=code,
            scopes=["catalog:read"],
            master_key=TEST_MASTER_KEY.encode(),
            jwks=jwks,
            with_secret=False,
        )
        await session.commit()
    return credentials


def assertion(key: ECKey, client_id: str, **changes: object) -> str:
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": f"{ISSUER}/oauth/token",
        "jti": uuid.uuid4().hex,
        "iat": now(),
        "exp": now() + 60,
        **changes,
    }
    return jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key)


async def assertion_request(http: httpx.AsyncClient, signed: str) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": signed,
        },
    )


async def test_client_secret_basic_and_post_both_get_a_token(tokens: Tokens) -> None:
    credentials = await tokens.client_for("LP-0001", ["catalog:read", "catalog:write"])
    assert credentials.client_secret is not None
    for method in ("basic", "post"):
        response = await token_request(
            tokens.http, credentials.client_id, credentials.client_secret, method=method
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 900
        assert body["scope"] == "catalog:read catalog:write"  # no scope asked: all granted
        assert response.headers["cache-control"] == "no-store"
    narrowed = await token_request(
        tokens.http, credentials.client_id, credentials.client_secret, "catalog:read"
    )
    assert narrowed.json()["scope"] == "catalog:read"


async def test_private_key_jwt_gets_a_token_and_a_replayed_assertion_does_not(
    client: httpx.AsyncClient, database: Database
) -> None:
    key = ECKey.generate_key("P-256")
    credentials = await key_client(database, key)
    signed = assertion(key, credentials.client_id)
    first = await assertion_request(client, signed)
    assert first.status_code == 200, first.text
    assert (await ask_graphql(client, first.json()["access_token"])).status_code == 200
    replayed = await assertion_request(client, signed)
    assert replayed.status_code in (400, 401)  # 401 is for credentials in a header
    assert replayed.json() == {
        "error": "invalid_client",
        "error_description": "client authentication failed",
    }


async def test_bad_client_assertions_get_no_token(
    client: httpx.AsyncClient, database: Database
) -> None:
    key = ECKey.generate_key("P-256")
    credentials = await key_client(database, key)
    stranger = ECKey.generate_key("P-256")
    for signed in (
        assertion(stranger, credentials.client_id),  # not the registered key
        assertion(key, credentials.client_id, aud="https://elsewhere.example/token"),
        assertion(key, credentials.client_id, exp=now() - 300),
        assertion(key, credentials.client_id, exp=now() + 86_400),  # lives too long
        assertion(key, credentials.client_id, iss="someone-else"),
        assertion(key, "unknown-client"),
        "not.a.jwt",
    ):
        response = await assertion_request(client, signed)
        assert response.status_code in (400, 401), response.text
        assert response.json()["error"] == "invalid_client"
        # Each refusal is judged on its own, not as part of a run of failures (back-off:
        # tests/auth/test_token_throttling.py).
        async with database.sessionmaker() as session:
            await session.execute(text("DELETE FROM auth_failures"))
            await session.commit()


async def test_wrong_secret_and_unknown_client_get_the_same_answer(tokens: Tokens) -> None:
    credentials = await tokens.client_for("DP-001", ["catalog:read"])
    wrong = await token_request(tokens.http, credentials.client_id, "not-the-secret")
    unknown = await token_request(tokens.http, "dp-001-0000000000000000", "not-the-secret")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json() == {
            "error": "invalid_client",
            "error_description": "client authentication failed",
        }
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]
    post = await token_request(tokens.http, credentials.client_id, "nope", method="post")
    assert post.json()["error"] == "invalid_client"


async def test_asking_for_another_types_scope_is_invalid_scope(tokens: Tokens) -> None:
    credentials = await tokens.client_for("DP-001", ["catalog:read"])
    assert credentials.client_secret is not None
    for scope in ("disbursement:read", "program:admin", "catalog:read program:admin", "nope:x"):
        response = await token_request(
            tokens.http, credentials.client_id, credentials.client_secret, scope
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"
    # A platform scope the client was not granted is refused the same way.
    response = await token_request(
        tokens.http, credentials.client_id, credentials.client_secret, "enrollment:write"
    )
    assert response.json()["error"] == "invalid_scope"


async def test_a_disabled_client_gets_no_token_and_its_live_token_is_refused_at_once(
    tokens: Tokens, database: Database
) -> None:
    credentials = await tokens.client_for("PP-001", ["disbursement:read"])
    assert credentials.client_secret is not None
    token = await tokens.issue("PP-001", ["disbursement:read"])
    assert (await ask_graphql(tokens.http, token)).status_code == 200
    async with database.sessionmaker() as session:
        await disable_client(session, Origin(operator="tests"), credentials.client_id)
        await session.commit()
    assert_invalid_token(await ask_graphql(tokens.http, token))
    response = await token_request(tokens.http, credentials.client_id, credentials.client_secret)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_malformed_token_requests_are_refused_without_a_500(tokens: Tokens) -> None:
    credentials = await tokens.client_for("DP-001", ["catalog:read"])
    assert credentials.client_secret is not None
    auth = (credentials.client_id, credentials.client_secret)
    http = tokens.http
    form = "application/x-www-form-urlencoded"
    cases = [
        await http.post("/oauth/token", json={"grant_type": "client_credentials"}, auth=auth),
        await http.post("/oauth/token", data={}, auth=auth),
        await http.post("/oauth/token", data={"grant_type": "password"}, auth=auth),
        await http.post("/oauth/token", data={"grant_type": "authorization_code"}, auth=auth),
        await http.post(
            "/oauth/token",
            content=b"grant_type=client_credentials&grant_type=client_credentials",
            headers={"content-type": form},
            auth=auth,
        ),
        await http.post(
            "/oauth/token",
            content=b"grant_type=client_credentials&scope=\xff\xfe",
            headers={"content-type": form},
            auth=auth,
        ),
        await http.post(
            "/oauth/token",
            content=b"grant_type=client_credentials&pad=" + b"x" * 20_000,
            headers={"content-type": form},
            auth=auth,
        ),
        await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"authorization": "Basic %%%not-base64"},
        ),
        await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"authorization": "Basic " + "w6k=".strip()},  # "é": no colon
        ),
        await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"authorization": "Bearer something"},
        ),
        await http.post("/oauth/token", data={"grant_type": "client_credentials"}),
        await http.get("/oauth/token"),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
        assert "access_token" not in response.text


async def test_issuance_and_refusals_are_audited_without_secrets(
    tokens: Tokens, database: Database
) -> None:
    credentials = await tokens.client_for("DP-001", ["catalog:read"])
    assert credentials.client_secret is not None
    good = await token_request(tokens.http, credentials.client_id, credentials.client_secret)
    await token_request(tokens.http, credentials.client_id, "wrong-secret")
    async with database.sessionmaker() as session:
        records = (
            await session.scalars(
                select(AuditRecord).where(AuditRecord.actor_client_id == credentials.client_id)
            )
        ).all()
    actions = [record.action for record in records]
    assert AuditAction.TOKEN_ISSUED.value in actions
    assert AuditAction.TOKEN_REFUSED.value in actions
    issued = next(r for r in records if r.action == AuditAction.TOKEN_ISSUED.value)
    assert issued.request_id and issued.detail and issued.detail["outcome"] == "success"
    text = repr([(r.before, r.after, r.detail) for r in records])
    assert credentials.client_secret not in text
    assert good.json()["access_token"] not in text


async def test_a_legacy_scrypt_secret_still_works_and_is_stored_keyed_after_its_first_use(
    tokens: Tokens, database: Database
) -> None:
    credentials = await tokens.client_for("DP-002", ["catalog:read"])
    secret = credentials.client_secret
    assert secret is not None
    legacy = scrypt_hash(secret, n=2**10)
    stored = "SELECT secret_hash FROM oauth_clients WHERE client_id = :id"
    async with database.sessionmaker() as session:
        await session.execute(
            text("UPDATE oauth_clients SET secret_hash = :hash WHERE client_id = :id"),
            {"hash": legacy, "id": credentials.client_id},
        )
        await session.commit()
    # A wrong secret against the scrypt hash changes nothing.
    wrong = await token_request(tokens.http, credentials.client_id, "not-the-secret")
    assert wrong.status_code == 401
    async with database.sessionmaker() as session:
        assert await session.scalar(text(stored), {"id": credentials.client_id}) == legacy
    for _ in range(2):  # the first use rewrites the hash, the second checks the new one
        response = await token_request(tokens.http, credentials.client_id, secret)
        assert response.status_code == 200, response.text
        async with database.sessionmaker() as session:
            now = await session.scalar(text(stored), {"id": credentials.client_id})
        assert now.startswith("hmac-sha256$v1$") and secret not in now


async def test_a_secret_hashed_under_another_master_key_is_refused(
    tokens: Tokens, database: Database
) -> None:
    async with database.sessionmaker() as session:
        foreign = await create_client(
            session,
            Origin(operator="tests"),
            partner_code="DP-001",
            scopes=["catalog:read"],
            master_key=b"another deployment's master key",
        )
        await session.commit()
    assert foreign.client_secret is not None
    response = await token_request(tokens.http, foreign.client_id, foreign.client_secret)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_each_issuance_is_audited_with_the_tokens_jti(
    tokens: Tokens, database: Database
) -> None:
    credentials = await tokens.client_for("DP-001", ["catalog:read"])
    assert credentials.client_secret is not None
    issued = []
    for _ in range(2):
        response = await token_request(
            tokens.http, credentials.client_id, credentials.client_secret
        )
        payload = response.json()["access_token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        issued.append(claims["jti"])
    async with database.sessionmaker() as session:
        records = (
            await session.scalars(
                select(AuditRecord).where(
                    AuditRecord.actor_client_id == credentials.client_id,
                    AuditRecord.action == AuditAction.TOKEN_ISSUED.value,
                )
            )
        ).all()
    assert sorted(r.entity_id for r in records if r.entity_type == "access_token") == sorted(issued)
