"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from core.db.database import Database
from core.db.migrate import current_revision, head_revision

READINESS_TIMEOUT_SECONDS = 3.0


async def healthz(request: Request) -> JSONResponse:
    """The process is alive and answering; says nothing about its dependencies."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers and its schema is at the migration head."""
    if getattr(request.app.state, "draining", False):
        # SIGTERM arrived: the load balancer should stop sending before we stop accepting.
        return JSONResponse({"status": "unavailable", "reason": "shutting down"}, status_code=503)
    database: Database = request.app.state.database
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                revision = await current_revision(connection)
    except Exception as exc:  # any failure to reach the database means not ready
        return JSONResponse(
            {"status": "unavailable", "reason": f"database unreachable: {type(exc).__name__}"},
            status_code=503,
        )
    head = head_revision()
    if revision != head:
        return JSONResponse(
            {
                "status": "unavailable",
                "reason": f"migrations not at head (database {revision}, code {head})",
            },
            status_code=503,
        )
    return JSONResponse({"status": "ready", "revision": revision})
