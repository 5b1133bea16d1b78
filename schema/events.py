"""Events: webhook endpoints a partner manages itself, their deliveries, and the feed.

Any valid token manages its own partner's endpoints and reads its own feed. Two rules
decide what an endpoint or the feed receives: the token's scopes allow event families
(``auth.scopes.event_types_allowed``: ``batch.*`` needs disbursement:read...), checked
when an endpoint subscribes and each time the feed is read; and each event's audience
(``resolvers.tenancy``) names the partners that may hear of it. Programme management
receives every event of the families its token allows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import strawberry
from strawberry.scalars import JSON

from auth.permissions import IsAuthenticated
from auth.scopes import event_types_allowed
from core.clock import utc_now
from core.enums import DeliveryStatus, EventType, WebhookEndpointStatus
from core.errors import ErrorCode, GatewayError
from resolvers import webhooks as webhook_resolvers
from resolvers.webhooks import (
    AttemptRecord,
    DeliveryRecord,
    EndpointRecord,
    EndpointWithSecret,
    EventRecord,
)
from schema.common import (
    Connection,
    build_connection,
    check_page_size,
    decode_cursor,
    id_after,
)
from schema.info import Info, actor_of
from schema.registration import master_key

EventTypeEnum = strawberry.enum(
    EventType,
    description=(
        "What happened: <subject>.<past tense>. Names are stable; a payload's shape changes "
        "only with the event's version."
    ),
)
WebhookEndpointStatusEnum = strawberry.enum(
    WebhookEndpointStatus,
    description="DISABLED: by the partner, or by the gateway after it failed for days.",
)
DeliveryStatusEnum = strawberry.enum(
    DeliveryStatus,
    description=(
        "PENDING: waiting for its (next) attempt; SUCCEEDED: answered 2xx; FAILED: retried "
        "for the whole retry period (3 days) without success."
    ),
)


def _allow_private(info: Info) -> bool:
    """Demo mode accepts http:// and local receivers; production only public https."""
    return bool(info.context.request.app.state.settings.demo)


def _allowed_types(info: Info) -> frozenset[EventType]:
    """The event types the caller's token may subscribe to and read (``auth.scopes``)."""
    return event_types_allowed(actor_of(info).principal.scopes)


def _event_id(value: str) -> int:
    try:
        prefix, number = value.split("_", 1)
        if prefix != "evt":
            raise ValueError
        return int(number)
    except ValueError:
        raise GatewayError(
            ErrorCode.BAD_USER_INPUT, "an event id looks like evt_123", field="eventId"
        ) from None


@strawberry.type(description="A receiver of a partner's events.")
class WebhookEndpoint:
    id: str = strawberry.field(description="The endpoint's id (ep_...).")
    url: str
    description: str | None
    event_types: list[EventTypeEnum] = strawberry.field(  # type: ignore[valid-type]
        description=(
            "The types it receives (an endpoint created with none lists every type the "
            "creating token's scopes allowed)."
        )
    )
    status: WebhookEndpointStatusEnum  # type: ignore[valid-type]
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until then the secret before the last rotation signs too."
    )
    created_at: datetime

    @classmethod
    def from_record(cls, record: EndpointRecord) -> WebhookEndpoint:
        return cls(
            id=record.uid,
            url=record.url,
            description=record.description,
            event_types=[EventType(value) for value in record.event_types],
            status=record.status,
            disabled_reason=record.disabled_reason,
            previous_secret_expires_at=record.previous_secret_expires_at,
            created_at=record.created_at,
        )


@strawberry.type(description="An endpoint and its signing secret, shown this once only.")
class WebhookEndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(
        description="whsec_<base64>: the Standard Webhooks signing secret. Shown once."
    )

    @classmethod
    def from_record(cls, record: EndpointWithSecret) -> WebhookEndpointWithSecret:
        return cls(endpoint=WebhookEndpoint.from_record(record.endpoint), secret=record.secret)


