"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from auth.keys import active_key, decrypt_private_jwk
from auth.runtime import AuthRuntime
from core.db.database import Database
from core.db.migrate import current_revision, head_revision
from core.sealed import WrongMasterKey

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
    master_key_problem = await _master_key_problem(request)
    if master_key_problem is not None:
        return JSONResponse(
            {"status": "unavailable", "reason": master_key_problem}, status_code=503
        )
    return JSONResponse({"status": "ready", "revision": revision})


async def _master_key_problem(request: Request) -> str | None:
    """Why the configured master key cannot open the active signing key, if it cannot: a
    gateway that would answer every token request with an error is not ready."""
    database: Database = request.app.state.database
    runtime: AuthRuntime = request.app.state.auth
    try:
        async with database.sessionmaker() as session:
            row = await active_key(session)
        if row is not None:
            decrypt_private_jwk(runtime.master_key, row.kid, row.private_jwk_encrypted)
    except WrongMasterKey as exc:
        return f"wrong master key: {exc}"
    return None
