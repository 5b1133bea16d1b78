"""Payment accounts, incentive installments, and disbursement batches for payment partners."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import (
    BatchStatus,
    DisbursementItemStatus,
    DisbursementResult,
    IncentiveKind,
    InstallmentStatus,
    PaymentAccountKind,
)
from core.limits import PROGRAMME_CODE_LENGTH
from core.models.base import Base, BigId, CreatedAt, Rupiah, text_enum


class PaymentAccount(Base):
    __tablename__ = "payment_accounts"
    __table_args__ = (
        Index(
            "uq_payment_accounts_one_primary",
            "participant_id",
            unique=True,
            postgresql_where=text("is_primary"),
        ),
        # Verified means the account inquiry's holder name matched the participant's record.
        CheckConstraint("verified_at IS NULL OR name_matched", name="verified_name_matched"),
    )

    id: Mapped[BigId]
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    payment_partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[PaymentAccountKind] = mapped_column(
        text_enum(PaymentAccountKind, "payment_account_kind")
    )
    # Opaque reference the payment partner resolves.
    account_reference: Mapped[str] = mapped_column(String(64))
    # The number itself goes only to the payment partner that must pay into it; every
    # other answer shows ``account_masked``.
    account_number: Mapped[str] = mapped_column(String(34))
    account_masked: Mapped[str] = mapped_column(String(40))
    # The holder's name as the payment partner's account inquiry returned it.
    holder_name: Mapped[str] = mapped_column(String(200))
    name_matched: Mapped[bool] = mapped_column(server_default=false())
    is_primary: Mapped[bool]
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]


class IncentiveInstallment(Base):
    __tablename__ = "incentive_installments"
    __table_args__ = (
        UniqueConstraint(
            "participant_id", "kind", "sequence", name="uq_installments_participant_kind_seq"
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        Index("ix_installments_status_due", "status", "due_at"),
        Index(
            "ix_installments_due_event_pending",
            "due_at",
            "id",
            postgresql_where=text("due_event_pending"),
        ),
    )

    id: Mapped[BigId]
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    kind: Mapped[IncentiveKind] = mapped_column(text_enum(IncentiveKind, "incentive_kind"))
    sequence: Mapped[int] = mapped_column(SmallInteger)
    amount: Mapped[Rupiah]
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[InstallmentStatus] = mapped_column(
        text_enum(InstallmentStatus, "installment_status")
    )
    created_at: Mapped[CreatedAt]
    # Its ``installment.due`` event is still to be written (once the due date has passed);
    # false for installments that need none (the seeds', those announced).
    due_event_pending: Mapped[bool] = mapped_column(Boolean, server_default=false())


class DisbursementBatch(Base):
    __tablename__ = "disbursement_batches"
    __table_args__ = (
        CheckConstraint("item_count >= 0 AND control_sum >= 0", name="header_not_negative"),
        # The timestamps follow the status: acknowledged once out of READY, completed once
        # COMPLETED.
        CheckConstraint(
            "(status = 'READY') = (acknowledged_at IS NULL)"
            " AND (status = 'COMPLETED') = (completed_at IS NOT NULL)",
            name="status_timestamps",
        ),
        Index("ix_batches_partner_id", "payment_partner_id", "id"),
    )

    id: Mapped[BigId]
    code: Mapped[str] = mapped_column(String(PROGRAMME_CODE_LENGTH), unique=True)
    payment_partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    # The header echoed by the receiver: number of items and the sum of their amounts.
    item_count: Mapped[int] = mapped_column(Integer)
    control_sum: Mapped[Rupiah]
    status: Mapped[BatchStatus] = mapped_column(text_enum(BatchStatus, "batch_status"))
    created_at: Mapped[CreatedAt]
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DisbursementItem(Base):
    __tablename__ = "disbursement_items"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(end_to_end_id) <= 35", name="end_to_end_id_length"),
        CheckConstraint("status <> 'FAILED' OR reason_code IS NOT NULL", name="failed_has_reason"),
        # Nothing is ever paid twice: at most one live (pending, sent, paid or unknown) item
        # per installment. Migration 0006 (0008 at set speed) also refuses, by trigger, every
        # status change outside the item's state machine, and any item paying an unverified
        # account.
        Index(
            "uq_disbursement_items_live_installment",
            "installment_id",
            unique=True,
            postgresql_where=text("status IN ('PENDING', 'SENT', 'PAID', 'UNKNOWN')"),
        ),
        Index("ix_disbursement_items_batch_id", "batch_id", "id"),
        Index("ix_disbursement_items_installment_id", "installment_id"),
        # A batch's open items (migration 0008): whether a batch is complete, without a count.
        Index(
            "ix_disbursement_items_open",
            "batch_id",
            postgresql_where=text("status IN ('SENT', 'UNKNOWN')"),
        ),
    )

    id: Mapped[BigId]
    batch_id: Mapped[int] = mapped_column(ForeignKey("disbursement_batches.id"))
    installment_id: Mapped[int] = mapped_column(ForeignKey("incentive_installments.id"))
    payment_account_id: Mapped[int] = mapped_column(ForeignKey("payment_accounts.id"))
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    amount: Mapped[Rupiah]
    status: Mapped[DisbursementItemStatus] = mapped_column(
        text_enum(DisbursementItemStatus, "disbursement_item_status")
    )
    # Of the result that set the status: its reason code, the partner's reference, its time.
    reason_code: Mapped[str | None] = mapped_column(String(16))
    partner_reference: Mapped[str | None] = mapped_column(String(64))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]


class DisbursementReport(Base):
    """Every result a payment partner reported of an item: history and idempotency.

    An item takes each result status at most once (its states only move forward), so a
    report is identified by (item, status): the same report again is recognised, and a
    different one for the same status is a conflict.
    """

    __tablename__ = "disbursement_reports"
    __table_args__ = (
        UniqueConstraint("item_id", "status", name="uq_disbursement_reports_item_status"),
        CheckConstraint("status <> 'FAILED' OR reason_code IS NOT NULL", name="failed_has_reason"),
    )

    id: Mapped[BigId]
    item_id: Mapped[int] = mapped_column(ForeignKey("disbursement_items.id"))
    status: Mapped[DisbursementResult] = mapped_column(
        text_enum(DisbursementResult, "disbursement_result")
    )
    reason_code: Mapped[str | None] = mapped_column(String(16))
    partner_reference: Mapped[str | None] = mapped_column(String(64))
    # The partner's time of the result, and ours of receiving it.
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Whether the report changed the item (a late UNKNOWN after a final result does not).
    applied: Mapped[bool]
    client_id: Mapped[str | None] = mapped_column(String(64))
