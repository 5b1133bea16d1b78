"""Purchases of a training by a platform, and attendance recorded by the provider."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import PurchaseStatus
from core.limits import PARTNER_REFERENCE_LENGTH, PROGRAMME_CODE_LENGTH
from core.models.base import Base, BigId, CreatedAt, Rupiah, text_enum


class PlatformAccount(Base):
    """A platform's user account tied to one card: one account never buys for two cards."""

    __tablename__ = "platform_accounts"

    platform_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    platform_user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    created_at: Mapped[CreatedAt]


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("platform_id", "invoice_code", name="uq_purchases_platform_invoice"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("otp_attempts BETWEEN 0 AND 3", name="otp_attempts"),
        CheckConstraint(
            "status NOT IN ('SUCCESS', 'VOIDED') OR "
            "(transaction_code IS NOT NULL AND redeem_code IS NOT NULL)",
            name="codes_when_authorized",
        ),
        CheckConstraint("status = 'SUCCESS' OR redeemed_at IS NULL", name="redeem_only_success"),
        Index("ix_purchases_schedule", "schedule_id"),
        Index("ix_purchases_participant", "participant_id"),
        Index("ix_purchases_platform_id", "platform_id", "id"),
        Index("ix_purchases_course_id", "course_id", "id"),
    )

    id: Mapped[BigId]
    platform_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    platform_user_id: Mapped[str] = mapped_column(String(PARTNER_REFERENCE_LENGTH))
    invoice_code: Mapped[str] = mapped_column(String(PARTNER_REFERENCE_LENGTH))
    invoice_url: Mapped[str | None] = mapped_column(String(500))
    amount: Mapped[Rupiah]
    status: Mapped[PurchaseStatus] = mapped_column(text_enum(PurchaseStatus, "purchase_status"))
    transaction_code: Mapped[str | None] = mapped_column(String(PROGRAMME_CODE_LENGTH), unique=True)
    redeem_code: Mapped[str | None] = mapped_column(String(PROGRAMME_CODE_LENGTH), unique=True)
    # Only hashes of the payment token and the OTP are kept.
    payment_token_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    otp_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    otp_attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
    authorized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Attendance(Base):
    """Sequence 1 is the redemption, 2-10 further sessions, 999 the post-test."""

    __tablename__ = "attendances"
    __table_args__ = (
        # One row per purchase and sequence: in particular one redemption per purchase.
        UniqueConstraint("purchase_id", "sequence", name="uq_attendances_purchase_sequence"),
        CheckConstraint("sequence BETWEEN 1 AND 10 OR sequence = 999", name="sequence_range"),
        CheckConstraint(
            "(sequence = 999) = (score IS NOT NULL) AND (score IS NULL OR score BETWEEN 0 AND 100)",
            name="score_on_post_test",
        ),
    )

    id: Mapped[BigId]
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"))
    sequence: Mapped[int] = mapped_column(SmallInteger)
    score: Mapped[int | None] = mapped_column(SmallInteger)
    attended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by_client_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[CreatedAt]
