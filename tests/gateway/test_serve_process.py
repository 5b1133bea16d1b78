"""The real command: ``serve`` on the embedded database starts, answers, and leaves no orphan."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.processes import postgres_processes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
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
