"""Cross-cutting records: idempotency, the audit log, the notification outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import OutboxStatus
from core.models.base import Base, BigId, CreatedAt, text_enum


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("client_id", "key", name="uq_idempotency_client_key"),
        Index("ix_idempotency_expires_at", "expires_at"),
    )

    id: Mapped[BigId]
    client_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRecord(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_occurred_at", "occurred_at"),
    )

    id: Mapped[BigId]
    occurred_at: Mapped[CreatedAt]
    action: Mapped[str] = mapped_column(String(64))
    actor_client_id: Mapped[str | None] = mapped_column(String(64))
    actor_partner_id: Mapped[int | None] = mapped_column(BigInteger)
    request_id: Mapped[str | None] = mapped_column(String(64))
    source_ip: Mapped[str | None] = mapped_column(INET)
    entity_type: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class OutboxMessage(Base):
    """Notifications (OTPs among them) written in the same transaction, sent afterwards."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_outbox_status_id", "status", "id"),)

    id: Mapped[BigId]
    channel: Mapped[str] = mapped_column(String(16))
    participant_id: Mapped[int | None] = mapped_column(BigInteger)
    template: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[OutboxStatus] = mapped_column(text_enum(OutboxStatus, "outbox_status"))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    created_at: Mapped[CreatedAt]
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateLimitBucket(Base):
    """A token bucket of query-cost points, shared by every gateway process. Unlogged
    (migration 0014): written on every request, worthless after a crash."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    points: Mapped[float] = mapped_column(Float)
    allowed: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Points the last spend also leased to its process (migration 0026).
    leased: Mapped[float] = mapped_column(Float, server_default=text("0"))


class ClientWritePosition(Base):
    """Where the primary's WAL stood after a client's last mutation (read-your-writes across
    gateway processes, ``core/db/routing.py``). UNLOGGED: a routing hint, not data."""

    __tablename__ = "client_write_positions"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lsn: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuthFailure(Base):
    """Failed client authentications of one client id or one address, and the back-off."""

    __tablename__ = "auth_failures"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
