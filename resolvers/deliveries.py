"""The delivery queue's rules: which deliveries are due, and what an attempt's outcome does.

The delivery worker (``gateway/webhooks.py``) claims due deliveries with ``FOR UPDATE SKIP
LOCKED`` and keeps them locked while it sends them, inside one transaction that records
the outcomes: several workers never hold one delivery at once, and a worker killed
mid-send leaves its deliveries pending (the transaction rolls back), so none is lost.

A delivery is due only when no earlier event of the same subject is still pending for the
same endpoint: each endpoint receives a subject's events in order, even across a long
outage. Retries back off exponentially with jitter for at least ``RETRY_PERIOD``; an
endpoint failing without a success for ``DISABLE_AFTER`` is disabled, and programme
management hears of it (``webhook_endpoint.disabled``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.session import execute_core
from core.enums import DeliveryStatus, EventType, WebhookEndpointStatus
from core.models import WebhookDelivery, WebhookEndpoint
from resolvers.events import record_event
from resolvers.tenancy import endpoint_event_audience
from resolvers.webhooks import envelope_body, message_id


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(hours=6)
    jitter: float = 0.2  # each delay is spread by this share either way
    # Retried at least this long after the first attempt, then FAILED for good.
    retry_period: timedelta = timedelta(days=3)
    # An endpoint without a success for this long is disabled.
    disable_after: timedelta = timedelta(days=5)

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1, 2, ...)."""
        exponent = min(attempts - 1, 30)
        base = min(self.first_delay * (2**exponent), self.max_delay)
        spread: float = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return timedelta(seconds=base.total_seconds() * spread)


@dataclass(frozen=True, kw_only=True)
class DueDelivery:
    id: int
    attempts: int
    first_attempt_at: datetime | None
    endpoint_id: int
    endpoint_uid: str
    partner_id: int
    url: str
    secret_encrypted: bytes
    previous_secret_encrypted: bytes | None
    previous_secret_expires_at: datetime | None
    event_id: int
    subject: str
    # The webhook's JSON body (``resolvers.webhooks.envelope_body``), built from the
    # payload's stored text: never decoded into objects to be encoded again.
    body: bytes

    @property
    def message_id(self) -> str:
        return message_id(self.event_id)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    delivery: DueDelivery
    attempted_at: datetime
    succeeded: bool
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None = None
    error: str | None = None


_CLAIM = text(
    """
    SELECT d.id, d.attempts, d.first_attempt_at,
           ep.id AS endpoint_id, ep.uid AS endpoint_uid, ep.partner_id, ep.url,
           ep.secret_encrypted, ep.previous_secret_encrypted, ep.previous_secret_expires_at,
           e.id AS event_id, e.type, e.version, e.subject, e.occurred_at,
           CAST(e.payload AS text) AS payload_json
      FROM webhook_deliveries AS d
      JOIN webhook_endpoints AS ep ON ep.id = d.endpoint_id
      JOIN events AS e ON e.id = d.event_id
     WHERE d.status = :pending AND d.next_attempt_at <= :now AND ep.status = :enabled
       AND NOT EXISTS (
           SELECT 1 FROM webhook_deliveries AS earlier
            WHERE earlier.endpoint_id = d.endpoint_id AND earlier.subject = d.subject
              AND earlier.status = :pending AND earlier.event_id < d.event_id)
     ORDER BY d.next_attempt_at, d.id
     LIMIT :limit
       FOR UPDATE OF d SKIP LOCKED
    """
).bindparams(
    bindparam("pending", DeliveryStatus.PENDING, type_=WebhookDelivery.__table__.c.status.type),
    bindparam(
        "enabled", WebhookEndpointStatus.ENABLED, type_=WebhookEndpoint.__table__.c.status.type
    ),
)


async def claim_due(session: AsyncSession, *, limit: int, now: datetime) -> list[DueDelivery]:
    """Locks up to ``limit`` due deliveries for this transaction (others skip them), in one
    statement. Only the oldest pending delivery of each (endpoint, subject) is due, so a
    batch holds at most one per subject and may send them all at once, in any order."""
    rows = await execute_core(session, _CLAIM, {"now": now, "limit": limit})
    return [
        DueDelivery(
            id=row.id,
            attempts=row.attempts,
            first_attempt_at=row.first_attempt_at,
            endpoint_id=row.endpoint_id,
            endpoint_uid=row.endpoint_uid,
            partner_id=row.partner_id,
            url=row.url,
            secret_encrypted=row.secret_encrypted,
            previous_secret_encrypted=row.previous_secret_encrypted,
            previous_secret_expires_at=row.previous_secret_expires_at,
            event_id=row.event_id,
            subject=row.subject,
            body=envelope_body(
                event_id=row.event_id,
                type=row.type,
                version=row.version,
                subject=row.subject,
                occurred_at=row.occurred_at,
                payload_json=row.payload_json,
            ),
        )
        for row in rows
    ]


