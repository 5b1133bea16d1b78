"""Webhook endpoints, their deliveries and attempts, and the pollable event feed.

A partner manages its own endpoints (``tenancy.endpoints_owned_by``) with any valid token:
what reaches an endpoint is decided by each event's audience, not by who subscribes.
Secrets are shown once, at creation and rotation, and kept sealed under the master key
(``core.sealed``) with the endpoint's uid as authenticated data. The HTTP side (signing,
sending, retrying) is the delivery worker's, in ``gateway/webhooks.py``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.enums import EVENT_VERSIONS, DeliveryStatus, EventType, WebhookEndpointStatus
from core.errors import ErrorCode, GatewayError
from core.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.principal import Principal
from core.sealed import open_jwk, seal_jwk
from core.webhook_signing import new_secret
from resolvers.tenancy import endpoint_event_audience, endpoints_owned_by, events_visible_to

# The feed keeps events this long (``prakerja-gateway prune`` deletes older ones); the
# worker retries for at most RETRY_PERIOD, well inside it.
EVENT_RETENTION = timedelta(days=30)
MAX_ENDPOINTS_PER_PARTNER = 10
MAX_URL_LENGTH = 2000
# During a rotation both secrets sign, so receivers can switch over without losing events.
DEFAULT_ROTATION_OVERLAP = timedelta(hours=24)
MAX_ROTATION_OVERLAP = timedelta(days=7)
_SEAL_PURPOSE = b"prakerja-gateway/webhook-secrets/v1"


@dataclass(frozen=True, kw_only=True)
class EndpointRecord:
    id: int
    uid: str
    url: str
    description: str | None
    event_types: tuple[str, ...]
    status: WebhookEndpointStatus
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class EndpointWithSecret:
    endpoint: EndpointRecord
    secret: str  # shown once


@dataclass(frozen=True, kw_only=True)
class AttemptRecord:
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


@dataclass(frozen=True, kw_only=True)
class DeliveryRecord:
    id: int
    event_id: int
    event_type: str
    endpoint_uid: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    attempts: tuple[AttemptRecord, ...]


@dataclass(frozen=True, kw_only=True)
class EventRecord:
    id: int
    xid: int
    type: str
    version: int
    subject: str
    occurred_at: datetime
    payload: dict[str, Any]

    @property
    def message_id(self) -> str:
        """The ``webhook-id``: the same for every delivery and redelivery of the event."""
        return message_id(self.id)


def message_id(event_id: int) -> str:
    return f"evt_{event_id}"


def envelope_body(
    *,
    event_id: int,
    type: str,
    version: int,
    subject: str,
    occurred_at: datetime,
    payload_json: str,
) -> bytes:
    """The JSON body of a webhook: the feed's entry (``Event``) as one object, ``data``
    being the payload's stored JSON text as it is."""
    head = json.dumps(
        {
            "id": message_id(event_id),
            "type": type,
            "version": version,
            "timestamp": occurred_at.isoformat(),
            "subject": subject,
        },
        separators=(",", ":"),
    )
    return f'{head[:-1]},"data":{payload_json}}}'.encode()


def seal_secret(master_key: bytes, uid: str, secret: str) -> bytes:
    return seal_jwk(master_key, _SEAL_PURPOSE, uid, {"secret": secret})


def open_secret(master_key: bytes, uid: str, sealed: bytes) -> str:
    return str(open_jwk(master_key, _SEAL_PURPOSE, uid, sealed)["secret"])


def _endpoint_record(endpoint: WebhookEndpoint) -> EndpointRecord:
    return EndpointRecord(
        id=endpoint.id,
        uid=endpoint.uid,
        url=endpoint.url,
        description=endpoint.description,
        event_types=tuple(endpoint.event_types),
        status=endpoint.status,
        disabled_reason=endpoint.disabled_reason,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
        created_at=endpoint.created_at,
    )


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_endpoint_url(url: str, *, allow_private: bool) -> None:
    """An absolute https URL (http too in demo mode) whose host resolves to public
    addresses only (any address in demo mode): a partner cannot aim the worker at the
    gateway's own network. The worker checks again before each send (DNS may change)."""
    parts = urlsplit(url)
    if (
        len(url) > MAX_URL_LENGTH
        or parts.scheme not in (("https", "http") if allow_private else ("https",))
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.fragment
        or any(character.isspace() for character in url)
    ):
        raise GatewayError(
            ErrorCode.WEBHOOK_URL_INVALID,
            f"url must be an absolute https:// URL of at most {MAX_URL_LENGTH} characters, "
            "without credentials or a fragment",
            field="url",
        )
    if allow_private:
        return
    if not await resolves_publicly(parts.hostname, parts.port or 443):
        raise GatewayError(
            ErrorCode.WEBHOOK_URL_NOT_PUBLIC,
            "the URL's host must resolve to public addresses only (not loopback, private, "
            "link-local or reserved ones)",
            field="url",
        )


