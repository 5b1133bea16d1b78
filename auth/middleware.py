"""Bearer authentication of GraphQL requests, before strawberry runs.

No credentials: 401 with a bare ``WWW-Authenticate: Bearer`` challenge (RFC 6750 section
3.1). A token that is malformed, badly signed, expired, not yet valid, for another audience
or issuer, revoked, or whose client or partner is disabled: 401 with
``error="invalid_token"``. The token itself is never logged.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse

from auth.runtime import AuthRuntime
from auth.tokens import InvalidToken, live_principal
from core.errors import ErrorCode
from core.log_context import client_id_var
from core.principal import Principal

log = logging.getLogger("auth.bearer")

REALM = "prakerja-gateway"


class Unauthenticated(Exception):
    """Carries the 401 answer; the view returns it instead of running the operation."""

    def __init__(self, description: str | None) -> None:
        super().__init__(description or "authentication required")
        self.response = unauthenticated_response(description)


def unauthenticated_response(description: str | None) -> JSONResponse:
    challenge = f'Bearer realm="{REALM}"'
    if description is not None:
        challenge += f', error="invalid_token", error_description="{description}"'
    message = description or "an access token is required (Authorization: Bearer ...)"
    body: dict[str, Any] = {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": ErrorCode.UNAUTHENTICATED}}],
    }
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": challenge})


def bearer_token(request: Request) -> str | None:
    return bearer_of(request.headers.get("authorization"))


def bearer_of(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header value, or None."""
    if header is None:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip()


def is_ide_page_request(request: Request) -> bool:
    """A browser asking for the GraphiQL page itself: there is no operation to protect."""
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "query" not in request.query_params
        and "documentId" not in request.query_params
    )


async def authenticate(
    request: Request, sessionmaker: async_sessionmaker[AsyncSession], runtime: AuthRuntime
) -> Principal:
    """The verified caller, or ``Unauthenticated`` with the 401 to send.

    A token this process verified before, with nothing changed since, is answered from the
    principal cache without a session; any other is checked against the database.
    """
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated(None)
    principal = runtime.principals.get(token)
    if principal is None:
        principal = await _verify(token, sessionmaker, runtime)
    client_id_var.set(principal.client_id)
    request.state.principal = principal
    return principal


async def _verify(
    token: str, sessionmaker: async_sessionmaker[AsyncSession], runtime: AuthRuntime
) -> Principal:
    # Read before the live state is: a change signalled meanwhile keeps this out of the cache.
    generation = runtime.principals.generation
    try:
        async with sessionmaker() as session:
            verified = await runtime.verifier.verify_signature(session, token)
            principal = await live_principal(session, verified)
    except InvalidToken as exc:
        log.info("bearer token refused", extra={"reason": exc.description})
        raise Unauthenticated(exc.description) from None
    runtime.principals.put(token, principal, expires_at=verified.expires_at, generation=generation)
    return principal
