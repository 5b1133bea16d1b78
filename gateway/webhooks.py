"""The delivery worker: signs and POSTs due webhook deliveries, per Standard Webhooks.

Each round claims a batch of due deliveries (``resolvers.deliveries.claim_due``, ``FOR
UPDATE SKIP LOCKED``), sends them concurrently, and records the outcomes in the claiming
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
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import utc_now
from core.webhook_signing import signature_header
from resolvers.deliveries import (
    DueDelivery,
    Outcome,
    Recorded,
    RetryPolicy,
    claim_due,
    record_outcomes,
)
from resolvers.webhooks import envelope, open_secret, resolves_publicly

log = logging.getLogger(__name__)

USER_AGENT = "prakerja-gateway-webhooks/1"
RESPONSE_EXCERPT_BYTES = 256
DEFAULT_TIMEOUT_SECONDS = 15.0


@dataclass
class DeliveryWorker:
    sessionmaker: async_sessionmaker[AsyncSession]
    master_key: bytes
    client: httpx.AsyncClient
    allow_private: bool = False
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = 200
    clock: Callable[[], datetime] = utc_now

    async def run_once(self) -> Recorded:
        """One round: claim, send, record, commit. Returns what happened."""
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            due = await claim_due(session, limit=self.batch_size, now=now)
            if not due:
                return Recorded()
            public = await self._public_hosts(due)
            outcomes = await asyncio.gather(
                *(self._send(delivery, public, now) for delivery in due)
            )
            recorded = await record_outcomes(session, outcomes, policy=self.policy, now=now)
        if recorded.disabled_endpoints:
            log.warning(
                "webhook endpoints disabled", extra={"endpoints": recorded.disabled_endpoints}
            )
        return recorded

    async def run_until_idle(self) -> Recorded:
        """Rounds until nothing is due (tests, benchmarks, ``worker --once``)."""
        total = Recorded()
        while True:
            recorded = await self.run_once()
            if not (recorded.succeeded or recorded.retried or recorded.failed):
                return total
            total.succeeded += recorded.succeeded
            total.retried += recorded.retried
            total.failed += recorded.failed
            total.disabled_endpoints += recorded.disabled_endpoints

    async def run_forever(self, stop: asyncio.Event, *, idle_seconds: float = 0.5) -> None:
        while not stop.is_set():
            try:
                recorded = await self.run_once()
            except Exception:
                log.exception("webhook delivery round failed")
                recorded = Recorded()
            if not (recorded.succeeded or recorded.retried or recorded.failed):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle_seconds)

    async def _public_hosts(self, due: list[DueDelivery]) -> dict[str, bool]:
        if self.allow_private:
            return {}
        hosts = {
            (parts.hostname or "", parts.port or 443)
            for parts in (urlsplit(delivery.url) for delivery in due)
        }
        answers = await asyncio.gather(*(resolves_publicly(host, port) for host, port in hosts))
        return {host: ok for (host, _), ok in zip(hosts, answers, strict=True)}

    def _secrets(self, delivery: DueDelivery, now: datetime) -> list[str]:
        secrets = [open_secret(self.master_key, delivery.endpoint_uid, delivery.secret_encrypted)]
        if (
            delivery.previous_secret_encrypted is not None
            and delivery.previous_secret_expires_at is not None
            and now < delivery.previous_secret_expires_at
        ):
            secrets.append(
                open_secret(
                    self.master_key, delivery.endpoint_uid, delivery.previous_secret_encrypted
                )
            )
        return secrets

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
        body = json.dumps(envelope(delivery.event), separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery.event.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                self._secrets(delivery, now), delivery.event.message_id, timestamp, body
            ),
        }
        started = time.perf_counter()
        try:
            async with self.client.stream(
                "POST", delivery.url, content=body, headers=headers
            ) as response:
                excerpt = b""
                async for chunk in response.aiter_raw():
                    excerpt += chunk
                    if len(excerpt) >= RESPONSE_EXCERPT_BYTES:
                        break
                status = response.status_code
        except httpx.TimeoutException:
            return self._failure(delivery, now, started, "timeout")
        except httpx.HTTPError as exc:
            return self._failure(delivery, now, started, f"connection: {type(exc).__name__}")
        error = None
        if 300 <= status < 400:
            error = "redirect (not followed)"
        return Outcome(
            delivery=delivery,
            attempted_at=now,
            succeeded=200 <= status < 300,
            status_code=status,
            latency_ms=int((time.perf_counter() - started) * 1000),
            response_excerpt=excerpt[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace"),
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


def http_client(timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> httpx.AsyncClient:
    """The worker's client: no redirects followed, one time-out for the whole answer."""
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout_seconds),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        trust_env=False,
    )
