"""The embedded PostgreSQL starts, is reused by the next start, and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import psutil
import pytest

from core.db import migrate
from gateway.embedded import EmbeddedPostgres
from tests.support.processes import postgres_processes

# Each test here starts a PostgreSQL server or a gateway process of its own: one worker
# runs them one after another, so two never race for the CPU within pg_ctl's start timeout.
pytestmark = pytest.mark.xdist_group("own_servers")


async def _select_one(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval("SELECT 1"))
    finally:
        await connection.close()


def _crashing_gateway(data_dir: Path) -> int:
    """Starts the server from another process that then dies without any cleanup."""
    script = (
        "import os, sys; from pathlib import Path; from gateway.embedded import EmbeddedPostgres;"
        "e = EmbeddedPostgres(Path(sys.argv[1])); e.start(); print(e.pid, flush=True);"
        "os.kill(os.getpid(), 9)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(data_dir)], capture_output=True, text=True, check=False
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    return int(result.stdout.strip())


async def test_start_reuse_and_clean_stop(tmp_path: Path) -> None:
    first = EmbeddedPostgres(tmp_path)
    url = await asyncio.to_thread(first.start)
    assert await _select_one(url) == 1
    # The same migrations run on the embedded PostgreSQL 18 as on the PostgreSQL 15 of CI.
    await asyncio.to_thread(migrate.upgrade, url)
    connection = await asyncpg.connect(url)
    try:
        assert str(await connection.fetchval("SHOW server_version")).startswith("18")
        assert await connection.fetchval("SELECT prakerja_fold('Pémrograman')") == "pemrograman"
    finally:
        await connection.close()
    pid = first.pid
    assert pid is not None

    # A second handle on the same data directory reuses the running server.
    second = EmbeddedPostgres(tmp_path)
    assert await asyncio.to_thread(second.start) == url
    assert second.pid == pid

    await asyncio.to_thread(first.stop)
    await asyncio.to_thread(second.stop)
    assert postgres_processes(tmp_path / "pgdata") == []


async def test_server_orphaned_by_a_crash_is_reused_then_stopped(tmp_path: Path) -> None:
    orphan_pid = _crashing_gateway(tmp_path)
    assert psutil.pid_exists(orphan_pid)  # the crash left postgres running

    embedded = EmbeddedPostgres(tmp_path)
    assert await _select_one(await asyncio.to_thread(embedded.start)) == 1
    assert embedded.pid == orphan_pid
    await asyncio.to_thread(embedded.stop)
    assert postgres_processes(tmp_path / "pgdata") == []


async def test_stale_postmaster_pid_is_recovered(tmp_path: Path) -> None:
    """postgres itself killed: postmaster.pid stays behind and must not block the next start."""
    orphan_pid = _crashing_gateway(tmp_path)
    os.kill(orphan_pid, signal.SIGKILL)
    psutil.Process(orphan_pid).wait(5) if psutil.pid_exists(orphan_pid) else None
    assert (tmp_path / "pgdata" / "postmaster.pid").exists()

    embedded = EmbeddedPostgres(tmp_path)
    assert await _select_one(await asyncio.to_thread(embedded.start)) == 1
    assert embedded.pid != orphan_pid
    await asyncio.to_thread(embedded.stop)
    assert postgres_processes(tmp_path / "pgdata") == []


async def test_another_process_letting_go_does_not_stop_the_server(tmp_path: Path) -> None:
    """A second command (``prakerja-gateway outbox`` beside a running demo) shares the server."""
    embedded = EmbeddedPostgres(tmp_path)
    url = await asyncio.to_thread(embedded.start)
    script = (
        "import sys; from pathlib import Path; from gateway.embedded import EmbeddedPostgres;"
        "e = EmbeddedPostgres(Path(sys.argv[1])); e.start(); e.stop()"
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert await _select_one(url) == 1  # still serving the first process
    await asyncio.to_thread(embedded.stop)
    assert postgres_processes(tmp_path / "pgdata") == []