@strawberry.type(description="One HTTP attempt of a delivery.")
class WebhookAttempt:
    attempted_at: datetime
    status_code: int | None = strawberry.field(description="None: no answer (see error).")
    latency_ms: int
    response_excerpt: str | None = strawberry.field(
        description="The first bytes of the answer's body."
    )
    error: str | None = strawberry.field(description="timeout, connection refused, redirect…")

    @classmethod
    def from_record(cls, record: AttemptRecord) -> WebhookAttempt:
        return cls(
            attempted_at=record.attempted_at,
            status_code=record.status_code,
            latency_ms=record.latency_ms,
            response_excerpt=record.response_excerpt,
            error=record.error,
        )


@strawberry.type(description="An event on its way to one endpoint.")
class WebhookDelivery:
    event_id: str = strawberry.field(description="The webhook-id header: evt_<n>.")
    event_type: EventTypeEnum  # type: ignore[valid-type]
    endpoint_id: str
    status: DeliveryStatusEnum  # type: ignore[valid-type]
    attempt_count: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    attempts: list[WebhookAttempt] = strawberry.field(description="The newest 20, newest first.")
    pk: strawberry.Private[int]

    @classmethod
    def from_record(cls, record: DeliveryRecord) -> WebhookDelivery:
        return cls(
            pk=record.id,
            event_id=webhook_resolvers.message_id(record.event_id),
            event_type=EventType(record.event_type),
            endpoint_id=record.endpoint_uid,
            status=record.status,
            attempt_count=record.attempt_count,
            next_attempt_at=record.next_attempt_at,
            last_attempt_at=record.last_attempt_at,
            attempts=[WebhookAttempt.from_record(attempt) for attempt in record.attempts],
        )


@strawberry.type(description="An event of the feed: the same envelope a webhook carries.")
class Event:
    id: str = strawberry.field(description="evt_<n>, the webhook-id of its deliveries.")
    type: EventTypeEnum  # type: ignore[valid-type]
    version: int
    timestamp: datetime
    subject: str = strawberry.field(description="What it is about, e.g. purchase:123.")
    data: JSON = strawberry.field(description="The payload, as the webhook's data.")
    key: strawberry.Private[tuple[int, int]]

    @classmethod
    def from_record(cls, record: EventRecord) -> Event:
        return cls(
            key=(record.xid, record.id),
            id=record.message_id,
            type=EventType(record.type),
            version=record.version,
            timestamp=record.occurred_at,
            subject=record.subject,
            data=JSON(record.payload),
        )


@strawberry.input
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="https:// (http:// too in demo mode).")
    event_types: list[EventTypeEnum] = strawberry.field(  # type: ignore[valid-type]
        default_factory=list,
        description=(
            "Empty: every type this token's scopes allow. A type whose family needs a scope "
            "the token lacks is refused (EVENT_TYPE_NOT_ALLOWED)."
        ),
    )
    description: str | None = None


@strawberry.type
class RedeliveredCount:
    count: int


