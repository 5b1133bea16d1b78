"""How errors leave the gateway: a stable code for expected ones, a masked id for the rest."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from graphql import GraphQLError

from core.errors import ErrorCode, GatewayError

log = logging.getLogger("gateway.errors")


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
