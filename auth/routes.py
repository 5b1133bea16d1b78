"""The authorization server's HTTP endpoints (Starlette).

``POST /oauth/token``, ``POST /oauth/introspect``, ``POST /oauth/revoke``,
``GET /.well-known/oauth-authorization-server`` and ``GET /.well-known/jwks.json``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth import throttle
from auth.audit import AuditAction, Origin, audit
from auth.clients import load_client
from auth.keys import ALGORITHM, ensure_signing_keys, published_keys
from auth.runtime import AuthRuntime
from auth.scopes import Scope
from auth.server import (
    ASSERTION_ALGORITHMS,
    CLIENT_AUTH_FAILED,
    CLIENT_AUTH_METHODS,
    Decisions,
    GatewayAuthorizationServer,
    GatewayOAuth2Request,
    OAuthResult,
    Preloaded,
    PresentedToken,
)
from auth.tokens import InvalidToken, audience_of, issuer_of, live_principal
from core.db.database import Database
from core.models import RevokedToken, UsedClientAssertion

log = logging.getLogger("auth.oauth")

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path
INTROSPECT_PATH = "/oauth/introspect"
REVOKE_PATH = "/oauth/revoke"
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 20
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class MalformedRequest(Exception):
    """The request is not a well-formed OAuth form post; answered before authlib runs."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.result = OAuthResult(
            status,
            {"error": error, "error_description": description},
            [("Content-Type", "application/json"), *_NO_STORE.items()],
        )


