"""Liveness, readiness, request ids."""

from __future__ import annotations

import http.server
import os
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from core.db import migrate
from core.db.database import Database
from tests.support.databases import DatabaseFactory
from tests.support.gateway import make_client


async def test_healthz_and_readyz_when_all_is_well(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["revision"] == migrate.head_revision()


async def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    # Nothing listens on port 1; the probe must answer, not hang or raise.
    database = Database.connect("postgresql://postgres@127.0.0.1:1/none")
    async with make_client(database) as http:
        response = await http.get("/readyz")
        assert (await http.get("/healthz")).status_code == 200
    await database.dispose()
    assert response.status_code == 503
    assert "database unreachable" in response.json()["reason"]


async def test_readyz_is_503_when_migrations_are_behind(databases: DatabaseFactory) -> None:
    database = Database.connect(await databases.create("unmigrated"))
    async with make_client(database) as http:
        response = await http.get("/readyz")
    await database.dispose()
    assert response.status_code == 503
    assert "migrations not at head" in response.json()["reason"]


async def test_request_id_is_taken_from_the_caller_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "partner-req-42"})
    assert given.headers["x-request-id"] == "partner-req-42"
    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    hostile = await client.get("/healthz", headers={"X-Request-ID": "a\tb" * 50})
    assert hostile.headers["x-request-id"] != "a\tb" * 50


def test_docker_healthcheck_follows_the_port(repo_root: Path) -> None:
    line = next(
        line.strip()
        for line in (repo_root / "Dockerfile").read_text().splitlines()
        if line.strip().startswith("CMD python -c")
    )
    check = shlex.split(line.removeprefix("CMD "))

    class Ready(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with http.server.HTTPServer(("127.0.0.1", 0), Ready) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = str(server.server_address[1])
        try:
            done = subprocess.run(
                [sys.executable, *check[1:]],
                env={**os.environ, "PRAKERJA_PORT": port},
                capture_output=True,
                timeout=30,
                check=False,
            )
        finally:
            server.shutdown()
    assert done.returncode == 0, done.stderr