async def resolves_publicly(host: str, port: int) -> bool:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port)
    except OSError:
        return False
    return bool(infos) and all(_is_public(str(info[4][0])) for info in infos)


async def create_endpoint(
    session: AsyncSession,
    actor: Actor,
    *,
    url: str,
    event_types: Sequence[EventType],
    description: str | None,
    master_key: bytes,
    allow_private: bool,
    allowed_types: frozenset[EventType],
) -> EndpointWithSecret:
    """``allowed_types``: what the caller's token may hear of (``auth.scopes``); an empty
    ``event_types`` subscribes to exactly those, stored as that list."""
    await check_endpoint_url(url, allow_private=allow_private)
    refused = sorted({event_type.value for event_type in event_types} - allowed_types)
    if refused:
        raise GatewayError(
            ErrorCode.EVENT_TYPE_NOT_ALLOWED,
            f"this token's scopes do not allow the event types {', '.join(refused)}: each "
            "event family needs the scope that reads its rows (purchase and attendance "
            "enrollment:read, course catalog:read, certificate certificate:read, batch and "
            "installment disbursement:read, registrant registration:read)",
            field="eventTypes",
        )
    subscribed = event_types or allowed_types
    if description is not None and len(description) > 200:
        raise GatewayError(
            ErrorCode.BAD_USER_INPUT, "description is at most 200 characters", field="description"
        )
    count = await session.scalar(
        select(func.count()).select_from(WebhookEndpoint).where(endpoints_owned_by(actor.principal))
    )
    if (count or 0) >= MAX_ENDPOINTS_PER_PARTNER:
        raise GatewayError(
            ErrorCode.WEBHOOK_ENDPOINT_LIMIT,
            f"a partner has at most {MAX_ENDPOINTS_PER_PARTNER} endpoints; delete one first",
        )
    uid = "ep_" + secrets.token_hex(12)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        uid=uid,
        partner_id=actor.partner_id,
        url=url,
        description=description,
        event_types=sorted({event_type.value for event_type in subscribed}),
        status=WebhookEndpointStatus.ENABLED,
        secret_encrypted=seal_secret(master_key, uid, secret),
    )
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    await record_audit(
        session,
        actor=actor,
        action="webhook_endpoint.created",
        entity_type="webhook_endpoint",
        entity_id=uid,
        after={"url": url, "eventTypes": endpoint.event_types},
    )
    return EndpointWithSecret(endpoint=_endpoint_record(endpoint), secret=secret)


async def _own_endpoint(session: AsyncSession, principal: Principal, uid: str) -> WebhookEndpoint:
    endpoint = await session.scalar(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.uid == uid, endpoints_owned_by(principal))
        .with_for_update()
    )
    if endpoint is None:
        # Another partner's endpoint is no endpoint at all to this caller.
        raise GatewayError(
            ErrorCode.WEBHOOK_ENDPOINT_NOT_FOUND, f"no webhook endpoint {uid!r}", field="id"
        )
    return endpoint


async def endpoints_of(session: AsyncSession, principal: Principal) -> list[EndpointRecord]:
    rows = await session.scalars(
        select(WebhookEndpoint).where(endpoints_owned_by(principal)).order_by(WebhookEndpoint.id)
    )
    return [_endpoint_record(row) for row in rows]


async def delete_endpoint(session: AsyncSession, actor: Actor, uid: str) -> EndpointRecord:
    """Deletes the endpoint with its deliveries and attempts (the feed keeps the events)."""
    endpoint = await _own_endpoint(session, actor.principal, uid)
    record = _endpoint_record(endpoint)
    await session.delete(endpoint)
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="webhook_endpoint.deleted",
        entity_type="webhook_endpoint",
        entity_id=uid,
        before={"url": record.url},
    )
    return record


