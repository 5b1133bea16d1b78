"""Reconciliation: counts and sums by status per batch and per day, and an installment's
whole history (every item, every report). Programme management sees every batch, a payment
partner its own (``resolvers.tenancy.batches_visible_to``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, Final

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.session import execute_core
from core.enums import DisbursementItemStatus, IncentiveKind, PartnerType
from core.errors import ErrorCode, GatewayError
from core.models import (
    DisbursementBatch,
    DisbursementItem,
    DisbursementReport,
    IncentiveInstallment,
    Participant,
)
from core.models.programme import card_holder
from core.principal import Principal
from resolvers.disbursements.batches import batch_by_code
from resolvers.disbursements.records import (
    BatchReconciliation,
    DayReconciliation,
    InstallmentHistory,
    ItemHistory,
    ReportRecord,
    StatusTotal,
    item_record,
    item_select,
)
from resolvers.tenancy import batches_visible_to

# Days are the programme's: Western Indonesian Time, where the payment partners work.
PROGRAMME_TIME_ZONE: Final = "Asia/Jakarta"


def _totals(rows: Any) -> tuple[StatusTotal, ...]:
    found = {DisbursementItemStatus(row.status): row for row in rows}
    return tuple(
        StatusTotal(
            status=status,
            count=found[status].count if status in found else 0,
            amount=int(found[status].amount) if status in found else 0,
        )
        for status in DisbursementItemStatus
    )


async def batch_reconciliation(
    session: AsyncSession, principal: Principal | None, code: str
) -> BatchReconciliation:
    batch = await batch_by_code(session, principal, code)
    rows = await execute_core(
        session,
        select(
            DisbursementItem.status,
            func.count().label("count"),
            func.coalesce(func.sum(DisbursementItem.amount), 0).label("amount"),
        )
        .where(DisbursementItem.batch_id == batch.id)
        .group_by(DisbursementItem.status),
    )
    totals = _totals(rows)
    unreported = {DisbursementItemStatus.PENDING, DisbursementItemStatus.SENT}
    reported = [total for total in totals if total.status not in unreported]
    return BatchReconciliation(
        batch=batch,
        totals=totals,
        reported_count=sum(total.count for total in reported),
        reported_amount=sum(total.amount for total in reported),
    )


async def daily_reconciliation(
    session: AsyncSession, principal: Principal | None, *, first_day: date, last_day: date
) -> list[DayReconciliation]:
    """Items by the day of their latest result (or of their making, before any result)."""
    moment = func.coalesce(DisbursementItem.reported_at, DisbursementItem.created_at)
    day = cast(func.timezone(PROGRAMME_TIME_ZONE, moment), Date).label("day")
    rows = await execute_core(
        session,
        select(
            day,
            DisbursementItem.status,
            func.count().label("count"),
            func.sum(DisbursementItem.amount).label("amount"),
        )
        .join(DisbursementBatch, DisbursementBatch.id == DisbursementItem.batch_id)
        .where(batches_visible_to(principal), day >= first_day, day <= last_day)
        .group_by(day, DisbursementItem.status)
        .order_by(day),
    )
    by_day: dict[date, list[Any]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)
    return [DayReconciliation(day=key, totals=_totals(value)) for key, value in by_day.items()]


async def installment_history(
    session: AsyncSession,
    principal: Principal | None,
    *,
    installment_id: int | None = None,
    card_number: str | None = None,
    kind: IncentiveKind | None = None,
    sequence: int | None = None,
) -> InstallmentHistory:
    """Every item of the installment the caller may see, oldest first, with its reports.

    A payment partner sees the installment only through items of its own batches."""
    statement = select(
        IncentiveInstallment.id,
        IncentiveInstallment.kind,
        IncentiveInstallment.sequence,
        IncentiveInstallment.amount,
        IncentiveInstallment.status,
        IncentiveInstallment.due_at,
    )
    if installment_id is not None:
        statement = statement.where(IncentiveInstallment.id == installment_id)
    else:
        statement = statement.join(
            Participant, Participant.id == IncentiveInstallment.participant_id
        ).where(
            card_holder(card_number),
            IncentiveInstallment.kind == kind,
            IncentiveInstallment.sequence == sequence,
        )
    installment = (await execute_core(session, statement)).one_or_none()
    items = []
    if installment is not None:
        items = list(
            await execute_core(
                session,
                item_select(principal)
                .where(
                    DisbursementItem.installment_id == installment.id,
                    batches_visible_to(principal),
                )
                .order_by(DisbursementItem.id),
            )
        )
    sees_all = principal is not None and principal.partner_type is PartnerType.PROGRAM_MANAGEMENT
    if installment is None or (not items and not sees_all):
        raise GatewayError(
            ErrorCode.INSTALLMENT_NOT_FOUND,
            "no such installment among the ones you disburse",
        )
    reports: dict[int, list[ReportRecord]] = defaultdict(list)
    if items:
        rows = await execute_core(
            session,
            select(DisbursementReport)
            .where(DisbursementReport.item_id.in_([item.id for item in items]))
            .order_by(DisbursementReport.received_at, DisbursementReport.id),
        )
        for row in rows:
            reports[row.item_id].append(
                ReportRecord(
                    status=row.status,
                    reason_code=row.reason_code,
                    partner_reference=row.partner_reference,
                    reported_at=row.reported_at,
                    received_at=row.received_at,
                    applied=row.applied,
                )
            )
    return InstallmentHistory(
        installment_id=installment.id,
        kind=IncentiveKind(installment.kind),
        sequence=installment.sequence,
        amount=installment.amount,
        status=installment.status,
        due_at=installment.due_at,
        items=tuple(
            ItemHistory(item=item_record(item), reports=tuple(reports[item.id])) for item in items
        ),
    )
