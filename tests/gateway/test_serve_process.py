"""The real command: ``serve`` on the embedded database starts, answers, and leaves no orphan."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from auth.admin import create_client
from auth.audit import Origin
from core.db import migrate
from core.db.actor import APP_ROLE
from core.db.database import Database
from core.db.urls import as_role
from tests.support.databases import DatabaseFactory
from tests.support.gateway import TEST_MASTER_KEY
from tests.support.processes import postgres_processes

# Each test here starts a PostgreSQL server or a gateway process of its own: one worker
# runs them one after another, so two never race for the CPU within pg_ctl's start timeout.
pytestmark = pytest.mark.xdist_group("own_servers")

CATALOG = "query Catalog { courses(first: 2) { edges { node { code } } } }"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(environment: dict[str, str]) -> subprocess.Popen[bytes]:
    """``serve`` in a process of its own, one worker, its errors kept for the test."""
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for(url: str, within: float) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_serve_on_the_embedded_database_stops_it_on_a_signal(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    port = _free_port()
    environment = {
        **os.environ,
        "PRAKERJA_DATA_DIR": str(tmp_path),
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_MASTER_KEY": "serve-test-key",
        "PRAKERJA_LOG_LEVEL": "WARNING",
    }
    environment.pop("PRAKERJA_DATABASE_URL", None)
    server = _serve(environment)
    try:
        alive = _wait_for(f"http://127.0.0.1:{port}/healthz", within=60)
        assert alive.status_code == 200
        # Not migrated yet: ready says so, with a reason, instead of failing later.
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 503
        assert "migrations" in ready.json()["reason"]
        assert postgres_processes(tmp_path / "pgdata")
    finally:
        server.send_signal(stop_signal)
        _, errors = server.communicate(timeout=60)
    assert postgres_processes(tmp_path / "pgdata") == [], errors.decode()[-2000:]


def _sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
async def committed_database(databases: DatabaseFactory) -> AsyncIterator[Database]:
    """A database of its own whose writes another process sees (not the rolled-back one)."""
    from gateway.seed import seed_database

    url = await databases.create("serve")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_database(url, participants=50)
    database = Database.connect(url, pool_size=1)
    yield database
    await database.dispose()


async def test_workers_share_metrics_and_sigterm_finishes_an_accepted_request(
    committed_database: Database, tmp_path: Path
) -> None:
    database = committed_database
    async with database.sessionmaker() as session:
        credentials = await create_client(
            session,
            Origin(operator="tests"),
            partner_code="DP-001",
            scopes=["catalog:read"],
            master_key=TEST_MASTER_KEY.encode(),
            name="serve test",
        )
        await session.commit()
    port, metrics_port = _free_port(), _free_port()
    environment = {
        **os.environ,
        "PRAKERJA_DATABASE_URL": as_role(database.url, APP_ROLE),
        "PRAKERJA_DATA_DIR": str(tmp_path),
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_METRICS_PORT": str(metrics_port),
        "PRAKERJA_MASTER_KEY": TEST_MASTER_KEY,
        "PRAKERJA_LOG_LEVEL": "WARNING",
        "PRAKERJA_SHUTDOWN_TIMEOUT_SECONDS": "20",
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--workers", "2"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait_for(f"{base}/healthz", within=60).status_code == 200
        issued = httpx.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials.client_id, credentials.client_secret or ""),
            timeout=10,
        )
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(6):
            with httpx.Client(timeout=10) as fresh:  # new connections spread over the workers
                answer = fresh.post(f"{base}/graphql", json={"query": CATALOG}, headers=headers)
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        scraped = _wait_for(f"http://127.0.0.1:{metrics_port}/metrics", within=10).text
        labels = {"operation": "Catalog", "partner_type": "PLATFORM", "outcome": "ok"}
        assert _sample(scraped, "prakerja_requests_total", **labels) == 6

        # An accepted request still arriving when SIGTERM comes is answered in full.
        body = json.dumps({"query": CATALOG}).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
            slow.sendall(
                b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body[:10]
            )
            time.sleep(0.5)
            server.send_signal(signal.SIGTERM)
            time.sleep(1.5)
            slow.sendall(body[10:])
            response = b""
            while chunk := slow.recv(65536):
                response += chunk
        head, _, payload = response.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), response[:500]
        assert b'"courses"' in payload
        # And then the gateway stops, accepting nothing new.
        server.wait(timeout=30)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{base}/healthz", timeout=2)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)  # the workers too
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors.decode()[-3000:]


def test_serve_refuses_to_start_without_a_master_key(tmp_path: Path) -> None:
    environment = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    environment.pop("PRAKERJA_MASTER_KEY", None)
    environment.pop("PRAKERJA_DEMO", None)
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "PRAKERJA_MASTER_KEY" in done.stderr
    assert not (tmp_path / "pgdata").exists()


def _writes_of(pid: int) -> int:
    """The write system calls the process has made (``syscw`` of /proc/<pid>/io)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise AssertionError("no syscw in /proc/<pid>/io")


def _exchange(connection: socket.socket, request: bytes) -> bytes:
    """One request on a kept-alive connection, and its whole response (by Content-Length)."""
    connection.sendall(request)
    response = b""
    while b"\r\n\r\n" not in response:
        response += connection.recv(65536)
    head, _, body = response.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


async def test_each_response_leaves_in_one_write_and_whole(
    committed_database: Database, tmp_path: Path
) -> None:
    """uvicorn writes a response's headers and its body apart; the gateway's protocol
    (gateway/http_protocol.py) writes what one step of the loop produced at once: one
    system call per response, with large answers still whole and in order."""
    port = _free_port()
    environment = {
        **os.environ,
        "PRAKERJA_DATABASE_URL": as_role(committed_database.url, APP_ROLE),
        "PRAKERJA_DATA_DIR": str(tmp_path),
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_MASTER_KEY": TEST_MASTER_KEY,
        "PRAKERJA_LOG_LEVEL": "WARNING",
    }
    server = _serve(environment)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/healthz", within=60).status_code == 200
        probe = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            _exchange(connection, probe)
            before = _writes_of(server.pid)
            answers = [_exchange(connection, probe) for _ in range(20)]
            written = _writes_of(server.pid) - before
        assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers)
        assert all(answer.endswith(b'{"status":"ok"}') for answer in answers)
        assert written < 30, written  # 40 with the headers and the body written apart
        # A large answer (the schema's introspection, written in several pieces) arrives
        # whole: it parses.
        introspection = {"query": "{ __schema { types { name fields { name } } } }"}
        answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json=introspection, timeout=10)
        assert answer.status_code in (200, 401), answer.text[:200]
        assert answer.json()
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    # SIGTERM ends it as a SystemExit of 128 + 15 (gateway/cli.py), after a clean shutdown.
    assert server.returncode == 128 + signal.SIGTERM, errors.decode()[-3000:]
    assert b"Traceback" not in errors, errors.decode()[-3000:]
