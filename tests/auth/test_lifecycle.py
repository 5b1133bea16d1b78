"""Discovery, introspection, revocation, suspension and signing-key rotation."""

from __future__ import annotations

import warnings
from datetime import timedelta

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from auth.admin import rotate_keys, set_partner_status
from auth.audit import Origin
from auth.keys import rotate_signing_keys
from core.db.database import Database
from core.enums import PartnerStatus, SigningKeyStatus
from core.models import SigningKey
from core.settings import Settings
from tests.support.auth import (
    AUDIENCE,
    ISSUER,
    ask_graphql,
    assert_invalid_token,
    b64,
    header_of,
)
from tests.support.gateway import TEST_MASTER_KEY, Tokens


async def _introspect(tokens: Tokens, partner: str, scopes: list[str], token: str) -> dict:
    credentials = await tokens.client_for(partner, scopes)
    assert credentials.client_secret is not None
    response = await tokens.http.post(
        "/oauth/introspect",
        data={"token": token},
        auth=(credentials.client_id, credentials.client_secret),
    )
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


async def test_metadata_names_the_endpoints(client: httpx.AsyncClient) -> None:
    metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == ISSUER
    assert metadata["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert metadata["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert "catalog:read" in metadata["scopes_supported"]


async def test_introspection_shows_own_tokens_only(tokens: Tokens) -> None:
    own = await tokens.issue("DP-001", ["catalog:read"])
    body = await _introspect(tokens, "DP-001", ["catalog:read"], own)
    assert body["active"] is True
    assert body["sub"] == "DP-001" and body["scope"] == "catalog:read"
    assert body["aud"] == AUDIENCE and body["iss"] == ISSUER
    # Another partner's token, and garbage, are simply inactive: nothing is revealed.
    assert await _introspect(tokens, "DP-002", ["catalog:read"], own) == {"active": False}
    assert await _introspect(tokens, "DP-001", ["catalog:read"], "garbage") == {"active": False}


async def test_a_revoked_token_is_refused_at_once(tokens: Tokens) -> None:
    token = await tokens.issue("DP-001", ["catalog:read"])
    assert (await ask_graphql(tokens.http, token)).status_code == 200
    # Another client may not revoke it, and cannot tell it from garbage (no oracle):
    # the same 200 and body as for a string that is no token at all (RFC 7009).
    refused = await tokens.revoke("DP-002", ["catalog:read"], token)
    garbage = await tokens.revoke("DP-002", ["catalog:read"], "garbage")
    assert (refused.status_code, refused.content) == (garbage.status_code, garbage.content)
    assert refused.status_code == 200
    assert (await ask_graphql(tokens.http, token)).status_code == 200
    # ...its own client may.
    assert (await tokens.revoke("DP-001", ["catalog:read"], token)).status_code == 200
    response = await ask_graphql(tokens.http, token)
    assert_invalid_token(response)
    assert "revoked" in response.headers["www-authenticate"]
    assert await _introspect(tokens, "DP-001", ["catalog:read"], token) == {"active": False}
    # Revoking twice, or revoking garbage, is fine (RFC 7009).
    assert (await tokens.revoke("DP-001", ["catalog:read"], token)).status_code == 200
    assert (await tokens.revoke("DP-001", ["catalog:read"], "garbage")).status_code == 200


async def test_a_suspended_partner_is_refused_at_once(tokens: Tokens, database: Database) -> None:
    token = await tokens.issue("LP-0001", ["catalog:read"])
    assert (await ask_graphql(tokens.http, token)).status_code == 200
    async with database.sessionmaker() as session:
        await set_partner_status(
            session, Origin(operator="tests"), "LP-0001", PartnerStatus.SUSPENDED
        )
        await session.commit()
    assert_invalid_token(await ask_graphql(tokens.http, token))
    credentials = await tokens.client_for("LP-0001", ["catalog:read"])
    assert credentials.client_secret is not None
    response = await tokens.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials.client_id, credentials.client_secret),
    )
    assert response.status_code == 401


def _verify_with_cryptography(token: str, jwk: dict) -> None:
    """ES256 checked with nothing but the ``cryptography`` package and the JWKS entry."""
    import base64

    def unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(unb64(jwk["x"]), "big"),
        int.from_bytes(unb64(jwk["y"]), "big"),
        ec.SECP256R1(),
    )
    signing_input, signature = token.rsplit(".", 1)
    raw = unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    numbers.public_key().verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))


async def test_the_jwks_verifies_a_token_with_standard_jose_libraries(tokens: Tokens) -> None:
    token = await tokens.issue("PMO", ["program:admin"])
    jwks = (await tokens.http.get("/.well-known/jwks.json")).json()
    assert all("d" not in key for key in jwks["keys"])  # public halves only
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert decoded.claims["sub"] == "PMO"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # authlib.jose is deprecated in favour of joserfc
        from authlib.jose import JsonWebKey, JsonWebToken

        claims = JsonWebToken(["ES256"]).decode(token, JsonWebKey.import_key_set(jwks))
        claims.validate()
    assert claims["scope"] == "program:admin"
    key = next(k for k in jwks["keys"] if k["kid"] == header_of(token)["kid"])
    _verify_with_cryptography(token, key)
    head, _payload, signature = token.split(".")
    try:
        _verify_with_cryptography(f"{head}.{b64(b'{}')}.{signature}", key)
    except InvalidSignature:
        pass
    else:
        raise AssertionError("a tampered token verified")


async def test_rotation_publishes_the_next_key_before_it_signs_and_keeps_the_old_one(
    tokens: Tokens, database: Database
) -> None:
    before = await tokens.issue("DP-001", ["catalog:read"])
    old_kid = header_of(before)["kid"]
    jwks = (await tokens.http.get("/.well-known/jwks.json")).json()
    async with database.sessionmaker() as session:
        statuses = {
            row.kid: row.status for row in (await session.scalars(select(SigningKey))).all()
        }
    upcoming = [kid for kid, status in statuses.items() if status is SigningKeyStatus.NEXT]
    assert len(upcoming) == 1
    # The next key is listed already, though nothing it signed exists yet.
    assert {key["kid"] for key in jwks["keys"]} == {old_kid, upcoming[0]}

    async with database.sessionmaker() as session:
        settings = Settings(master_key=TEST_MASTER_KEY)
        rotation = await rotate_keys(session, Origin(operator="tests"), settings)
        await session.commit()
    assert rotation.activated == upcoming[0] and rotation.retired == old_kid

    after = await tokens.issue("DP-001", ["catalog:read", "enrollment:read"])
    assert header_of(after)["kid"] == upcoming[0]
    listed = {
        key["kid"] for key in (await tokens.http.get("/.well-known/jwks.json")).json()["keys"]
    }
    assert listed == {old_kid, upcoming[0], rotation.next}
    # Tokens signed by the retired key keep working until they expire.
    assert (await ask_graphql(tokens.http, before)).status_code == 200
    assert (await ask_graphql(tokens.http, after)).status_code == 200

    # Once its tokens must have expired, a later rotation deletes the retired key.
    async with database.sessionmaker() as session:
        later = await rotate_signing_keys(
            session, TEST_MASTER_KEY.encode(), retain=timedelta(seconds=-1)
        )
        await session.commit()
    assert old_kid in later.deleted
    listed = {
        key["kid"] for key in (await tokens.http.get("/.well-known/jwks.json")).json()["keys"]
    }
    assert old_kid not in listed
