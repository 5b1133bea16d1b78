"""One LISTEN connection per process, dispatching change notifications by channel.

Triggers in the migrations make commits ``NOTIFY`` a channel (0003: ``prakerja_catalog``
for catalog rows; 0004: ``prakerja_identity`` for what can end a token's rights); each
channel has one subscriber in the process, an in-process cache that drops what it holds
when notified. A missed notification would leave a cache stale, so while the connection
is down every subscriber is dark (serves nothing); the listener reconnects with a back-off
and tells the subscribers to go live, emptied, once it listens again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import asyncpg

from core.db.urls import async_url

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0
START_WAIT_SECONDS = 10.0
# A connection can die silently (a network partition sends no reset): a heartbeat query
# bounds how long the caches may go on serving after that, to about these two added up.
HEARTBEAT_SECONDS = 5.0
HEARTBEAT_TIMEOUT_SECONDS = 2.0


class Subscriber(Protocol):
    def changed(self, payload: str) -> None:
        """A commit changed what the subscriber holds (the payload names the table)."""

    def go_live(self) -> None:
        """Notifications arrive from now on: drop everything held, then serve again."""

    def go_dark(self) -> None:
        """Notifications may be missed from now on: drop everything, serve nothing."""


def _asyncpg_dsn(url: str) -> str:
    """asyncpg takes the plain ``postgresql://`` form of the URL (Unix-socket ones too)."""
    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeListener:
    def __init__(self, url: str, subscribers: Mapping[str, Subscriber]) -> None:
        self._dsn = _asyncpg_dsn(url)
        self._subscribers = dict(subscribers)
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._listening = asyncio.Event()

    async def start(self) -> None:
        """Starts listening; returns once the first LISTEN is in place (or after 10 s; the
        subscribers stay dark until it is)."""
        self._task = asyncio.create_task(self._run(), name="change-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), START_WAIT_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._go_dark()

    def _notified(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        self._subscribers[channel].changed(payload)

    def _go_dark(self) -> None:
        for subscriber in self._subscribers.values():
            subscriber.go_dark()

    def _terminated(self, *_: Any) -> None:
        self._go_dark()
        self._lost.set()

    async def _until_lost(self, connection: Any) -> None:
        """Returns when the connection is gone: terminated, or silent to a heartbeat."""
        while True:
            try:
                await asyncio.wait_for(self._lost.wait(), HEARTBEAT_SECONDS)
                return
            except TimeoutError:
                pass
            try:
                await connection.fetchval("SELECT 1", timeout=HEARTBEAT_TIMEOUT_SECONDS)
            except (TimeoutError, asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                log.warning("the change listener's connection stopped answering")
                return

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            connection: Any = None
            try:
                connection = await asyncpg.connect(self._dsn)
                connection.add_termination_listener(self._terminated)
                self._lost.clear()
                for channel in self._subscribers:
                    await connection.add_listener(channel, self._notified)
                # Only now is every later commit's notification sure to arrive.
                for subscriber in self._subscribers.values():
                    subscriber.go_live()
                self._listening.set()
                backoff = 0.1
                await self._until_lost(connection)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("the change listener lost its connection", exc_info=True)
            finally:
                self._go_dark()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=1)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
