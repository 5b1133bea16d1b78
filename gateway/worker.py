"""``prakerja-gateway worker``: the webhook delivery worker and the notification sender in
one loop. Run one, or several (each claims its own deliveries); ``demo`` runs one in a
background thread of the serving process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from core.db.database import Database
from core.settings import Settings
from gateway.notifications import NotificationSender, send_notifications
from gateway.webhooks import DeliveryWorker, http_client

log = logging.getLogger(__name__)


async def run_worker(
    settings: Settings, url: str, *, once: bool = False, stop: asyncio.Event | None = None
) -> None:
    database = Database.connect(url, pool_size=2)
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


def start_in_thread(settings: Settings, url: str) -> threading.Thread:
    """The demo's worker: a daemon thread with its own event loop, gone with the process."""
    thread = threading.Thread(
        target=lambda: asyncio.run(run_worker(settings, url)), name="delivery-worker", daemon=True
    )
    thread.start()
    return thread
