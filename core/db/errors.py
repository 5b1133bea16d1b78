"""Telling "the database is unreachable" apart from every other failure.

An outage is nobody's bug: callers get a 503 with ``Retry-After`` instead of a masked
internal error, and the pool reconnects by itself once PostgreSQL is back.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc as sa_exc

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, broken pipe
    OSError,  # no route, socket file missing
    TimeoutError,  # connecting or waiting for a pooled connection
    sa_exc.TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,  # class 57P: shutting down
    asyncpg.exceptions.TooManyConnectionsError,
)


def is_unavailable(error: BaseException | None) -> bool:
    """True when ``error`` (or what caused it) means PostgreSQL could not be reached."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, _UNAVAILABLE):
            return True
        error = error.__cause__ or error.__context__
    return False
