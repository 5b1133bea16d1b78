"""Choosing a request's database (``core.db.routing``) from what the HTTP request is.

A request may go to the read replica only when its document is a query (never a mutation,
nor anything unreadable), and not when its answer is about to fill the catalog response
cache: that cache is emptied by the primary's NOTIFY, which can arrive before the replica
has replayed the change, and an answer read from the replica then would stay stale until
the next change. A replica that refuses the connection sends the request to the primary.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from core.db.actor import ActingFor, bind_actor
from core.db.database import Database
from core.db.driver_session import DriverStatements
from core.db.driver_transaction import DriverTransaction
from core.db.routing import ReadRouting, Route
from gateway.cache.http import Lookup
from gateway.cache.policy import Operation, classify

log = logging.getLogger(__name__)


async def route_for(request: Request, cached: Lookup | None) -> Route:
    routing: ReadRouting = request.app.state.routing
    principal = getattr(request.state, "principal", None)
    client_id = None if principal is None else principal.client_id
    # The view parsed the request once before routing it (gateway/request_body.py).
    parsed = getattr(request.state, "graphql_request", None)
    operation = (
        Operation.UNKNOWN if parsed is None else classify(parsed.document, parsed.operation_name)
    )
    return routing.route(
        client_id=client_id,
        read_only=_replica_safe(request, operation, cached),
        # Only a mutation's commit is recorded for read-your-writes; a query on the primary
        # (one that fills the response cache, say) has nothing to record.
        writes=operation is Operation.WRITE,
        # Read with the rate-limit spend (gateway/graphql_view.py); absent, not the replica.
        write_position=getattr(request.state, "write_position", None),
    )


def _replica_safe(request: Request, operation: Operation, cached: Lookup | None) -> bool:
    if request.method != "POST":
        return False  # GET queries are rare; mutations over GET are refused anyway
    if operation is Operation.OTHER_READ:
        return True
    fills_cache = cached is not None and cached.key is not None
    return operation is Operation.CACHEABLE_READ and not fills_cache


def open_driver_transaction(
    request: Request, database: Database, statements: DriverStatements
) -> DriverTransaction:
    """The request's transaction on a driver connection of the primary, acting for the
    caller as a session does (``core/db/driver_transaction.py``)."""
    return DriverTransaction(database, statements, _actor_of(request))


def _actor_of(request: Request) -> ActingFor | None:
    return ActingFor.of(getattr(request.state, "principal", None))


async def open_session(request: Request, route: Route) -> tuple[AsyncSession, Route]:
    """A session on the route's database, connected; the primary if the replica refuses."""
    actor = _actor_of(request)
    session = route.sessionmaker()
    # Before the first statement: every transaction of the request acts for the caller
    # (row-level security's second line, core/db/actor.py).
    bind_actor(session, actor)
    if not route.replica:
        return session, route
    try:
        await session.connection()
    except Exception:
        await session.close()
        routing: ReadRouting = request.app.state.routing
        routing.replica_failed()
        log.warning("the read replica refused a connection: this read goes to the primary")
        route = routing.route(client_id=None, read_only=False, writes=False, write_position=None)
        session = route.sessionmaker()
        bind_actor(session, actor)
        return session, route
    return session, route