async def set_endpoint_enabled(
    session: AsyncSession, actor: Actor, uid: str, *, enabled: bool
) -> EndpointRecord:
    """Enabling again takes the deliveries up where they stopped: the retries of the failed
    ones start afresh (``redeliver_failed`` with the time of the outage)."""
    endpoint = await _own_endpoint(session, actor.principal, uid)
    before = endpoint.status
    endpoint.status = WebhookEndpointStatus.ENABLED if enabled else WebhookEndpointStatus.DISABLED
    endpoint.disabled_reason = None if enabled else "disabled by the partner"
    endpoint.failing_since = None
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="webhook_endpoint.enabled" if enabled else "webhook_endpoint.disabled",
        entity_type="webhook_endpoint",
        entity_id=uid,
        before={"status": before.value},
        after={"status": endpoint.status.value},
    )
    return _endpoint_record(endpoint)


async def rotate_secret(
    session: AsyncSession,
    actor: Actor,
    uid: str,
    *,
    overlap: timedelta,
    master_key: bytes,
    now: datetime,
) -> EndpointWithSecret:
    """A new secret; the current one keeps signing beside it for ``overlap``."""
    if not timedelta(0) <= overlap <= MAX_ROTATION_OVERLAP:
        raise GatewayError(
            ErrorCode.BAD_USER_INPUT,
            f"the overlap is 0 to {MAX_ROTATION_OVERLAP.days * 24} hours",
            field="overlapHours",
        )
    endpoint = await _own_endpoint(session, actor.principal, uid)
    secret = new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + overlap
    endpoint.secret_encrypted = seal_secret(master_key, uid, secret)
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="webhook_endpoint.secret_rotated",
        entity_type="webhook_endpoint",
        entity_id=uid,
        after={"previousSecretExpiresAt": endpoint.previous_secret_expires_at.isoformat()},
    )
    return EndpointWithSecret(endpoint=_endpoint_record(endpoint), secret=secret)


async def send_test_event(session: AsyncSession, actor: Actor, uid: str) -> DeliveryRecord:
    """A ``webhook.test`` event for this endpoint alone (not fanned out to the others)."""
    endpoint = await _own_endpoint(session, actor.principal, uid)
    event = Event(
        type=EventType.WEBHOOK_TEST.value,
        version=EVENT_VERSIONS[EventType.WEBHOOK_TEST],
        subject=f"webhook_endpoint:{uid}",
        payload={"endpointId": uid, "message": "a test event sent at the partner's request"},
        audience=endpoint_event_audience(actor.partner_id),
        fan_out=False,
    )
    session.add(event)
    await session.flush()
    delivery = WebhookDelivery(
        event_id=event.id,
        endpoint_id=endpoint.id,
        subject=event.subject,
        status=DeliveryStatus.PENDING,
    )
    session.add(delivery)
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="webhook_endpoint.test_sent",
        entity_type="webhook_endpoint",
        entity_id=uid,
        detail={"eventId": event.id},
    )
    (record,) = await _deliveries(session, WebhookDelivery.id == delivery.id, limit=1)
    return record


async def redeliver_event(
    session: AsyncSession, actor: Actor, uid: str, event_id: int, *, now: datetime
) -> DeliveryRecord:
    """Sends the event to the endpoint again, with a fresh retry period (same webhook-id,
    so a receiver that already has it ignores it)."""
    endpoint = await _own_endpoint(session, actor.principal, uid)
    delivery_id = await session.scalar(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_id == event_id)
        .values(status=DeliveryStatus.PENDING, next_attempt_at=now, first_attempt_at=None)
        .returning(WebhookDelivery.id)
    )
    if delivery_id is None:
        raise GatewayError(
            ErrorCode.EVENT_NOT_FOUND,
            "this endpoint has no delivery of that event",
            field="eventId",
        )
    await record_audit(
        session,
        actor=actor,
        action="webhook_delivery.redelivered",
        entity_type="webhook_endpoint",
        entity_id=uid,
        detail={"eventId": event_id},
    )
    (record,) = await _deliveries(session, WebhookDelivery.id == delivery_id, limit=1)
    return record


async def redeliver_failed(
    session: AsyncSession, actor: Actor, uid: str, since: datetime, *, now: datetime
) -> int:
    """Every delivery to the endpoint that failed for good, of events since ``since``."""
    endpoint = await _own_endpoint(session, actor.principal, uid)
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == DeliveryStatus.FAILED,
            WebhookDelivery.created_at >= since,
        )
        .values(status=DeliveryStatus.PENDING, next_attempt_at=now, first_attempt_at=None)
    )
    count = int(result.rowcount)  # type: ignore[attr-defined]
    await record_audit(
        session,
        actor=actor,
        action="webhook_delivery.redelivered",
        entity_type="webhook_endpoint",
        entity_id=uid,
        detail={"since": since.isoformat(), "count": count},
    )
    return count


