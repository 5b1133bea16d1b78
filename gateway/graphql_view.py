"""The GraphQL endpoint: one database session per request, committed or rolled back here.

This is the one place a request's transaction ends: it commits once the operation has run.
Each mutation field ran in its own savepoint (``schema/transactions.py``), so a refused field
has already undone its own writes; an exception that escapes the operation rolls it all back.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import orjson
from graphql import GraphQLSchema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from auth.middleware import Unauthenticated, authenticate, is_ide_page_request
from core.db.database import Database
from core.db.driver_session import DriverStatements
from core.db.routing import Route
from core.db.session import autocommit_session
from core.errors import ErrorCode
from gateway import idempotency, read_routing, trusted_documents
from gateway.cache import http as catalog_cache
from gateway.errors import RETRY_AFTER_SECONDS, present_error, unavailable_body
from gateway.metrics import DRIVER_TRANSACTIONS, ROUTED
from gateway.rate_limit import Decision, Limiter, client_bucket
from gateway.request_body import GraphQLRequest, MalformedRequest, read_graphql_request
from resolvers.loaders import Loaders
from schema.compiled import FALLBACKS, FallbackReason
from schema.compiled.documents import (
    CompiledBodies,
    CompiledDocument,
    CompiledDocuments,
    DocumentKey,
    document_key,
)
from schema.context import Context
from schema.cost import MAX_QUERY_COST, cost_extension, document_cost
from schema.documents import is_mutation
from schema.transactions import runs_on_driver
from schema.trusted import schema_sha256

log = logging.getLogger(__name__)

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


class GatewayGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: BaseSchema, *, graphiql: bool) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self.compiled_documents = CompiledDocuments()
        # The bodies of documents kept, for the compiled lane (gateway/compiled_lane.py).
        self.compiled_bodies = CompiledBodies()
        self._driver_statements: DriverStatements | None = None

    async def run(  # type: ignore[override]
        self,
        request: Request,
        context: Context | UnsetType = UNSET,
        root_value: UnsetType | None = UNSET,
    ) -> Response:
        database: Database = request.app.state.database
        if not is_ide_page_request(request):
            # Who is calling is settled before anything else runs: a missing or refused
            # token gets its 401 here, never a GraphQL error with status 200.
            try:
                await authenticate(request, database.sessionmaker, request.app.state.auth)
            except Unauthenticated as refused:
                return refused.response
        graphql_request: GraphQLRequest | None = None
        if not is_ide_page_request(request):
            # Read (and a call by id resolved) before the response cache may answer: a
            # registered-only client must be refused an ad-hoc document even when another
            # client's identical request is cached, and an id must be the caller's own.
            read = await self._read(request)
            if isinstance(read, Response):
                return read
            graphql_request = read
        cached = await catalog_cache.lookup(request, _media_type(request))
        if cached is not None and cached.hit is not None:
            return catalog_cache.hit_response(cached.hit)
        rate_headers: dict[str, str] = {}
        compiled_key = _compiled_document_key(request, graphql_request)
        request.state.compiled_key = compiled_key
        compiled = self.compiled_documents.get(compiled_key)
        if graphql_request is not None and graphql_request.document is not None:
            cost = (
                _cost(self.schema._schema, graphql_request)  # type: ignore[attr-defined]
                if compiled is None
                else compiled.cost  # the same document, variables and schema: the same cost
            )
            if cost is not None:
                request.state.cost = cost
                if cost > MAX_QUERY_COST:
                    return _refusal(
                        ErrorCode.QUERY_TOO_COSTLY,
                        f"this document costs {cost} points, above the limit of "
                        f"{MAX_QUERY_COST}: ask for smaller pages or fewer fields",
                        status=400,
                        cost=cost,
                        limit=MAX_QUERY_COST,
                    )
                principal = request.state.principal
                limiter: Limiter = request.app.state.rate_limiter
                # Spent already when the compiled lane stepped aside after spending: a
                # request is charged once (gateway/compiled_lane.py).
                decision = getattr(request.state, "rate_decision", None) or await _spend(
                    request, limiter, principal.client_id, cost, graphql_request
                )
                # Where the client's last write stands in the WAL, from the primary: routing
                # sends its reads to the replica only once it has replayed that far.
                request.state.write_position = decision.write_position
                rate_headers = decision.headers()
                if not decision.allowed:
                    refusal = _refusal(
                        ErrorCode.RATE_LIMITED,
                        f"this client's query-cost budget is spent: {cost} points are needed,"
                        f" {decision.remaining} left; retry after {decision.retry_after} s",
                        status=429,
                        cost=cost,
                        retryAfter=decision.retry_after,
                    )
                    refusal.headers.update(rate_headers)
                    return refusal
        try:
            claim = _idempotency_claim(request, graphql_request)
        except idempotency.InvalidIdempotencyKey as exc:
            return _refusal(ErrorCode.IDEMPOTENCY_KEY_INVALID, str(exc), status=400)
        if compiled is not None:
            answered = await self._answer_compiled(request, compiled, cached)
            if answered is not None:
                catalog_cache.remember(cached, request, answered, graphql_request)
                answered.headers.update(rate_headers)
                await self._learn_body(request, graphql_request, compiled_key)
                return answered
        # The replica for a query when it is safe, else the primary (gateway/read_routing.py).
        route = await read_routing.route_for(request, cached)
        session: Any
        if claim is None and self._on_driver(request, graphql_request, route):
            session = read_routing.open_driver_transaction(
                request, database, self.driver_statements(database)
            )
            DRIVER_TRANSACTIONS.inc()
        else:
            session, route = await read_routing.open_session(request, route)
        ROUTED.labels("replica" if route.replica else "primary").inc()
        async with session:
            request.state.session = session
            record_id: int | None = None
            if claim is not None:
                try:
                    outcome = await idempotency.claim(session, claim, _master_key(request))
                except idempotency.KeyReused:
                    await session.rollback()
                    return _refusal(
                        ErrorCode.IDEMPOTENCY_KEY_REUSED,
                        "this Idempotency-Key was used with another request",
                        status=422,
                    )
                if isinstance(outcome, idempotency.Replay):
                    await session.commit()
                    return _replay(outcome)
                record_id = outcome
            try:
                response = await super().run(request, context, root_value)  # type: ignore[arg-type]
            except BaseException:
                await session.rollback()
                raise
            answer: dict[str, Any] | None = getattr(request.state, "answer", None)
            unavailable = _unavailable_error_id(answer)
            if unavailable is not None:
                # The database went away mid-request: nothing is kept (not even the
                # idempotency claim), and the caller is told to come back.
                with contextlib.suppress(Exception):
                    await session.rollback()
                return JSONResponse(
                    unavailable_body(unavailable),
                    status_code=503,
                    headers={"retry-after": str(RETRY_AFTER_SECONDS)},
                )
            response = self._negotiate(request, response)
            # Nothing to undo here: every mutation field ran in a savepoint of its own and
            # rolled back its own writes when it was refused (schema/transactions.py). The
            # answer, refusals included, is kept with the key so a retry gets the same one.
            if record_id is not None and answer is not None:
                await idempotency.complete(
                    session, record_id, response.status_code, answer, _master_key(request)
                )
            await session.commit()
            await request.app.state.routing.committed(route, session)
        used: Context | None = getattr(request.state, "context", None)
        if (
            used is not None
            and used.compiled_roots
            and self.compiled_documents.consider(
                compiled_key, used.compiled_roots, answer, getattr(request.state, "cost", None)
            )
        ):
            await self._learn_body(request, graphql_request, compiled_key)
        catalog_cache.remember(cached, request, response, graphql_request)
        response.headers.update(rate_headers)
        return response

    def encode_json(self, data: object) -> bytes:
        """The answer as compact UTF-8 JSON; what orjson refuses (an integer beyond 64
        bits, say) is encoded by the standard library instead."""
        try:
            return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET that names a registered document has no ``query`` and is still a call.
        return bool(super().should_render_graphql_ide(request)) and (
            request.query_params.get("documentId") is None
        )

    async def _read(self, request: Request) -> GraphQLRequest | Response:
        """The request read once, a call by id resolved to its document; or the refusal."""
        try:
            read = await read_graphql_request(request)
            read = await trusted_documents.resolve(request, read, request.state.principal)
        except MalformedRequest as exc:
            return _refusal(exc.code, exc.message, status=exc.status)
        except trusted_documents.DocumentRefused as exc:
            return _refusal(exc.code, exc.message, status=exc.status)
        request.state.graphql_request = read
        # A registered document was validated against this schema when it was registered:
        # strawberry's validation step skips it (schema.documents.CheckedValidation).
        request.state.prevalidated = read.trusted is not None and (
            read.trusted.schema_sha256 == schema_sha256(self.schema._schema)  # type: ignore[attr-defined]
        )
        if request.method == "GET" and is_mutation(read.document, read.operation_name):
            # GraphQL over HTTP: a mutation over GET is 405, and nothing runs.
            refusal = _refusal(
                ErrorCode.METHOD_NOT_ALLOWED,
                "mutations are accepted over POST only",
                status=405,
            )
            refusal.headers["allow"] = "POST"
            return refusal
        return read

    async def parse_http_body(self, request: Any) -> GraphQLRequestData:
        # Read and checked once in ``run`` (gateway/request_body.py); strawberry reuses it
        # instead of decoding the body again (the adapter wraps the Starlette request).
        read: GraphQLRequest = request._request.state.graphql_request
        return GraphQLRequestData(
            query=read.query,
            variables=read.variables,
            operation_name=read.operation_name,
            extensions=read.extensions,
            protocol="http",
        )

    def driver_statements(self, database: Database) -> DriverStatements:
        """The process's statements compiled for driver connections (the compiled lane's
        reads, the mutations of ``DriverTransaction``)."""
        if self._driver_statements is None:
            self._driver_statements = DriverStatements(database.engine.dialect)
        return self._driver_statements

    def _on_driver(
        self, request: Request, graphql_request: GraphQLRequest | None, route: Route
    ) -> bool:
        """Whether this request's transaction runs on a driver connection: a document of
        ``schema.transactions.runs_on_driver`` on the primary, with nothing recorded after
        its commit and no tracing (whose spans follow the ORM session's statements)."""
        database: Database = request.app.state.database
        return (
            graphql_request is not None
            and graphql_request.document is not None
            and not route.replica
            and route.remember_commit_of is None
            and not request.app.state.settings.otel_enabled
            and database.driver_transactions
            and runs_on_driver(
                self.schema._schema,  # type: ignore[attr-defined]
                graphql_request.document,
                graphql_request.operation_name,
            )
        )

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        context = _context(request, request.state.session, response)
        if getattr(request.state, "compiled_key", None) is not None:
            context.compiled_roots = []  # a compiled root may make this a compiled document
        request.state.context = context
        return context

    async def _answer_compiled(
        self, request: Request, compiled: CompiledDocument, cached: catalog_cache.Lookup | None
    ) -> Response | None:
        """The answer of a compiled document (``schema.compiled.documents``), or None when
        the normal path must answer it. A read that needs no transaction runs on a
        connection in autocommit: one statement per request instead of BEGIN, the page
        and COMMIT (the public catalog; anything on a partner-owned table, under
        row-level security, keeps its transaction)."""
        route = await read_routing.route_for(request, cached)
        if not route.replica and not compiled.in_transaction:
            session = autocommit_session(route.sessionmaker)
        else:
            session, route = await read_routing.open_session(request, route)
        async with session:
            try:
                data = await compiled.data(self.replay_context(request, session))
            except Exception as failed:
                # The database went away, say: the normal path answers as it always does
                # (a 503 with an errorId), from a fresh session.
                FALLBACKS.record(compiled.root.where, FallbackReason.REPLAY, type(failed).__name__)
                await session.rollback()
                return None
            if data is None:
                await session.rollback()
                return None
            await session.commit()
            await request.app.state.routing.committed(route, session)
        answer = compiled.answer(data)
        request.state.answer = answer
        request.state.request_error = False
        body = self.encode_json(answer)
        return self._negotiate(request, Response(body, media_type="application/json"))

    async def _learn_body(
        self, request: Request, read: GraphQLRequest | None, key: DocumentKey | None
    ) -> None:
        """A body answered by a compiled document: the compiled lane answers these bytes
        next time. Clients differ in how they write the same JSON, so every spelling of a
        kept document is learnt when it is answered, not just the first."""
        if key is not None and _sent_whole(request, read):
            self.compiled_bodies.learn(await request.body(), key)

    def replay_context(self, request: Request, session: Any) -> Context:
        """The context a compiled document's read runs with (here and in the lane)."""
        return _context(request, session, Response())

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response: dict[str, Any] = {}
        request_error = (
            bool(result.errors)
            and result.data is None
            and all(error.path is None for error in result.errors or ())
        )
        # A document that failed to parse or validate never executed: GraphQL over HTTP
        # answers it without a data entry (and, under the graphql-response media type, with
        # 400); an error raised by a field keeps ``data`` (null where the field failed).
        if not request_error:
            response["data"] = result.data
        if result.errors:
            response["errors"] = [present_error(error) for error in result.errors]
        request.state.request_error = request_error
        extensions = dict(result.extensions or {})
        cost = getattr(request.state, "cost", None)
        if cost is not None:
            extensions["cost"] = cost_extension(cost)
        if extensions:
            response["extensions"] = extensions
        request.state.answer = response
        return response  # type: ignore[return-value]

    def _negotiate(self, request: Request, response: Response) -> Response:
        """Serve ``application/graphql-response+json`` to clients that ask for it."""
        if response.media_type != "application/json" or not _prefers_graphql_response(request):
            return response
        response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        if getattr(request.state, "request_error", False) and response.status_code == 200:
            response.status_code = 400
        return response


def _context(request: Request, session: Any, response: Response) -> Context:
    return Context(
        request=request,
        response=response,
        session=session,
        loaders=Loaders(session),
        principal=getattr(request.state, "principal", None),
        request_id=getattr(request.state, "request_id", None),
        compiled_reads=request.app.state.settings.compiled_reads,
        certificate_issuer=request.app.state.certificate_issuer,
    )


def _compiled_document_key(
    request: Request, graphql_request: GraphQLRequest | None
) -> DocumentKey | None:
    """The compiled-document key of a query from an authenticated caller; None for anything
    that is never a compiled document (a mutation, an unparsed document, request
    extensions, the compiled reads switched off)."""
    principal = getattr(request.state, "principal", None)
    if (
        graphql_request is None
        or graphql_request.document is None
        or graphql_request.extensions
        or principal is None
        or not request.app.state.settings.compiled_reads
        or is_mutation(graphql_request.document, graphql_request.operation_name)
    ):
        return None
    return document_key(
        graphql_request.query,
        graphql_request.operation_name,
        graphql_request.variables,
        principal,
        registered=graphql_request.trusted is not None,
    )


def _sent_whole(request: Request, graphql_request: GraphQLRequest | None) -> bool:
    """The request carried its document in its POST body (not by id): the same bytes are
    the same request again, which is what the compiled lane recognises."""
    return (
        request.method == "POST"
        and graphql_request is not None
        and graphql_request.trusted is None
        and graphql_request.document_id is None
        and graphql_request.persisted_hash is None
    )


def _idempotency_claim(
    request: Request, graphql_request: GraphQLRequest | None
) -> idempotency.Claim | None:
    """The claim a mutation with an ``Idempotency-Key`` makes, or None when it makes none."""
    header = request.headers.get(idempotency.IDEMPOTENCY_HEADER)
    principal = getattr(request.state, "principal", None)
    if header is None or principal is None or request.method != "POST":
        return None
    key = idempotency.check_key(header)
    if graphql_request is None or not is_mutation(
        graphql_request.document, graphql_request.operation_name
    ):
        return None
    return idempotency.Claim(
        client_id=principal.client_id,
        key=key,
        request_hash=idempotency.request_hash(graphql_request.payload()),
    )


def _cost(schema: GraphQLSchema, read: GraphQLRequest) -> int | None:
    """The static cost: a registered document's was worked out when it was registered, and
    is worked out again only for a call that sets one of its page-size variables."""
    trusted = read.trusted
    if trusted is not None and not any(
        name in trusted.page_variables for name in (read.variables or {})
    ):
        return trusted.cost
    assert read.document is not None
    return document_cost(schema, read.document, read.operation_name, read.variables)


async def _spend(
    request: Request, limiter: Limiter, client_id: str, cost: int, read: GraphQLRequest
) -> Decision:
    """The request's spend. Only a query that may go to a replica needs the client's
    commit position, which the shared bucket's statement returns (``read_routing``); any
    other request may spend a lease this process holds, or take one (``rate_limit``'s
    "Leases"): a mutation then sends no statement for its budget."""
    key = client_bucket(client_id)
    routing = request.app.state.routing
    if routing.replica is not None and not is_mutation(read.document, read.operation_name):
        return await limiter.spend(key, cost, client_id=client_id)
    local = limiter.spent_locally(key, cost)
    if local is not None:
        return local
    return await limiter.spend(key, cost, client_id=client_id, lease=True)


def _master_key(request: Request) -> bytes:
    return bytes(request.app.state.auth.master_key)


def _unavailable_error_id(answer: dict[str, Any] | None) -> str | None:
    for error in (answer or {}).get("errors") or ():
        extensions = error.get("extensions") or {}
        if extensions.get("code") == ErrorCode.SERVICE_UNAVAILABLE:
            return str(extensions.get("errorId"))
    return None


def _refusal(code: ErrorCode, message: str, *, status: int, **extra: Any) -> JSONResponse:
    error = {"message": message, "extensions": {"code": code, **extra}}
    body = {"data": None, "errors": [error]}
    return JSONResponse(body, status_code=status)


def _replay(replay: idempotency.Replay) -> JSONResponse:
    return JSONResponse(
        replay.body,
        status_code=replay.status,
        headers={idempotency.REPLAYED_HEADER: "true"},
    )


def _media_type(request: Request) -> str:
    return GRAPHQL_RESPONSE_JSON if _prefers_graphql_response(request) else "application/json"


def _prefers_graphql_response(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    # The spec's default for clients that say nothing is still application/json.
    return GRAPHQL_RESPONSE_JSON in accept
