"""The delivery worker: signs and POSTs due webhook deliveries, per Standard Webhooks.

Each round claims a batch of due deliveries in one statement (``resolvers.deliveries.
claim_due``, ``FOR UPDATE SKIP LOCKED``; at most one per endpoint and subject, so their
order holds whatever order they are sent in), sends them over kept-alive connections,
``concurrency`` at a time, and records every outcome in one statement of the claiming
transaction. Run as many workers as you like (``prakerja-gateway worker``): none sends a
delivery another one holds; one killed mid-send leaves its batch pending, to be sent again
(at least once: receivers deduplicate by ``webhook-id``).

HTTP as the specification asks: a 2xx answer is a success, anything else (a redirect too:
redirects are not followed) a failure to retry; an answer must come within the timeout.
Outside demo mode the URL's host must still resolve to public addresses at send time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import utc_now
from core.webhook_signing import Signer, signed_header
from gateway.webhook_http import WebhookClient, WebhookHTTPError
from resolvers.deliveries import (
    DueDelivery,
    Outcome,
    Recorded,
    RetryPolicy,
    claim_due,
    record_outcomes,
)
from resolvers.webhooks import open_secret, resolves_publicly

log = logging.getLogger(__name__)

USER_AGENT = "prakerja-gateway-webhooks/1"
RESPONSE_EXCERPT_BYTES = 256
DEFAULT_TIMEOUT_SECONDS = 15.0


# Opened secrets kept by the worker (a few per endpoint at most): beyond this many, the
# cache starts afresh rather than grow with endpoints long deleted.
SIGNER_CACHE_SIZE = 4096


@dataclass
class DeliveryWorker:
    sessionmaker: async_sessionmaker[AsyncSession]
    master_key: bytes
    client: WebhookClient
    allow_private: bool = False
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = 200
    # Requests in flight at once. More than the client's pool would only queue inside it
    # (where httpcore's bookkeeping grows with the queue), and every request of a round
    # waits for the slowest: 64 keeps a round short and a receiver's connections few.
    concurrency: int = 64
    # Rounds in flight at once, each in its own transaction and connection: one claims and
    # records while another sends, as two workers would (and as safely: SKIP LOCKED, and a
    # subject's next delivery is not due while its head is pending in another round).
    # ``prakerja-gateway worker`` runs 2.
    rounds_at_once: int = 1
    clock: Callable[[], datetime] = utc_now
    # Signers by the sealed secret they were opened from: a rotation writes a new sealed
    # value, which is a new key here, so a rotated secret is never used from the cache.
    _signers: dict[tuple[str, bytes], Signer] = field(default_factory=dict, repr=False)

    async def run_once(self) -> Recorded:
        """One round: claim, send, record, commit. Returns what happened."""
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            due = await claim_due(session, limit=self.batch_size, now=now)
            if not due:
                return Recorded()
            public = await self._public_hosts(due)
            outcomes = await self._send_all(due, public, now)
            recorded = await record_outcomes(session, outcomes, policy=self.policy, now=now)
        if recorded.disabled_endpoints:
            log.warning(
                "webhook endpoints disabled", extra={"endpoints": recorded.disabled_endpoints}
            )
        return recorded

    async def _send_all(
        self, due: list[DueDelivery], public: dict[str, bool], now: datetime
    ) -> list[Outcome]:
        """``concurrency`` senders share the batch (one subject per delivery, so any order)."""
        outcomes: list[Outcome | None] = [None] * len(due)
        queue: Iterator[int] = iter(range(len(due)))

        async def sender() -> None:
            for index in queue:
                outcomes[index] = await self._send(due[index], public, now)

        await asyncio.gather(*(sender() for _ in range(min(self.concurrency, len(due)))))
        return [outcome for outcome in outcomes if outcome is not None]

    async def run_until_idle(self) -> Recorded:
        """Rounds until nothing is due (tests, benchmarks, ``worker --once``)."""
        total = Recorded()

        async def rounds() -> None:
            while True:
                recorded = await self.run_once()
                if not (recorded.succeeded or recorded.retried or recorded.failed):
                    return
                total.succeeded += recorded.succeeded
                total.retried += recorded.retried
                total.failed += recorded.failed
                total.disabled_endpoints += recorded.disabled_endpoints

        await asyncio.gather(*(rounds() for _ in range(self.rounds_at_once)))
        return total

    async def run_forever(self, stop: asyncio.Event, *, idle_seconds: float = 0.5) -> None:
        async def rounds() -> None:
            while not stop.is_set():
                try:
                    recorded = await self.run_once()
                except Exception:
                    log.exception("webhook delivery round failed")
                    recorded = Recorded()
                if not (recorded.succeeded or recorded.retried or recorded.failed):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), idle_seconds)

        await asyncio.gather(*(rounds() for _ in range(self.rounds_at_once)))

    async def _public_hosts(self, due: list[DueDelivery]) -> dict[str, bool]:
        if self.allow_private:
            return {}
        hosts = {
            (parts.hostname or "", parts.port or 443)
            for parts in (urlsplit(delivery.url) for delivery in due)
        }
        answers = await asyncio.gather(*(resolves_publicly(host, port) for host, port in hosts))
        return {host: ok for (host, _), ok in zip(hosts, answers, strict=True)}

    def _signer(self, uid: str, sealed: bytes) -> Signer:
        signer = self._signers.get((uid, sealed))
        if signer is None:
            if len(self._signers) >= SIGNER_CACHE_SIZE:
                self._signers.clear()
            signer = Signer(open_secret(self.master_key, uid, sealed))
            self._signers[(uid, sealed)] = signer
        return signer

    def _signers_of(self, delivery: DueDelivery, now: datetime) -> list[Signer]:
        signers = [self._signer(delivery.endpoint_uid, delivery.secret_encrypted)]
        if (
            delivery.previous_secret_encrypted is not None
            and delivery.previous_secret_expires_at is not None
            and now < delivery.previous_secret_expires_at
        ):
            signers.append(self._signer(delivery.endpoint_uid, delivery.previous_secret_encrypted))
        return signers

    async def _send(self, delivery: DueDelivery, public: dict[str, bool], now: datetime) -> Outcome:
        if not self.allow_private and not public.get(urlsplit(delivery.url).hostname or "", False):
            return Outcome(
                delivery=delivery,
                attempted_at=now,
                succeeded=False,
                status_code=None,
                latency_ms=0,
                error="the host does not resolve to public addresses only",
            )
        body = delivery.body
        timestamp = int(time.time())
        message_id = delivery.message_id
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signed_header(
                self._signers_of(delivery, now), message_id, timestamp, body
            ),
        }
        started = time.perf_counter()
        try:
            answer = await self.client.post(delivery.url, headers, body)
        except TimeoutError:
            return self._failure(delivery, now, started, "timeout")
        except WebhookHTTPError as exc:
            return self._failure(delivery, now, started, str(exc)[:200])
        status = answer.status
        error = None
        if 300 <= status < 400:
            error = "redirect (not followed)"
        return Outcome(
            delivery=delivery,
            attempted_at=now,
            succeeded=200 <= status < 300,
            status_code=status,
            latency_ms=int((time.perf_counter() - started) * 1000),
            response_excerpt=answer.excerpt.decode("utf-8", "replace"),
            error=error,
        )

    @staticmethod
    def _failure(delivery: DueDelivery, now: datetime, started: float, error: str) -> Outcome:
        return Outcome(
            delivery=delivery,
            attempted_at=now,
            succeeded=False,
            status_code=None,
            latency_ms=int((time.perf_counter() - started) * 1000),
            error=error,
        )


def http_client(timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> WebhookClient:
    """The worker's client (``gateway/webhook_http.py``): no redirects followed, one
    time-out for the whole exchange, connections kept alive between webhooks."""
    return WebhookClient(timeout_seconds=timeout_seconds, excerpt_bytes=RESPONSE_EXCERPT_BYTES)
