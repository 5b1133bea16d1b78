"""``GET /disbursements/batches/{code}/items.jsonl``: a batch's items as streamed JSON lines.

The same bearer token, scope and tenancy as GraphQL: 401 without a valid token, 403 without
``disbursement:read``, 404 for a batch that is not the caller's. The rows come from a
database in keyset chunks, in a session of their own, a chunk at a time, so memory stays
flat whatever the batch's size.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from auth.middleware import Unauthenticated, authenticate
from auth.scopes import Scope
from core.db.actor import ActingFor, bind_actor
from core.db.database import Database
from core.errors import ErrorCode, GatewayError
from core.principal import Principal
from resolvers.disbursements.batches import batch_by_code
from resolvers.disbursements.export import item_lines

JSONL = "application/jsonl"


def _refusal(code: ErrorCode, message: str, status: int) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


async def batch_items_jsonl(request: Request) -> Response:
    database: Database = request.app.state.database
    try:
        principal = await authenticate(request, database.sessionmaker, request.app.state.auth)
    except Unauthenticated as refused:
        return refused.response
    if not principal.has_scope(Scope.DISBURSEMENT_READ):
        return _refusal(ErrorCode.FORBIDDEN, "this needs the scope disbursement:read", 403)
    code = request.path_params["code"]
    async with database.sessionmaker() as session:
        bind_actor(session, ActingFor.of(principal))
        try:
            batch = await batch_by_code(session, principal, code)
        except GatewayError as refused:
            return _refusal(refused.code, refused.message, 404)
    return StreamingResponse(
        _stream(database, principal, batch.id),
        media_type=JSONL,
        headers={"X-Item-Count": str(batch.item_count), "X-Control-Sum": str(batch.control_sum)},
    )


async def _stream(database: Database, principal: Principal, batch_id: int) -> AsyncIterator[str]:
    # A session of its own (not the tenancy check's): the response outlives that one.
    async with database.sessionmaker() as session:
        bind_actor(session, ActingFor.of(principal))
        connection = await session.connection()
        async for chunk in item_lines(connection, principal, batch_id):
            yield chunk


routes = [
    Route("/disbursements/batches/{code}/items.jsonl", batch_items_jsonl, methods=["GET"]),
]
