"""Listens for catalog changes on a dedicated connection and invalidates the cache.

Migration 0003 makes every statement on courses, schedules, course_listings and partners
``NOTIFY prakerja_catalog`` at commit. While the connection is down the cache serves
nothing (a missed notification would leave it stale); it reconnects with a back-off and
empties the cache once it listens again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from gateway.cache.store import ResponseCache
from gateway.db.urls import async_url

log = logging.getLogger(__name__)

CHANNEL = "prakerja_catalog"
MAX_BACKOFF_SECONDS = 5.0
START_WAIT_SECONDS = 10.0


def _asyncpg_dsn(url: str) -> str:
    """asyncpg takes the plain ``postgresql://`` form of the URL (Unix-socket ones too)."""
    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class CatalogListener:
    def __init__(self, url: str, cache: ResponseCache) -> None:
        self._dsn = _asyncpg_dsn(url)
        self._cache = cache
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._listening = asyncio.Event()

    async def start(self) -> None:
        """Starts listening; returns once the first LISTEN is in place (or after 10 s; the
        cache stays dark until it is)."""
        self._task = asyncio.create_task(self._run(), name="catalog-cache-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), START_WAIT_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._cache.go_dark()

    def _notified(self, *_: Any) -> None:
        self._cache.invalidate()

    def _terminated(self, *_: Any) -> None:
        self._cache.go_dark()
        self._lost.set()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            connection: Any = None
            try:
                connection = await asyncpg.connect(self._dsn)
                connection.add_termination_listener(self._terminated)
                self._lost.clear()
                await connection.add_listener(CHANNEL, self._notified)
                self._cache.go_live()
                self._listening.set()
                backoff = 0.1
                await self._lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("catalog cache listener lost its connection", exc_info=True)
            finally:
                self._cache.go_dark()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=1)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