# One statement per batch: every attempt, every delivery's next state, and the health of
# the endpoints that answered (a success ends an endpoint's failing spell).
_RECORD = text(
    """
    WITH outcome AS (
        SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]),
                             CAST(:next_attempt_ats AS timestamptz[]),
                             CAST(:attempted_ats AS timestamptz[]),
                             CAST(:status_codes AS smallint[]), CAST(:latencies AS integer[]),
                             CAST(:excerpts AS text[]), CAST(:errors AS text[]))
            AS u(id, status, next_attempt_at, attempted_at, status_code, latency_ms,
                 response_excerpt, error)
    ), attempts AS (
        INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms,
                                      response_excerpt, error)
        SELECT id, attempted_at, status_code, latency_ms, response_excerpt, error FROM outcome
    ), healthy AS (
        UPDATE webhook_endpoints SET failing_since = NULL
         WHERE id = ANY (CAST(:healthy AS bigint[])) AND failing_since IS NOT NULL
    )
    UPDATE webhook_deliveries AS d
       SET status = u.status, attempts = d.attempts + 1, next_attempt_at = u.next_attempt_at,
           first_attempt_at = coalesce(d.first_attempt_at, u.attempted_at),
           last_attempt_at = u.attempted_at
      FROM outcome AS u
     WHERE d.id = u.id
    """
)

# An endpoint is failing from its first failure after a success on.
_ENDPOINT_FAILED = text(
    "UPDATE webhook_endpoints SET failing_since = :now"
    " WHERE id = ANY (CAST(:ids AS bigint[])) AND failing_since IS NULL"
)

# Disables, once, the endpoints that have been failing too long.
_DISABLE_FAILING = text(
    """
    UPDATE webhook_endpoints SET status = :disabled, disabled_reason = :reason
     WHERE id = ANY (CAST(:ids AS bigint[])) AND failing_since <= :disable_before
       AND status = :enabled
    RETURNING id, uid, partner_id, url
    """
).bindparams(
    bindparam(
        "disabled", WebhookEndpointStatus.DISABLED, type_=WebhookEndpoint.__table__.c.status.type
    ),
    bindparam(
        "enabled", WebhookEndpointStatus.ENABLED, type_=WebhookEndpoint.__table__.c.status.type
    ),
)


@dataclass
class Recorded:
    succeeded: int = 0
    retried: int = 0
    failed: int = 0
    disabled_endpoints: list[str] = field(default_factory=list)


def _next_status(
    outcome: Outcome, policy: RetryPolicy, rng: random.Random | None
) -> tuple[DeliveryStatus, datetime]:
    if outcome.succeeded:
        return DeliveryStatus.SUCCEEDED, outcome.attempted_at
    first = outcome.delivery.first_attempt_at or outcome.attempted_at
    retry_at = outcome.attempted_at + policy.delay(outcome.delivery.attempts + 1, rng)
    if retry_at - first > policy.retry_period:
        return DeliveryStatus.FAILED, outcome.attempted_at
    return DeliveryStatus.PENDING, retry_at


async def record_outcomes(
    session: AsyncSession,
    outcomes: Sequence[Outcome],
    *,
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random | None = None,
) -> Recorded:
    """Each attempt, each delivery's next state, each endpoint's health, in this
    transaction (the one that claimed the deliveries)."""
    recorded = Recorded()
    if not outcomes:
        return recorded
    next_states = [_next_status(outcome, policy, rng) for outcome in outcomes]
    healthy = sorted({o.delivery.endpoint_id for o in outcomes if o.succeeded})
    await execute_core(
        session,
        _RECORD,
        {
            "ids": [o.delivery.id for o in outcomes],
            "statuses": [status.value for status, _ in next_states],
            "next_attempt_ats": [at for _, at in next_states],
            "attempted_ats": [o.attempted_at for o in outcomes],
            "status_codes": [o.status_code for o in outcomes],
            "latencies": [o.latency_ms for o in outcomes],
            "excerpts": [o.response_excerpt for o in outcomes],
            "errors": [o.error for o in outcomes],
            "healthy": healthy,
        },
    )
    for status, _ in next_states:
        if status is DeliveryStatus.SUCCEEDED:
            recorded.succeeded += 1
        elif status is DeliveryStatus.FAILED:
            recorded.failed += 1
        else:
            recorded.retried += 1
    failing = sorted({o.delivery.endpoint_id for o in outcomes if not o.succeeded} - set(healthy))
    if failing:
        await execute_core(session, _ENDPOINT_FAILED, {"ids": failing, "now": now})
        disabled = await execute_core(
            session,
            _DISABLE_FAILING,
            {
                "ids": failing,
                "disable_before": now - policy.disable_after,
                "reason": f"no successful delivery for {policy.disable_after}",
            },
        )
        for endpoint in disabled.all():
            recorded.disabled_endpoints.append(endpoint.uid)
            await _tell_disabled(session, endpoint, policy)
    return recorded


async def _tell_disabled(session: AsyncSession, endpoint: Any, policy: RetryPolicy) -> None:
    payload: dict[str, Any] = {
        "endpointId": endpoint.uid,
        "url": endpoint.url,
        "reason": f"no successful delivery for {policy.disable_after}",
    }
    await record_event(
        session,
        EventType.WEBHOOK_ENDPOINT_DISABLED,
        f"webhook_endpoint:{endpoint.uid}",
        payload,
        endpoint_event_audience(endpoint.partner_id),
    )
