"""How errors leave the gateway: a stable code for expected ones, a masked id for the rest."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.db.availability import is_unavailable
from core.errors import ErrorCode, GatewayError

log = logging.getLogger("gateway.errors")

# Seconds a client should wait before trying again while the database is unreachable.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; retry after a few seconds."


def unavailable_body(error_id: str) -> dict[str, Any]:
    extensions = {"code": ErrorCode.SERVICE_UNAVAILABLE.value, "errorId": error_id}
    return {"errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": extensions}]}


def internal_body(error_id: str) -> dict[str, Any]:
    message = f"Internal error; quote error id {error_id} to the programme."
    extensions = {"code": ErrorCode.INTERNAL_ERROR.value, "errorId": error_id}
    return {"errors": [{"message": message, "extensions": extensions}]}


def present_error(error: GraphQLError) -> dict[str, Any]:
    """The JSON form of one GraphQL error, with ``extensions.code`` always set.

    Expected failures (``GatewayError``) keep their message and code. Errors graphql-core
    raises itself (syntax, validation, variable coercion) have no original error and are
    shown as they are. Anything else is a bug: the client gets an error id, the log gets the
    stack trace under that id, and no internal detail leaves the process.
    """
    original = error.original_error
    # graphql-core wraps a scalar's refusal of a variable in further GraphQLErrors.
    while isinstance(original, GraphQLError):
        original = original.original_error
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path:
        formatted["path"] = error.path
    if isinstance(original, GatewayError):
        formatted["extensions"] = {"code": original.code, **original.extensions}
    elif original is None:
        code = (error.extensions or {}).get("code") or ErrorCode.GRAPHQL_VALIDATION_FAILED
        formatted["extensions"] = {**(error.extensions or {}), "code": code}
    elif is_unavailable(original):
        error_id = uuid.uuid4().hex
        log.warning(
            "database unavailable",
            extra={"error_id": error_id, "reason": type(original).__name__, "path": error.path},
        )
        formatted["message"] = UNAVAILABLE_MESSAGE
        formatted["extensions"] = {"code": ErrorCode.SERVICE_UNAVAILABLE, "errorId": error_id}
    else:
        error_id = uuid.uuid4().hex
        log.error(
            "unexpected error in resolver",
            exc_info=(type(original), original, original.__traceback__),
            extra={"error_id": error_id, "path": error.path},
        )
        formatted["message"] = f"Internal error; quote error id {error_id} to the programme."
        formatted["extensions"] = {"code": ErrorCode.INTERNAL_ERROR, "errorId": error_id}
    return formatted


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """The database out of reach is a 503 to retry, in the GraphQL error shape (JSON).

    Registered per exception type (``FAILURE_TYPES``), so Starlette answers without
    re-raising and the connection stays usable: a load balancer that reuses it for the
    next request must not find it closed. Anything else goes on to the error envelope
    (``gateway.middleware.ErrorEnvelopeMiddleware``), which masks it as an internal error.
    """
    if not is_unavailable(exc):
        raise exc
    error_id = uuid.uuid4().hex
    log.warning("database unavailable", extra={"error_id": error_id, "reason": type(exc).__name__})
    body = {"data": None, **unavailable_body(error_id)}
    return JSONResponse(body, status_code=503, headers={"retry-after": str(RETRY_AFTER_SECONDS)})
