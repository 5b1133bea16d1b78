"""The compiled lane: a compiled document replayed straight off the ASGI messages.

A partner's client sends the same request body again and again. Once the view has answered
a body through the normal path and kept it as a compiled document
(``schema.compiled.documents``), the same bytes from a caller of the same class are a
replay: everything the normal path decided from the body (that it is JSON of the right
shape, with no hostile string, that the document parses, validates and is a query, its
cost, its operation) holds for those bytes, so the lane does not decide it again. It takes
the caller from the principal cache, spends the rate-limit budget, runs the compiled read
and writes the answer, without Starlette's request, strawberry or graphql-core.

Tenancy is not in any key: the read runs with the current caller, as on the normal path.

The lane steps aside (the request goes on to the view, with its body replayed) whenever the
normal path has something to decide: a token not in the principal cache, a client that runs
registered documents only, an ``Idempotency-Key``, a body it has not seen answered, a read
that needs a transaction (row-level security) or a replica, the response cache or tracing
on. A read that fails (its own refusal, the database gone) also steps aside: the normal
path answers it as it always does, and the budget already spent is handed to it
(``state["rate_decision"]``), so one request is charged once.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.middleware import bearer_of
from core.db.driver_session import DriverSession, DriverStatements, RiderStopped
from core.log_context import client_id_var
from core.principal import Principal
from gateway.graphql_view import GRAPHQL_RESPONSE_JSON, GatewayGraphQL
from gateway.metrics import COMPILED_LANE
from gateway.middleware import MAX_BODY_BYTES
from gateway.rate_limit import Decision, Limiter, client_bucket
from schema.compiled import FALLBACKS, FallbackReason
from schema.compiled.documents import CompiledDocument

_GRAPHQL_RESPONSE: Final = GRAPHQL_RESPONSE_JSON.encode()
_JSON_CONTENT_TYPES: Final = (b"application/json", b"application/json; charset=utf-8")


class CompiledLane:
    """ASGI middleware in front of the view; see the module docstring."""

    def __init__(self, app: ASGIApp, *, view: GatewayGraphQL) -> None:
        self.app = app
        self.view = view
        self.statements: DriverStatements | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        if not _lane_open(state):
            await self.app(scope, receive, send)
            return
        token, wants_graphql_response, plain = _headers(scope)
        principal = None if token is None or not plain else state.auth.principals.get(token)
        if principal is None or principal.registered_documents_only:
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive)
        replay = _replaying(body, complete, receive)
        compiled = None
        if complete:
            key = self.view.compiled_bodies.key(body, principal)
            compiled = self.view.compiled_documents.get(key)
        if compiled is None or compiled.in_transaction:
            await self.app(scope, replay, send)
            return
        answered = await self._answer(scope, state, principal, compiled, wants_graphql_response)
        if answered is None:
            await self.app(scope, replay, send)
            return
        status, payload, headers = answered
        COMPILED_LANE.inc()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _answer(
        self,
        scope: Scope,
        state: Any,
        principal: Principal,
        compiled: CompiledDocument,
        wants_graphql_response: bool,
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]] | None:
        scope_state = scope.setdefault("state", {})
        scope_state["principal"] = principal
        scope_state["cost"] = compiled.cost
        client_id_var.set(principal.client_id)
        limiter: Limiter = state.rate_limiter
        database = state.database
        if self.statements is None:
            self.statements = self.view.driver_statements(database)
        key = client_bucket(principal.client_id)
        cost = compiled.cost or 0
        # Spent in this process (a lease held, or the demo's own buckets), or by a rider;
        # the lane reads from the primary only, so it asks for leases.
        local = limiter.spent_locally(key, cost)
        rider = None
        if local is None:
            rider = limiter.rider(key, cost, client_id=principal.client_id, lease=True)
        else:
            scope_state["rate_decision"] = local
            if not local.allowed:
                return None  # the view answers the 429 with this decision
        try:
            # One connection for the budget and the read. The read touches no partner-owned
            # table (``in_transaction`` is False): each statement commits by itself, and the
            # shared bucket's spend rides on the read's first statement (one round trip).
            async with database.driver_connection() as connection:
                session = DriverSession(connection, self.statements, rider)
                try:
                    data = await compiled.data(self.view.replay_context(Request(scope), session))
                except RiderStopped:
                    return None  # the read did not run: the view answers the 429
                finally:
                    # Once the spend rode, its decision is the request's, whatever came
                    # after it: the view never spends again.
                    if rider is not None and session.rider_row is not None:
                        scope_state["rate_decision"] = limiter.decided(rider, session.rider_row)
                if session.rider is not None:
                    # No statement ran for the rider to ride on: the budget is spent alone.
                    alone = await limiter.spend(
                        key, cost, client_id=principal.client_id, connection=connection, lease=True
                    )
                    scope_state["rate_decision"] = alone
                    if not alone.allowed:
                        return None  # the view answers the 429 with this decision
        except Exception as failed:
            # The database went away, say: the view answers as it always does (a JSON 503),
            # charging the request itself unless the budget was spent here.
            FALLBACKS.record(compiled.root.where, FallbackReason.REPLAY, type(failed).__name__)
            return None
        if data is None:
            return None
        charged: Decision = scope_state["rate_decision"]
        answer = compiled.answer(data)
        scope_state["answer"] = answer
        payload: bytes = self.view.encode_json(answer)
        content_type = (
            _GRAPHQL_RESPONSE + b"; charset=utf-8"
            if wants_graphql_response
            else b"application/json"
        )
        headers = [
            (b"content-length", str(len(payload)).encode()),
            (b"content-type", content_type),
            *((name.encode(), value.encode()) for name, value in charged.headers().items()),
        ]
        return 200, payload, headers


def _lane_open(state: Any) -> bool:
    """The lane serves only where the view would replay on the primary without a cache or
    tracing in between."""
    settings = state.settings
    return bool(
        settings.compiled_reads
        and not settings.catalog_cache
        and not settings.otel_enabled
        and state.routing.replica is None
    )


def _headers(scope: Scope) -> tuple[str | None, bool, bool]:
    """The bearer token, whether the caller asks for graphql-response+json, and whether the
    request is a plain JSON POST (no ``Idempotency-Key``: only a mutation has a use for it,
    and the view decides what it means)."""
    token = None
    wants_graphql_response = False
    plain = False
    for name, value in scope["headers"]:
        if name == b"authorization":
            token = bearer_of(value.decode("latin-1"))
        elif name == b"content-type":
            plain = value.lower() in _JSON_CONTENT_TYPES
        elif name == b"accept":
            wants_graphql_response = _GRAPHQL_RESPONSE in value
        elif name == b"idempotency-key":
            return None, False, False
    return token, wants_graphql_response, plain


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The body, and False when it is too large to be one the view answered (the view will
    refuse it with its own 413: what was read is handed on)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks), False
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A ``receive`` that gives the view what the lane already read, then the rest."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay
