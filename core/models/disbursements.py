"""Payment accounts, incentive installments, and disbursement batches for payment partners."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import (
    BatchStatus,
    DisbursementItemStatus,
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
    )

    id: Mapped[BigId]
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    payment_partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[PaymentAccountKind] = mapped_column(
        text_enum(PaymentAccountKind, "payment_account_kind")
    )
    # Opaque reference the payment partner resolves; only a masked number is shown.
    account_reference: Mapped[str] = mapped_column(String(64))
    account_masked: Mapped[str] = mapped_column(String(40))
    holder_name: Mapped[str] = mapped_column(String(200))
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


class DisbursementBatch(Base):
    __tablename__ = "disbursement_batches"
    __table_args__ = (
        CheckConstraint("item_count >= 0 AND control_sum >= 0", name="header_not_negative"),
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
        # Nothing is ever paid twice: at most one live (pending or paid) item per installment.
        Index(
            "uq_disbursement_items_live_installment",
            "installment_id",
            unique=True,
            postgresql_where=text("status IN ('PENDING', 'PAID', 'UNKNOWN')"),
        ),
        Index("ix_disbursement_items_batch_id", "batch_id", "id"),
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
    reason_code: Mapped[str | None] = mapped_column(String(16))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