@strawberry.type
class EventQuery:
    @strawberry.field(
        description="The caller's own webhook endpoints.",
        permission_classes=[IsAuthenticated],
    )
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        records = await webhook_resolvers.endpoints_of(
            info.context.session, actor_of(info).principal
        )
        return [WebhookEndpoint.from_record(record) for record in records]

    @strawberry.field(
        description="An endpoint's deliveries, newest first, with their attempts.",
        permission_classes=[IsAuthenticated],
    )
    async def webhook_deliveries(
        self,
        info: Info,
        endpoint_id: str,
        status: DeliveryStatusEnum | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        page_size = check_page_size(first)
        before_id = id_after(after)
        records = await webhook_resolvers.deliveries_page(
            info.context.session,
            actor_of(info).principal,
            endpoint_id,
            status=status,
            before_id=before_id,
            limit=page_size + 1,
        )
        return build_connection(
            [WebhookDelivery.from_record(record) for record in records],
            page_size=page_size,
            key_of=lambda delivery: (delivery.pk,),
            after=after,
        )

    @strawberry.field(
        description=(
            "The pollable feed of the caller's events (the webhooks' envelopes), oldest "
            "first: keep the last endCursor and ask again with it. Kept 30 days."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def events(
        self,
        info: Info,
        after: str | None = None,
        types: list[EventTypeEnum] | None = None,  # type: ignore[valid-type]
        first: int | None = None,
    ) -> Connection[Event]:
        page_size = check_page_size(first)
        key = None if after is None else decode_cursor(after, length=2)
        if key is not None and not all(isinstance(part, int) for part in key):
            raise GatewayError(ErrorCode.INVALID_CURSOR, "cursor is malformed")
        records = await webhook_resolvers.events_page(
            info.context.session,
            actor_of(info).principal,
            after=None if key is None else (int(key[0]), int(key[1])),
            types=types or [],
            allowed_types=_allowed_types(info),
            limit=page_size + 1,
            now=utc_now(),
        )
        return build_connection(
            [Event.from_record(record) for record in records],
            page_size=page_size,
            key_of=lambda event: event.key,
            after=after,
        )


@strawberry.type
class EventMutation:
    @strawberry.mutation(
        description="A new endpoint; its signing secret is in the answer, and only there.",
        permission_classes=[IsAuthenticated],
    )
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> WebhookEndpointWithSecret | None:
        record = await webhook_resolvers.create_endpoint(
            info.context.session,
            actor_of(info),
            url=input.url,
            event_types=input.event_types,
            description=input.description,
            master_key=master_key(info),
            allow_private=_allow_private(info),
            allowed_types=_allowed_types(info),
        )
        return WebhookEndpointWithSecret.from_record(record)

    @strawberry.mutation(
        description="Deletes the endpoint and its deliveries (the feed keeps the events).",
        permission_classes=[IsAuthenticated],
    )
    async def delete_webhook_endpoint(self, info: Info, id: str) -> WebhookEndpoint | None:
        record = await webhook_resolvers.delete_endpoint(info.context.session, actor_of(info), id)
        return WebhookEndpoint.from_record(record)

    @strawberry.mutation(
        description="Enables or disables the endpoint (a disabled one receives nothing).",
        permission_classes=[IsAuthenticated],
    )
    async def set_webhook_endpoint_enabled(
        self, info: Info, id: str, enabled: bool
    ) -> WebhookEndpoint | None:
        record = await webhook_resolvers.set_endpoint_enabled(
            info.context.session, actor_of(info), id, enabled=enabled
        )
        return WebhookEndpoint.from_record(record)

    @strawberry.mutation(
        description=(
            "A new signing secret (shown once); the old one keeps signing beside it for "
            "overlapHours (0-168, default 24), so both signatures arrive meanwhile."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def rotate_webhook_secret(
        self, info: Info, id: str, overlap_hours: int = 24
    ) -> WebhookEndpointWithSecret | None:
        record = await webhook_resolvers.rotate_secret(
            info.context.session,
            actor_of(info),
            id,
            overlap=timedelta(hours=overlap_hours),
            master_key=master_key(info),
            now=utc_now(),
        )
        return WebhookEndpointWithSecret.from_record(record)

    @strawberry.mutation(
        description="Sends a webhook.test event to this endpoint only.",
        permission_classes=[IsAuthenticated],
    )
    async def send_test_event(self, info: Info, endpoint_id: str) -> WebhookDelivery | None:
        record = await webhook_resolvers.send_test_event(
            info.context.session, actor_of(info), endpoint_id
        )
        return WebhookDelivery.from_record(record)

    @strawberry.mutation(
        description="Sends one event to the endpoint again (same webhook-id).",
        permission_classes=[IsAuthenticated],
    )
    async def redeliver_event(
        self, info: Info, endpoint_id: str, event_id: str
    ) -> WebhookDelivery | None:
        record = await webhook_resolvers.redeliver_event(
            info.context.session, actor_of(info), endpoint_id, _event_id(event_id), now=utc_now()
        )
        return WebhookDelivery.from_record(record)

    @strawberry.mutation(
        description="Sends again every delivery to the endpoint that failed, of events since.",
        permission_classes=[IsAuthenticated],
    )
    async def redeliver_failed_events(
        self, info: Info, endpoint_id: str, since: datetime
    ) -> RedeliveredCount | None:
        if since.tzinfo is None:
            raise GatewayError(ErrorCode.BAD_USER_INPUT, "since needs a time zone", field="since")
        count = await webhook_resolvers.redeliver_failed(
            info.context.session, actor_of(info), endpoint_id, since, now=utc_now()
        )
        return RedeliveredCount(count=count)
