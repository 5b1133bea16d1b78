"""The change listener notices a connection that dies without a word, and caches go dark."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

import asyncpg
import pytest

from core.db import listener as listener_module
from core.db.listener import ChangeListener
from tests.support.databases import DatabaseFactory


class Recorder:
    """A subscriber that remembers what it was told, and lets a test wait for it."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self._updated = asyncio.Event()

    def _record(self, event: str) -> None:
        self.events.append(event)
        self._updated.set()

    def changed(self, payload: str) -> None:
        self._record(f"changed:{payload}")

    def go_live(self) -> None:
        self._record("live")

    def go_dark(self) -> None:
        self._record("dark")

    async def until(self, check: Callable[[list[str]], bool], within: float) -> None:
        async with asyncio.timeout(within):
            while not check(self.events):
                self._updated.clear()
                await self._updated.wait()


async def _listener_backend_pid(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        for _ in range(50):
            pid = await connection.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
                " AND datname = current_database() ORDER BY backend_start DESC LIMIT 1"
            )
            if pid is not None:
                return int(pid)
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    raise AssertionError("no listening backend found")


@pytest.mark.skipif(os.geteuid() != 0, reason="stopping a PostgreSQL backend needs root")
async def test_a_silent_connection_is_detected_by_the_heartbeat(
    databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listener_module, "HEARTBEAT_SECONDS", 0.2)
    monkeypatch.setattr(listener_module, "HEARTBEAT_TIMEOUT_SECONDS", 0.3)
    url = await databases.create("listener")
    recorder = Recorder()
    listener = ChangeListener(url, {"prakerja_test": recorder})
    await listener.start()
    assert recorder.events[-1] == "live"

    connection = await asyncpg.connect(url)
    await connection.execute("NOTIFY prakerja_test, 'courses'")
    await connection.close()
    await recorder.until(lambda events: "changed:courses" in events, within=5)

    # The backend stops answering without closing its socket, like a network partition.
    backend = await _listener_backend_pid(url)
    os.kill(backend, signal.SIGSTOP)
    try:
        await recorder.until(lambda events: events[-1] == "dark", within=5)
    finally:
        os.kill(backend, signal.SIGCONT)
    # And it comes back on a new connection, live (emptied) again.
    await recorder.until(lambda events: events[-1] == "live", within=10)
    await listener.stop()
    assert recorder.events[-1] == "dark"
