"""The event log and its webhook deliveries (migration 0010).

An event is written in the transaction of the change it describes; a trigger on ``events``
fans it out into one delivery per subscribed endpoint in that same transaction, so an event
and its deliveries exist together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import DeliveryStatus, WebhookEndpointStatus
from core.models.base import Base, BigId, CreatedAt, text_enum

# The writing transaction's id: the feed pages in (xid, id) order and shows only events of
# transactions older than every running one, so an event that commits late never lands
# behind a cursor a reader has already passed.
CURRENT_XID = text("(pg_current_xact_id()::text)::bigint")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_xid_id", "xid", "id"),
        Index("ix_events_audience", "audience", postgresql_using="gin"),
        Index("ix_events_occurred_at", "occurred_at"),
        # One installment.due per installment (migration 0015).
        Index(
            "uq_events_installment_due",
            "subject",
            unique=True,
            postgresql_where=text("type = 'installment.due'"),
        ),
    )

    id: Mapped[BigId]
    xid: Mapped[int] = mapped_column(BigInteger, server_default=CURRENT_XID)
    type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(SmallInteger)
    subject: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[CreatedAt]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The partners that may see it (resolvers.tenancy.event_audience); programme management
    # sees every event without being listed.
    audience: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    # False for a test event: delivered to the one endpoint it was sent to, fanned out to none.
    fan_out: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_partner_id", "partner_id"),)

    id: Mapped[BigId]
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(200))
    # Empty: every type the partner may see.
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    status: Mapped[WebhookEndpointStatus] = mapped_column(
        text_enum(WebhookEndpointStatus, "webhook_endpoint_status")
    )
    # AES-GCM under the master key (core.sealed), the uid as authenticated data.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[CreatedAt]


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'PENDING'"),
        ),
        Index(
            "ix_webhook_deliveries_queue",
            "endpoint_id",
            "subject",
            "event_id",
            postgresql_where=text("status = 'PENDING'"),
        ),
        Index("ix_webhook_deliveries_endpoint_event", "endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
    )

    id: Mapped[BigId]
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # The event's subject, kept here for the order-per-subject check of the claim.
    subject: Mapped[str] = mapped_column(String(128))
    status: Mapped[DeliveryStatus] = mapped_column(text_enum(DeliveryStatus, "delivery_status"))
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    first_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id"),)

    id: Mapped[BigId]
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    latency_ms: Mapped[int] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(1024))
    error: Mapped[str | None] = mapped_column(String(200))
