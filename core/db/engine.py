"""The async engine and sessionmaker, made once per process in the app's lifespan."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.db.actor import ActingFor, actor_info
from core.db.session import TRANSACTION_POOLER_OPTION, SerializedAsyncSession
from core.db.urls import async_url

CONNECT_TIMEOUT_SECONDS = 5

# Every statement is bound by a timeout, so one runaway query cannot hold a worker.
SESSION_SETTINGS = {"statement_timeout": "30000", "jit": "off"}


def _unique_statement_name() -> str:
    return f"__prakerja_{uuid.uuid4().hex}__"


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    transaction_pooler: bool = False,
    pre_ping: bool = False,
) -> AsyncEngine:
    connect_args: dict[str, Any] = {"server_settings": SESSION_SETTINGS}
    database_url = async_url(url)
    if transaction_pooler:
        # PgBouncer (1.18 in Debian 12, before 1.21's prepared-statement tracking) hands
        # each transaction whichever server connection is free: a statement prepared on one
        # is unknown, or another's under the same name, on the next. So no cache (each
        # statement is prepared inside the transaction that runs it) and names that never
        # collide. It also refuses startup parameters it does not track: the timeouts are
        # set on the role instead (deploy/local/cluster.py does).
        connect_args = {
            "statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
        }
        database_url = database_url.update_query_dict({"prepared_statement_cache_size": "0"})
    return create_async_engine(
        database_url,
        # Read by core.db.session.autocommit_session: behind the pooler a statement outside
        # a transaction may be prepared on one server connection and run on another.
        execution_options={TRANSACTION_POOLER_OPTION: transaction_pooler},
        # Every connection the pool opens stays open, up to ``pool_size``: with an overflow
        # above it, a load that hovered around the pool's size opened a connection and
        # closed another many times a second (192 in 10 s of bench/purchases), each a new
        # PostgreSQL backend that planned every statement again: 67% of a core, and the
        # purchases ran a fifth slower. A burst beyond the pool waits in its queue instead.
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=pre_ping,
        # While PostgreSQL is unreachable a request fails within seconds (a 503): the connect
        # timeout bounds it. The pool's queue keeps its 30 seconds, so a burst that waits for
        # a free connection on a busy machine is served late rather than refused.
        connect_args={**connect_args, "timeout": CONNECT_TIMEOUT_SECONDS},
    )


def create_sessionmaker(
    engine: AsyncEngine, *, actor: ActingFor | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions of the engine; with ``actor``, each acts for it in every transaction (the
    worker and maintenance commands: ``core.db.actor.SYSTEM``), else for whom the caller
    binds (``core.db.actor.bind_actor``), else for nobody."""
    # expire_on_commit=False: objects stay readable after the one commit of a request.
    return async_sessionmaker(
        engine,
        class_=SerializedAsyncSession,
        expire_on_commit=False,
        autoflush=False,
        info=actor_info(actor),
    )
