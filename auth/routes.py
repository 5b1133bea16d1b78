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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth import token_requests
from auth.audit import AuditAction, Origin, audit_row
from auth.clients import load_client
from auth.keys import ALGORITHM, PrivateSigningKey, ensure_signing_keys, published_keys
from auth.runtime import AuthRuntime
from auth.scopes import Scope
from auth.secrets import is_slow
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
from core.models import AuditRecord, OAuthClient, RevokedToken, UsedClientAssertion

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


def _outcome_audit(
    request: Request,
    decisions: Decisions,
    preloaded: Preloaded,
    claimed: str | None,
    *,
    success: AuditAction,
    entity: tuple[str, str] | None = None,
    **detail: Any,
) -> dict[str, Any]:
    client = decisions.authenticated
    partner_id = preloaded.client.partner_id if client is not None and preloaded.client else None
    if decisions.error is None:
        return audit_row(
            success,
            Origin.of(request),
            client_id=client.get_client_id() if client else claimed,
            partner_id=partner_id,
            entity=entity,
            **detail,
        )
    return audit_row(
        AuditAction.TOKEN_REFUSED,
        Origin.of(request),
        client_id=(claimed or "")[:64] or None,
        partner_id=partner_id,
        outcome="failure",
        endpoint=request.url.path,
        error=decisions.error,
        reason=decisions.error_detail,
    )


async def _audit_outcome(
    session: AsyncSession,
    request: Request,
    decisions: Decisions,
    preloaded: Preloaded,
    claimed: str | None,
    *,
    success: AuditAction,
    entity: tuple[str, str] | None = None,
    **detail: Any,
) -> None:
    row = _outcome_audit(
        request, decisions, preloaded, claimed, success=success, entity=entity, **detail
    )
    session.add(AuditRecord(**row))


async def _run(
    runtime: AuthRuntime, preloaded: Preloaded, call: Callable[..., OAuthResult], *args: Any
) -> OAuthResult:
    """authlib's decision: on the event loop, unless the client's secret is still an scrypt
    hash (tens of milliseconds of CPU, run in a thread, at most one per core at a time)."""
    stored = preloaded.client.secret_hash if preloaded.client is not None else None
    if not is_slow(stored):
        return call(*args)
    async with runtime.hash_slots:
        return await asyncio.to_thread(call, *args)


async def _store_rehash(session: AsyncSession, decisions: Decisions, preloaded: Preloaded) -> None:
    """A client that authenticated against a legacy scrypt hash gets its keyed hash stored.

    Only if the row still holds the hash that was checked: a secret rotated meanwhile wins.
    """
    client = decisions.authenticated
    if client is None or client.rehashed is None or decisions.error is not None:
        return
    assert preloaded.client is not None
    await session.execute(
        update(OAuthClient)
        .where(
            OAuthClient.client_id == preloaded.client.client_id,
            OAuthClient.secret_hash == preloaded.client.secret_hash,
        )
        .values(secret_hash=client.rehashed)
    )


async def token_endpoint(request: Request) -> Response:
    """Client credentials: one reading statement, authlib, one writing statement.

    See auth/token_requests.py for what is read and written, and why outside the ORM.
    """
    runtime, database = _runtime(request)
    try:
        pairs = await read_form(request)
        claimed, assertion = claimed_client_id(request, dict(pairs))
        address = request.client.host if request.client is not None else None
        async with database.driver_connection() as connection:
            state = await token_requests.read_state(connection, claimed, address, assertion)
            wait = state.wait_seconds
            if wait > 0:
                description = f"too many failed authentications; retry after {wait} s"
                return _respond(
                    OAuthResult(
                        429,
                        {"error": "slow_down", "error_description": description},
                        [("Retry-After", str(wait)), *_NO_STORE.items()],
                    )
                )
            signing_key = runtime.private_keys.cached(state.active_kid)
            if signing_key is None:
                signing_key = await _signing_key(runtime, database)
            preloaded = Preloaded(
                client=state.client, signing_key=signing_key, assertion_seen=state.assertion_seen
            )
            server = GatewayAuthorizationServer(runtime.settings, preloaded, runtime.secret_hasher)
            oauth_request = GatewayOAuth2Request(
                issuer_of(runtime.settings) + TOKEN_PATH, request.headers, pairs
            )
            result: OAuthResult = await _run(
                runtime, preloaded, server.create_token_response, oauth_request
            )
            decisions = server.decisions
            authenticated = decisions.authenticated
            rehashed = authenticated.rehashed if authenticated is not None else None
            if decisions.error is None and decisions.assertion is None and rehashed is None:
                # The common case: the audit record (and a cleared counter), one statement.
                outcome = _token_outcome(request, server, oauth_request, claimed, None)
                await token_requests.record_outcome(connection, state, outcome)
            else:
                async with connection.transaction():
                    if (
                        decisions.error is None
                        and decisions.assertion is not None
                        and not await token_requests.record_assertion(
                            connection, decisions.assertion
                        )
                    ):  # another request used this assertion between our check and now
                        decisions.error, decisions.error_detail = "invalid_client", "replayed jti"
                        result = MalformedRequest("invalid_client", CLIENT_AUTH_FAILED, 401).result
                    outcome = _token_outcome(request, server, oauth_request, claimed, rehashed)
                    await token_requests.record_outcome(connection, state, outcome)
    except MalformedRequest as exc:
        return _respond(exc.result)
    return _respond(result)


def _token_outcome(
    request: Request,
    server: GatewayAuthorizationServer,
    oauth_request: GatewayOAuth2Request,
    claimed: str | None,
    rehashed: str | None,
) -> token_requests.Outcome:
    """What a token request writes: every issuance and every refusal is audited one by one.

    Per token, not aggregated: an issuance is the moment a credential was used, and its
    record (client, address, request id, the token's jti) is what ties a token seen later,
    or a leaked secret used from an unexpected address, back to a request. Partners hold a
    token for its lifetime, so real traffic is a few issuances per client per hour; the
    record costs one row in the statement that is sent anyway.
    """
    decisions, preloaded = server.decisions, server.preloaded
    assert preloaded.signing_key is not None
    issued = decisions.issued if decisions.error is None else None
    jti = server.generator.issued_jti if issued and server.generator else None
    row = _outcome_audit(
        request,
        decisions,
        preloaded,
        claimed,
        success=AuditAction.TOKEN_ISSUED,
        entity=("access_token", jti) if jti else None,
        scope=issued.get("scope") if issued else None,
        kid=preloaded.signing_key.kid,
        method=oauth_request.auth_method,
    )
    return token_requests.Outcome(
        audit=row,
        succeeded=decisions.error is None,
        failed_authentication=decisions.error == "invalid_client",
        rehashed=rehashed,
        assertion=decisions.assertion,
    )


async def _signing_key(runtime: AuthRuntime, database: Database) -> PrivateSigningKey:
    """The active signing key when this process has not decrypted it yet (or there is none:
    then the first one is made)."""
    async with database.sessionmaker() as session:
        row = await ensure_signing_keys(session, runtime.master_key)
        await session.commit()
    return runtime.private_keys.load(row)


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
            server = GatewayAuthorizationServer(runtime.settings, preloaded, runtime.secret_hasher)
            oauth_request = GatewayOAuth2Request(
                issuer_of(runtime.settings) + request.url.path, request.headers, pairs
            )
            result = await _run(
                runtime, preloaded, server.create_endpoint_response, endpoint, oauth_request
            )
            decisions = server.decisions
            await _store_rehash(session, decisions, preloaded)
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