async def read_form(request: Request) -> list[tuple[str, str]]:
    """The urlencoded body: bounded, UTF-8, no repeated parameter (RFC 6749 section 3.2)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_TYPE:
        raise MalformedRequest("invalid_request", f"the body must be {FORM_TYPE}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise MalformedRequest("invalid_request", "the request body is too large")
    try:
        pairs = parse_qsl(
            bytes(body).decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise MalformedRequest("invalid_request", "the request body is malformed") from None
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise MalformedRequest("invalid_request", "a parameter is repeated")
    return pairs


def basic_client_id(request: Request) -> str | None:
    """The client id of HTTP Basic credentials, refusing any that authlib could choke on."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise MalformedRequest("invalid_client", CLIENT_AUTH_FAILED, status=401)
    try:
        decoded = base64.b64decode(value.strip().encode("ascii"), validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        raise MalformedRequest("invalid_client", CLIENT_AUTH_FAILED, status=401) from None
    client_id, colon, _ = decoded.partition(":")
    if not colon or not client_id:
        raise MalformedRequest("invalid_client", CLIENT_AUTH_FAILED, status=401)
    return unquote(client_id)


def assertion_claims(form: dict[str, str]) -> tuple[str, str] | None:
    """(sub, jti) of a client assertion, read without verification, to load what it needs."""
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        return None
    parts = form.get("client_assertion", "").split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(payload, dict):
        return None
    sub, jti = payload.get("sub"), payload.get("jti")
    if not isinstance(sub, str) or not isinstance(jti, str):
        return None
    return sub, jti


def claimed_client_id(
    request: Request, form: dict[str, str]
) -> tuple[str | None, tuple[str, str] | None]:
    assertion = assertion_claims(form)
    basic = basic_client_id(request)
    if basic is not None:
        return basic, assertion
    if assertion is not None:
        return assertion[0], assertion
    return form.get("client_id"), None


def _respond(result: OAuthResult) -> Response:
    headers = {name: value for name, value in result.headers if name.lower() != "content-type"}
    body = result.body if isinstance(result.body, str) else json.dumps(result.body)
    return Response(body, status_code=result.status, headers=headers, media_type="application/json")


def _runtime(request: Request) -> tuple[AuthRuntime, Database]:
    return request.app.state.auth, request.app.state.database


async def _preload(
    session: AsyncSession, request: Request, form: dict[str, str]
) -> tuple[Preloaded, str | None]:
    client_id, assertion = claimed_client_id(request, form)
    preloaded = Preloaded(client=await load_client(session, client_id or ""))
    if assertion is not None:
        sub, jti = assertion
        preloaded.assertion_seen = (
            await session.get(UsedClientAssertion, (sub, jti[:256])) is not None
        )
    return preloaded, client_id


async def _remember_assertion(session: AsyncSession, decision: tuple[str, str, int]) -> bool:
    """Records a client assertion's jti; False if another request used it first."""
    client_id, jti, exp = decision
    now = datetime.now(UTC)
    await session.execute(
        delete(UsedClientAssertion).where(
            UsedClientAssertion.client_id == client_id, UsedClientAssertion.expires_at < now
        )
    )
    inserted = await session.scalar(
        insert(UsedClientAssertion)
        .values(client_id=client_id, jti=jti, expires_at=datetime.fromtimestamp(exp, UTC))
        .on_conflict_do_nothing()
        .returning(UsedClientAssertion.jti)
    )
    return inserted is not None


async def _audit_outcome(
    session: AsyncSession,
    request: Request,
    decisions: Decisions,
    preloaded: Preloaded,
    claimed: str | None,
    *,
    success: AuditAction,
    **detail: Any,
) -> None:
    client = decisions.authenticated
    partner_id = preloaded.client.partner_id if client is not None and preloaded.client else None
    if decisions.error is None:
        await audit(
            session,
            success,
            Origin.of(request),
            client_id=client.get_client_id() if client else claimed,
            partner_id=partner_id,
            **detail,
        )
    else:
        await audit(
            session,
            AuditAction.TOKEN_REFUSED,
            Origin.of(request),
            client_id=(claimed or "")[:64] or None,
            partner_id=partner_id,
            outcome="failure",
            endpoint=request.url.path,
            error=decisions.error,
            reason=decisions.error_detail,
        )


async def token_endpoint(request: Request) -> Response:
    runtime, database = _runtime(request)
    try:
        pairs = await read_form(request)
        form = dict(pairs)
        async with database.sessionmaker() as session:
            preloaded, claimed = await _preload(session, request, form)
            address = request.client.host if request.client is not None else None
            wait = await throttle.wait_seconds(session, claimed, address)
            if wait > 0:
                description = f"too many failed authentications; retry after {wait} s"
                return _respond(
                    OAuthResult(
                        429,
                        {"error": "slow_down", "error_description": description},
                        [("Retry-After", str(wait)), *_NO_STORE.items()],
                    )
                )
            key_row = await ensure_signing_keys(session, runtime.master_key)
            preloaded.signing_key = runtime.private_keys.load(key_row)
            server = GatewayAuthorizationServer(runtime.settings, preloaded)
            oauth_request = GatewayOAuth2Request(
                issuer_of(runtime.settings) + TOKEN_PATH, request.headers, pairs
            )
            async with runtime.hash_slots:
                result: OAuthResult = await asyncio.to_thread(
                    server.create_token_response, oauth_request
                )
            decisions = server.decisions
            replayed = (
                result.status == 200
                and decisions.assertion is not None
                and not await _remember_assertion(session, decisions.assertion)
            )
            if replayed:  # another request used this assertion between our check and now
                decisions.error, decisions.error_detail = "invalid_client", "replayed jti"
                result = MalformedRequest("invalid_client", CLIENT_AUTH_FAILED, 401).result
            if decisions.error == "invalid_client":
                await throttle.record_failure(session, claimed, address)
            elif decisions.error is None:
                await throttle.record_success(session, claimed)
            issued = decisions.issued if decisions.error is None else None
            await _audit_outcome(
                session,
                request,
                decisions,
                preloaded,
                claimed,
                success=AuditAction.TOKEN_ISSUED,
                scope=issued.get("scope") if issued else None,
                kid=preloaded.signing_key.kid,
                method=oauth_request.auth_method,
            )
            await session.commit()
    except MalformedRequest as exc:
        return _respond(exc.result)
    return _respond(result)


async def _present(
    session: AsyncSession, runtime: AuthRuntime, preloaded: Preloaded, token: str
) -> None:
    preloaded.presented_string = token
    try:
        verified = await runtime.verifier.verify_signature(session, token)
    except InvalidToken:
        return
    try:
        await live_principal(session, verified)
        live = True
    except InvalidToken:
        live = False
    preloaded.presented = PresentedToken(verified=verified, live=live)


async def _token_management(request: Request, endpoint: str) -> Response:
    """Introspection and revocation: authenticate the client, then act on its own token."""
    runtime, database = _runtime(request)
    try:
        pairs = await read_form(request)
        form = dict(pairs)
        async with database.sessionmaker() as session:
            preloaded, claimed = await _preload(session, request, form)
            await _present(session, runtime, preloaded, form.get("token", ""))
            server = GatewayAuthorizationServer(runtime.settings, preloaded)
            oauth_request = GatewayOAuth2Request(
                issuer_of(runtime.settings) + request.url.path, request.headers, pairs
            )
            async with runtime.hash_slots:
                result: OAuthResult = await asyncio.to_thread(
                    server.create_endpoint_response, endpoint, oauth_request
                )
            decisions = server.decisions
            revoked = decisions.revoke
            if revoked is not None and decisions.error is None:
                await session.execute(
                    insert(RevokedToken)
                    .values(
                        jti=revoked.jti,
                        client_id=revoked.client_id,
                        expires_at=datetime.fromtimestamp(revoked.expires_at, UTC),
                    )
                    .on_conflict_do_nothing()
                )
            replayed = (
                decisions.error is None
                and decisions.assertion is not None
                and not await _remember_assertion(session, decisions.assertion)
            )
            if replayed:
                await session.rollback()
                return _respond(MalformedRequest("invalid_client", CLIENT_AUTH_FAILED, 401).result)
            if endpoint == "revocation":
                await _audit_outcome(
                    session,
                    request,
                    decisions,
                    preloaded,
                    claimed,
                    success=AuditAction.TOKEN_REVOKED,
                    entity=("access_token", revoked.jti) if revoked else None,
                    revoked=revoked is not None,
                )
            elif decisions.error is not None:
                await _audit_outcome(
                    session,
                    request,
                    decisions,
                    preloaded,
                    claimed,
                    success=AuditAction.TOKEN_REFUSED,
                )
            await session.commit()
            if revoked is not None and decisions.error is None:
                # This process refuses the token from its very next request; the others
                # drop theirs when the commit's NOTIFY reaches them (auth/principal_cache.py).
                runtime.principals.invalidate()
    except MalformedRequest as exc:
        return _respond(exc.result)
    return _respond(result)


async def introspection_endpoint(request: Request) -> Response:
    return await _token_management(request, "introspection")


async def revocation_endpoint(request: Request) -> Response:
    return await _token_management(request, "revocation")


async def jwks_endpoint(request: Request) -> Response:
    runtime, database = _runtime(request)
    async with database.sessionmaker() as session:
        await ensure_signing_keys(session, runtime.master_key)
        rows = await published_keys(session, retain=runtime.retention)
        await session.commit()
    # Short caching: a new key is published one whole rotation before it signs.
    return JSONResponse(
        {"keys": [row.public_jwk for row in rows]},
        headers={"Cache-Control": "public, max-age=300"},
    )


async def metadata_endpoint(request: Request) -> Response:
    runtime, _ = _runtime(request)
    issuer = issuer_of(runtime.settings)
    return JSONResponse(
        {
            "issuer": issuer,
            "token_endpoint": issuer + TOKEN_PATH,
            "jwks_uri": issuer + JWKS_PATH,
            "introspection_endpoint": issuer + INTROSPECT_PATH,
            "revocation_endpoint": issuer + REVOKE_PATH,
            "scopes_supported": [scope.value for scope in Scope],
            "response_types_supported": [],
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
            "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
            "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
            "access_token_signing_alg_values_supported": [ALGORITHM],
            "protected_resources": [audience_of(runtime.settings)],
        },
        headers={"Cache-Control": "public, max-age=3600"},
    )


routes = [
    Route(TOKEN_PATH, token_endpoint, methods=["POST"]),
    Route(INTROSPECT_PATH, introspection_endpoint, methods=["POST"]),
    Route(REVOKE_PATH, revocation_endpoint, methods=["POST"]),
    Route(JWKS_PATH, jwks_endpoint, methods=["GET"]),
    Route(METADATA_PATH, metadata_endpoint, methods=["GET"]),
]
