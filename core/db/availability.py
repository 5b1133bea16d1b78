"""Telling "the database cannot be reached" apart from every other failure.

Those are the failures a client should retry after a moment (HTTP 503), not bugs: the
primary restarting, PgBouncer giving up waiting for a server, a connection cut mid-way.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# Class 08 is "connection exception" (PgBouncer's query_wait_timeout and server login
# failures arrive as 08P01); 57P01-03 are a server shutting down or starting up.
_UNAVAILABLE_CLASSES = ("08",)
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03"})
# A database closed to new connections (ALTER DATABASE ... ALLOW_CONNECTIONS false, as an
# operator does for maintenance) refuses them with the generic 55000; only that message of
# the state says the database is out of reach, the rest are errors of a statement.
_NOT_ACCEPTING_STATE = "55000"
_NOT_ACCEPTING = "is not currently accepting connections"
# What a database failure can surface as, for handlers to register on; ``is_unavailable``
# then tells the connection failures among them from the rest.
FAILURE_TYPES: tuple[type[Exception], ...] = (
    DBAPIError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)
_CONNECTION_ERRORS = (
    OSError,  # refused, reset, broken pipe, no route, socket file missing
    TimeoutError,  # connecting
    PoolTimeoutError,  # waiting for a pooled connection
    asyncpg.InterfaceError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.TooManyConnectionsError,
    # asyncpg's protocol caught mid-operation on a connection whose server went away
    # ("cannot switch to state ...; another operation is in progress"): the connection is
    # unusable, which for the caller is the database out of reach.
    asyncpg.InternalClientError,
)


def is_unavailable(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it) means PostgreSQL could not be reached."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and (
            current.connection_invalidated or isinstance(current, InterfaceError | OperationalError)
        ):
            return True
        if isinstance(current, _CONNECTION_ERRORS):
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and (
            state.startswith(_UNAVAILABLE_CLASSES)
            or state in _UNAVAILABLE_STATES
            or (state == _NOT_ACCEPTING_STATE and _NOT_ACCEPTING in str(current))
        ):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def leaves_connection_fit(exc: BaseException) -> bool:
    """Whether a driver connection that raised ``exc`` may serve the next request: only after
    an error PostgreSQL reported on a healthy session. Anything else (unreachable, cancelled
    halfway, asyncpg's own protocol state in doubt) and it is closed rather than handed on."""
    return isinstance(exc, asyncpg.PostgresError) and not is_unavailable(exc)
