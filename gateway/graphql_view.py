"""The GraphQL endpoint: one database session per request, committed or rolled back here.

This is the one place a request's transaction ends. A result with any error rolls the whole
operation back, so a refused mutation never leaves a partial write.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gateway.context import Context
from gateway.db.database import Database
from gateway.errors import present_error
from resolvers.loaders import Loaders

log = logging.getLogger(__name__)

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


class GatewayGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: BaseSchema, *, graphiql: bool) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)

    async def run(  # type: ignore[override]
        self,
        request: Request,
        context: Context | UnsetType = UNSET,
        root_value: UnsetType | None = UNSET,
    ) -> Response:
        database: Database = request.app.state.database
        async with database.sessionmaker() as session:
            request.state.session = session
            try:
                response = await super().run(request, context, root_value)  # type: ignore[arg-type]
            except BaseException:
                await session.rollback()
                raise
            context_made: Context | None = getattr(request.state, "context", None)
            if context_made is None or context_made.failed:
                await session.rollback()
            else:
                await session.commit()
        return self._negotiate(request, response)

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        session = request.state.session
        context = Context(
            request=request,
            response=response,
            session=session,
            loaders=Loaders(session),
            principal=getattr(request.state, "principal", None),
            request_id=getattr(request.state, "request_id", None),
        )
        request.state.context = context
        return context

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [present_error(error) for error in result.errors]
            context: Context | None = getattr(request.state, "context", None)
            if context is not None:
                context.failed = True
            # No data and no error raised from a field means the operation never executed
            # (a parse or validation failure): GraphQL over HTTP answers that with 400 under
            # the graphql-response media type, and a field error with 200.
            request.state.request_error = result.data is None and all(
                error.path is None for error in result.errors
            )
        if result.extensions:
            response["extensions"] = result.extensions
        return response  # type: ignore[return-value]

    def _negotiate(self, request: Request, response: Response) -> Response:
        """Serve ``application/graphql-response+json`` to clients that ask for it."""
        if response.media_type != "application/json" or not _prefers_graphql_response(request):
            return response
        response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        if getattr(request.state, "request_error", False) and response.status_code == 200:
            response.status_code = 400
        return response


def _prefers_graphql_response(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    # The spec's default for clients that say nothing is still application/json.
    return GRAPHQL_RESPONSE_JSON in accept
