"""Voiding a purchase not yet redeemed: the balance and the seat return."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor
from core.enums import (
    EventType,
    PurchaseStatus,
)
from core.errors import ErrorCode, GatewayError
from core.models import (
    Participant,
    Purchase,
    Schedule,
)
from resolvers.enrollment.records import PurchaseRecord
from resolvers.enrollment.state import audit_change, audited_state
from resolvers.events import record_purchase_event


async def void_purchase(
    session: AsyncSession, actor: Actor, invoice_code: str, transaction_code: str, *, now: datetime
) -> PurchaseRecord:
    """Cancels an authorized, not yet redeemed purchase: the balance and the seat return."""
    purchase = await session.scalar(
        select(Purchase)
        .where(
            Purchase.platform_id == actor.partner_id,
            Purchase.invoice_code == invoice_code,
            Purchase.transaction_code == transaction_code,
        )
        .with_for_update()
    )
    if purchase is None:
        raise GatewayError(
            ErrorCode.TRANSACTION_NOT_FOUND,
            "no purchase with this invoice and transaction code",
        )
    if purchase.status is PurchaseStatus.VOIDED:
        raise GatewayError(ErrorCode.ALREADY_VOIDED, "the purchase is already voided")
    if purchase.redeemed_at is not None:
        raise GatewayError(ErrorCode.ALREADY_REDEEMED, "a redeemed purchase cannot be voided")
    before = audited_state(purchase)
    await session.execute(
        update(Participant)
        .where(Participant.id == purchase.participant_id)
        .values(training_balance=Participant.training_balance + purchase.amount)
    )
    await session.execute(
        update(Schedule)
        .where(Schedule.id == purchase.schedule_id)
        .values(remaining=Schedule.remaining + 1)
    )
    purchase.status = PurchaseStatus.VOIDED
    purchase.voided_at = now
    await audit_change(session, actor, purchase, before, "purchase.voided")
    await record_purchase_event(session, EventType.PURCHASE_VOIDED, purchase.id)
    return PurchaseRecord.of(purchase)