# The attempts shown with each delivery, newest first.
ATTEMPTS_SHOWN = 20


async def _deliveries(session: AsyncSession, *where: Any, limit: int) -> list[DeliveryRecord]:
    rows = (
        await session.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.event_id,
                WebhookDelivery.status,
                WebhookDelivery.attempts,
                WebhookDelivery.next_attempt_at,
                WebhookDelivery.last_attempt_at,
                Event.type,
                WebhookEndpoint.uid,
            )
            .join(Event, Event.id == WebhookDelivery.event_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(*where)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    ).all()
    attempts: dict[int, list[AttemptRecord]] = {}
    if rows:
        numbered = (
            select(
                WebhookAttempt,
                func.row_number()
                .over(
                    partition_by=WebhookAttempt.delivery_id,
                    order_by=WebhookAttempt.id.desc(),
                )
                .label("n"),
            )
            .where(WebhookAttempt.delivery_id.in_([row.id for row in rows]))
            .subquery()
        )
        for attempt in (
            await session.execute(
                select(numbered)
                .where(numbered.c.n <= ATTEMPTS_SHOWN)
                .order_by(numbered.c.id.desc())
            )
        ).all():
            attempts.setdefault(attempt.delivery_id, []).append(
                AttemptRecord(
                    attempted_at=attempt.attempted_at,
                    status_code=attempt.status_code,
                    latency_ms=attempt.latency_ms,
                    response_excerpt=attempt.response_excerpt,
                    error=attempt.error,
                )
            )
    return [
        DeliveryRecord(
            id=row.id,
            event_id=row.event_id,
            event_type=row.type,
            endpoint_uid=row.uid,
            status=row.status,
            attempt_count=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status is DeliveryStatus.PENDING else None,
            last_attempt_at=row.last_attempt_at,
            attempts=tuple(attempts.get(row.id, ())),
        )
        for row in rows
    ]


async def deliveries_page(
    session: AsyncSession,
    principal: Principal,
    uid: str,
    *,
    status: DeliveryStatus | None,
    before_id: int | None,
    limit: int,
) -> list[DeliveryRecord]:
    """The endpoint's deliveries, newest first (keyset on the delivery id)."""
    endpoint_id = await session.scalar(
        select(WebhookEndpoint.id).where(WebhookEndpoint.uid == uid, endpoints_owned_by(principal))
    )
    if endpoint_id is None:
        raise GatewayError(
            ErrorCode.WEBHOOK_ENDPOINT_NOT_FOUND, f"no webhook endpoint {uid!r}", field="id"
        )
    where: list[Any] = [WebhookDelivery.endpoint_id == endpoint_id]
    if status is not None:
        where.append(WebhookDelivery.status == status)
    if before_id is not None:
        where.append(WebhookDelivery.id < before_id)
    return await _deliveries(session, *where, limit=limit)


# Shown only once every transaction that could still add an event before it has ended:
# an event's place is its transaction's id, and a transaction older than the oldest one
# running can add nothing more. (The reader's own transaction's events show at once.)
_SETTLED = text(
    "(events.xid < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint"
    " OR events.xid = (pg_current_xact_id_if_assigned()::text)::bigint)"
)


async def events_page(
    session: AsyncSession,
    principal: Principal,
    *,
    after: tuple[int, int] | None,
    types: Sequence[EventType],
    allowed_types: frozenset[EventType],
    limit: int,
    now: datetime,
) -> list[EventRecord]:
    """The feed: the caller's events in commit-safe order, from ``after`` on, of ``types``
    (none: all) among ``allowed_types``, those its token may read (``auth.scopes``)."""
    readable = sorted(
        event_type.value for event_type in (set(types) if types else allowed_types) & allowed_types
    )
    if not readable:
        return []
    where: list[Any] = [
        events_visible_to(principal),
        Event.occurred_at > now - EVENT_RETENTION,
        _SETTLED,
        Event.type.in_(readable),
    ]
    if after is not None:
        where.append(tuple_(Event.xid, Event.id) > tuple_(*after))
    rows = (
        await session.execute(
            select(
                Event.id,
                Event.xid,
                Event.type,
                Event.version,
                Event.subject,
                Event.occurred_at,
                Event.payload,
            )
            .where(and_(*where))
            .order_by(Event.xid, Event.id)
            .limit(limit)
        )
    ).all()
    return [
        EventRecord(
            id=row.id,
            xid=row.xid,
            type=row.type,
            version=row.version,
            subject=row.subject,
            occurred_at=row.occurred_at,
            payload=row.payload,
        )
        for row in rows
    ]
