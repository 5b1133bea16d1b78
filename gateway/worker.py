"""``prakerja-gateway worker``: the webhook delivery worker, the notification sender, and
the announcer of installments falling due, in one loop. Run one, or several (each claims
its own deliveries and installments); ``demo`` runs one in a background thread of the
serving process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import datetime

from core.clock import utc_now
from core.db.actor import SYSTEM
from core.db.database import Database
from core.settings import DatabasePooler, Settings
from gateway.notifications import NotificationSender, send_notifications
from gateway.webhooks import DeliveryWorker, http_client
from resolvers.disbursements.due import ANNOUNCE_LIMIT, announce_due_installments

log = logging.getLogger(__name__)

# Delivery rounds in flight at once (DeliveryWorker.rounds_at_once): a connection each.
ROUNDS_AT_ONCE = 2
# Installments fall due on dates (monthly): looking once a minute announces each within a
# minute of its date, for one indexed look-up a minute.
ANNOUNCE_EVERY_SECONDS = 60.0


async def run_worker(
    settings: Settings, url: str, *, once: bool = False, stop: asyncio.Event | None = None
) -> None:
    # Behind PgBouncer in transaction mode (the Kubernetes worker is): no statement cache.
    pooled = settings.database_pooler is DatabasePooler.TRANSACTION
    # The delivery rounds and the announcer each hold a connection.
    database = Database.connect(
        url, pool_size=ROUNDS_AT_ONCE + 1, transaction_pooler=pooled, actor=SYSTEM
    )
    sender = NotificationSender()
    stop = stop or asyncio.Event()
    try:
        async with http_client() as client:
            worker = DeliveryWorker(
                sessionmaker=database.sessionmaker,
                master_key=settings.resolved_master_key(),
                client=client,
                allow_private=settings.demo,
                rounds_at_once=ROUNDS_AT_ONCE,
            )
            if once:
                await announce_due(database)
                await worker.run_until_idle()
                await send_notifications(url, sender, transaction_pooler=pooled)
                return
            notifications = asyncio.create_task(_notify_forever(url, sender, stop, pooled))
            announcements = asyncio.create_task(_announce_forever(database, stop))
            try:
                await worker.run_forever(stop)
            finally:
                stop.set()
                await notifications
                await announcements
    finally:
        await database.dispose()


async def announce_due(database: Database, *, now: datetime | None = None) -> int:
    """``installment.due`` for every installment whose date has passed, not yet announced,
    a transaction per ``ANNOUNCE_LIMIT`` (a concurrent worker skips what this one holds)."""
    total = 0
    while True:
        async with database.sessionmaker() as session, session.begin():
            count = await announce_due_installments(session, now=now or utc_now())
        total += count
        if count < ANNOUNCE_LIMIT:
            return total


async def _announce_forever(database: Database, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await announce_due(database)
        except Exception:
            log.exception("installment announcement round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), ANNOUNCE_EVERY_SECONDS)


async def _notify_forever(
    url: str, sender: NotificationSender, stop: asyncio.Event, pooled: bool
) -> None:
    while not stop.is_set():
        try:
            sent = await send_notifications(url, sender, transaction_pooler=pooled)
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
