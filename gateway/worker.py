"""``prakerja-gateway worker``: the webhook delivery worker and the notification sender in
one loop. Run one, or several (each claims its own deliveries); ``demo`` runs one in a
background thread of the serving process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from core.db.actor import SYSTEM
from core.db.database import Database
from core.settings import Settings
from gateway.notifications import NotificationSender, send_notifications
from gateway.webhooks import DeliveryWorker, http_client

log = logging.getLogger(__name__)


async def run_worker(
    settings: Settings, url: str, *, once: bool = False, stop: asyncio.Event | None = None
) -> None:
    database = Database.connect(url, pool_size=2, actor=SYSTEM)
    sender = NotificationSender()
    stop = stop or asyncio.Event()
    try:
        async with http_client() as client:
            worker = DeliveryWorker(
                sessionmaker=database.sessionmaker,
                master_key=settings.resolved_master_key(),
                client=client,
                allow_private=settings.demo,
            )
            if once:
                await worker.run_until_idle()
                await send_notifications(url, sender)
                return
            notifications = asyncio.create_task(_notify_forever(url, sender, stop))
            try:
                await worker.run_forever(stop)
            finally:
                stop.set()
                await notifications
    finally:
        await database.dispose()


async def _notify_forever(url: str, sender: NotificationSender, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            sent = await send_notifications(url, sender)
        except Exception:
            log.exception("notification round failed")
            sent = 0
        if not sent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


class BackgroundWorker:
    """The demo's worker: a thread with its own event loop. ``stop`` ends it before the demo
    stops its embedded database, so the worker never outlives the database it reads."""

    def __init__(self, settings: Settings, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(
            target=self._run, args=(settings, url), name="delivery-worker", daemon=True
        )

    def _run(self, settings: Settings, url: str) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(run_worker(settings, url, stop=self._stop))

    def start(self) -> BackgroundWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout)


def start_in_thread(settings: Settings, url: str) -> BackgroundWorker:
    """Starts the demo's worker; call ``stop`` on what it returns before the database goes."""
    return BackgroundWorker(settings, url).start()
