"""What the disbursement resolvers hand the schema: frozen records built by field name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, select
from sqlalchemy.orm import aliased

from core.enums import (
    BatchStatus,
    DisbursementItemStatus,
    DisbursementResult,
    IncentiveKind,
    InstallmentStatus,
    PaymentAccountKind,
    ReportOutcome,
)
from core.errors import ErrorCode
from core.models import (
    DisbursementBatch,
    DisbursementItem,
    IncentiveInstallment,
    Partner,
    PaymentAccount,
)
from core.principal import Principal
from resolvers.tenancy import account_number_visible_to


@dataclass(frozen=True, kw_only=True)
class BatchRecord:
    id: int
    code: str
    payment_partner_code: str
    item_count: int
    control_sum: int
    status: BatchStatus
    created_at: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class ItemRecord:
    id: int
    batch_code: str
    end_to_end_id: str
    amount: int
    status: DisbursementItemStatus
    reason_code: str | None
    partner_reference: str | None
    reported_at: datetime | None
    created_at: datetime
    installment_id: int
    installment_kind: IncentiveKind
    installment_sequence: int
    beneficiary_name: str
    account_kind: PaymentAccountKind
    # The number itself where the caller must pay into it, else the masked form.
    account_number: str
    account_number_masked: bool


@dataclass(frozen=True, kw_only=True)
class ReportRecord:
    status: DisbursementResult
    reason_code: str | None
    partner_reference: str | None
    reported_at: datetime
    received_at: datetime
    applied: bool


@dataclass(frozen=True, kw_only=True)
class UserErrorRecord:
    code: ErrorCode
    message: str
    field: str | None = None


@dataclass(frozen=True, kw_only=True)
class ResultOutcomeRecord:
    """One reported result's answer, in input order: the item and what the report did, or
    why it was refused."""

    end_to_end_id: str
    outcome: ReportOutcome | None
    item: ItemRecord | None
    errors: tuple[UserErrorRecord, ...]


@dataclass(frozen=True, kw_only=True)
class StatusTotal:
    status: DisbursementItemStatus
    count: int
    amount: int


@dataclass(frozen=True, kw_only=True)
class BatchReconciliation:
    batch: BatchRecord
    totals: tuple[StatusTotal, ...]
    reported_count: int  # items with a result
    reported_amount: int


@dataclass(frozen=True, kw_only=True)
class DayReconciliation:
    day: date
    totals: tuple[StatusTotal, ...]


@dataclass(frozen=True, kw_only=True)
class ItemHistory:
    item: ItemRecord
    reports: tuple[ReportRecord, ...]


@dataclass(frozen=True, kw_only=True)
class InstallmentHistory:
    installment_id: int
    kind: IncentiveKind
    sequence: int
    amount: int
    status: InstallmentStatus
    due_at: datetime | None
    items: tuple[ItemHistory, ...]


@dataclass(frozen=True, kw_only=True)
class PaymentAccountRecord:
    """A participant's account at one payment partner; its number only ever masked."""

    id: int
    card_number: str
    payment_partner_code: str
    kind: PaymentAccountKind
    masked_account_number: str
    holder_name: str
    name_matched: bool
    verified_at: datetime | None
    is_primary: bool
    created_at: datetime


BATCH_PARTNER = aliased(Partner, name="batch_partner")


def batch_select() -> Select[Any]:
    statement: Select[Any] = select(  # type: ignore[assignment]
        DisbursementBatch.id,
        DisbursementBatch.code,
        BATCH_PARTNER.code.label("payment_partner_code"),
        DisbursementBatch.item_count,
        DisbursementBatch.control_sum,
        DisbursementBatch.status,
        DisbursementBatch.created_at,
        DisbursementBatch.acknowledged_at,
        DisbursementBatch.completed_at,
    ).join(BATCH_PARTNER, BATCH_PARTNER.id == DisbursementBatch.payment_partner_id)
    return statement


def batch_record(row: Any) -> BatchRecord:
    return BatchRecord(
        id=row.id,
        code=row.code,
        payment_partner_code=row.payment_partner_code,
        item_count=row.item_count,
        control_sum=row.control_sum,
        status=BatchStatus(row.status),
        created_at=row.created_at,
        acknowledged_at=row.acknowledged_at,
        completed_at=row.completed_at,
    )


def item_select(principal: Principal | None) -> Select[Any]:
    """Items with their batch, installment and account; the account number per tenancy."""
    shown: ColumnElement[bool] = account_number_visible_to(principal)
    statement: Select[Any] = (
        select(  # type: ignore[assignment]
            DisbursementItem.id,
            DisbursementBatch.code.label("batch_code"),
            DisbursementItem.end_to_end_id,
            DisbursementItem.amount,
            DisbursementItem.status,
            DisbursementItem.reason_code,
            DisbursementItem.partner_reference,
            DisbursementItem.reported_at,
            DisbursementItem.created_at,
            DisbursementItem.installment_id,
            IncentiveInstallment.kind.label("installment_kind"),
            IncentiveInstallment.sequence.label("installment_sequence"),
            PaymentAccount.holder_name.label("beneficiary_name"),
            PaymentAccount.kind.label("account_kind"),
            case((shown, PaymentAccount.account_number), else_=PaymentAccount.account_masked).label(
                "account_number"
            ),
            case((shown, False), else_=True).label("account_number_masked"),
        )
        .join(DisbursementBatch, DisbursementBatch.id == DisbursementItem.batch_id)
        .join(IncentiveInstallment, IncentiveInstallment.id == DisbursementItem.installment_id)
        .join(PaymentAccount, PaymentAccount.id == DisbursementItem.payment_account_id)
    )
    return statement


def item_record(row: Any) -> ItemRecord:
    return ItemRecord(
        id=row.id,
        batch_code=row.batch_code,
        end_to_end_id=row.end_to_end_id,
        amount=row.amount,
        status=DisbursementItemStatus(row.status),
        reason_code=row.reason_code,
        partner_reference=row.partner_reference,
        reported_at=row.reported_at,
        created_at=row.created_at,
        installment_id=row.installment_id,
        installment_kind=IncentiveKind(row.installment_kind),
        installment_sequence=row.installment_sequence,
        beneficiary_name=row.beneficiary_name,
        account_kind=PaymentAccountKind(row.account_kind),
        account_number=row.account_number,
        account_number_masked=bool(row.account_number_masked),
    )


_ITEM_FIELDS = tuple(field.name for field in fields(ItemRecord))


def item_records(result: Iterable[Any]) -> list[ItemRecord]:
    """Every row of an ``item_select`` result as a record, as ``item_record`` makes one:
    a page holds up to 1,000 rows, and reading a row's values through its attribute names
    costs more than the rest of making the record. Each value is still taken by its
    column's name, the positions looked up once; the enum columns arrive as the enums
    already (``core.models.base.text_enum``), the masked flag as a bool."""
    rows = iter(result)
    first = next(rows, None)
    if first is None:
        return []
    position = {name: index for index, name in enumerate(first._fields)}
    taken = tuple((name, position[name]) for name in _ITEM_FIELDS)
    records = [ItemRecord(**{name: first[index] for name, index in taken})]
    records.extend(ItemRecord(**{name: row[index] for name, index in taken}) for row in rows)
    return records
