"""HTTP middleware: request ids and one structured access-log line per request."""

from __future__ import annotations

import json
import logging
import os
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.db.availability import is_unavailable
from core.errors import ErrorCode
from core.log_context import client_id_var, request_id_var
from core.sealed import WrongMasterKey
from gateway.errors import RETRY_AFTER_SECONDS, internal_body, unavailable_body

log = logging.getLogger("gateway.access")
errors_log = logging.getLogger("gateway.errors")

REQUEST_ID_HEADER = "x-request-id"
_HEADER_NAME = REQUEST_ID_HEADER.encode()
# A caller's id is echoed back, so it must be harmless: short, and no control characters.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the caller (or makes one) and returns it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, REQUEST_ID_HEADER)
        request_id = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else _new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        client_token = client_id_var.set(None)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Only this middleware names the header: added, never replaced.
                message["headers"] = [*message.get("headers", ()), (_HEADER_NAME, id_bytes)]
            await send(message)

        id_bytes = request_id.encode("latin-1")
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):  # the line's fields cost more than the check
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            client_id_var.reset(client_token)
            request_id_var.reset(token)


def _new_id() -> str:
    # 32 random hex digits, like uuid4().hex, without building a UUID object per request
    # (a few percent of a cached answer's time).
    return os.urandom(16).hex()


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


MAX_BODY_BYTES = 1024 * 1024  # far above any real GraphQL document with its variables
REQUEST_TOO_LARGE = ErrorCode.REQUEST_TOO_LARGE.value


class BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """Refuses request bodies over ``MAX_BODY_BYTES`` with 413 before anyone buffers them.

    The declared ``Content-Length`` is checked up front; a chunked body is counted as it
    arrives, so a client cannot stream an unbounded document into the parser.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, "content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send)


async def _too_large(send: Send) -> None:
    error = {"message": "request body too large", "extensions": {"code": REQUEST_TOO_LARGE}}
    body = json.dumps({"errors": [error]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ErrorEnvelopeMiddleware:
    """Whatever escapes a route leaves as JSON: 503 with ``Retry-After`` when the database is
    unreachable, otherwise a masked 500 with an error id (the log keeps the trace). Starlette's
    own last resort would answer in plain text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            error_id = os.urandom(16).hex()
            if isinstance(exc, WrongMasterKey):
                errors_log.error("misconfigured", extra={"error_id": error_id, "reason": str(exc)})
                body = unavailable_body(error_id)
                body["errors"][0]["message"] = (
                    "The service is misconfigured and cannot sign or open keys; "
                    f"quote error id {error_id} to the programme."
                )
                await _send_json(send, 503, body, [])
            elif is_unavailable(exc):
                errors_log.warning(
                    "database unavailable",
                    extra={"error_id": error_id, "reason": type(exc).__name__},
                )
                await _send_json(
                    send,
                    503,
                    unavailable_body(error_id),
                    [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
                )
            else:
                errors_log.error("unexpected error", exc_info=exc, extra={"error_id": error_id})
                await _send_json(send, 500, internal_body(error_id), [])


async def _send_json(
    send: Send, status: int, payload: object, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
