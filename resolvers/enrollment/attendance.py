"""Redemption (sequence 1), sessions (2-10) and the post-test (999) of a purchase."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.enums import (
    EventType,
    PurchaseStatus,
)
from core.errors import ErrorCode, GatewayError
from core.models import (
    Attendance,
    Purchase,
    Schedule,
)
from resolvers.enrollment.records import AttendanceRecord
from resolvers.events import record_purchase_event
from resolvers.tenancy import purchases_visible_to

REDEMPTION_SEQUENCE = 1


LAST_SESSION_SEQUENCE = 10


POST_TEST_SEQUENCE = 999


async def record_attendance(
    session: AsyncSession,
    actor: Actor,
    redeem_code: str,
    sequence: int,
    score: int | None,
    *,
    now: datetime,
) -> AttendanceRecord:
    """Sequence 1 redeems the code; 2-10 are further sessions; 999 is the post-test."""
    if not (
        REDEMPTION_SEQUENCE <= sequence <= LAST_SESSION_SEQUENCE or sequence == POST_TEST_SEQUENCE
    ):
        raise GatewayError(
            ErrorCode.INVALID_SEQUENCE, "sequence is 1 to 10, or 999 for the post-test"
        )
    if sequence == POST_TEST_SEQUENCE and score is None:
        raise GatewayError(
            ErrorCode.INVALID_SCORE,
            "the score is missing: the post-test (sequence 999) needs a score from 0 to 100",
        )
    if sequence != POST_TEST_SEQUENCE and score is not None:
        raise GatewayError(
            ErrorCode.INVALID_SCORE,
            f"unexpected score for sequence {sequence}: a score goes with the post-test (999)"
            " only; leave it out",
        )
    if score is not None and not 0 <= score <= 100:
        raise GatewayError(ErrorCode.INVALID_SCORE, "score is 0 to 100")

    purchase = await session.scalar(
        select(Purchase)
        .where(Purchase.redeem_code == redeem_code, purchases_visible_to(actor.principal))
        .with_for_update()
    )
    if purchase is None or purchase.status is not PurchaseStatus.SUCCESS:
        # A voided purchase, or another provider's code, is no code at all to this caller.
        raise GatewayError(ErrorCode.REDEEM_CODE_NOT_FOUND, "no redeemable purchase with this code")
    recorded = set(
        (
            await session.scalars(
                select(Attendance.sequence).where(Attendance.purchase_id == purchase.id)
            )
        ).all()
    )
    if sequence in recorded:
        code = (
            ErrorCode.ALREADY_REDEEMED
            if sequence == REDEMPTION_SEQUENCE
            else ErrorCode.ATTENDANCE_ALREADY_RECORDED
        )
        raise GatewayError(code, f"sequence {sequence} is already recorded")
    if sequence == REDEMPTION_SEQUENCE:
        schedule = await session.get_one(Schedule, purchase.schedule_id)
        if not schedule.starts_at <= now <= schedule.ends_at:
            raise GatewayError(
                ErrorCode.OUTSIDE_SCHEDULE_WINDOW,
                "the code can be redeemed only while its schedule runs",
            )
        purchase.redeemed_at = now
    else:
        if REDEMPTION_SEQUENCE not in recorded:
            raise GatewayError(
                ErrorCode.SEQUENCE_OUT_OF_ORDER,
                f"the redemption (sequence {REDEMPTION_SEQUENCE}) is missing: the code must be"
                f" redeemed before sequence {sequence}",
            )
        previous = REDEMPTION_SEQUENCE if sequence == POST_TEST_SEQUENCE else sequence - 1
        if previous not in recorded:
            raise GatewayError(
                ErrorCode.SEQUENCE_OUT_OF_ORDER,
                f"sequence {previous} must be recorded first (it is missing)",
            )
    attendance = Attendance(
        purchase_id=purchase.id,
        sequence=sequence,
        score=score,
        attended_at=now,
        recorded_by_client_id=actor.client_id,
    )
    session.add(attendance)
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="purchase.redeemed" if sequence == REDEMPTION_SEQUENCE else "attendance.recorded",
        entity_type="purchase",
        entity_id=purchase.id,
        after={"sequence": sequence, "score": score},
    )
    await record_purchase_event(
        session,
        EventType.PURCHASE_REDEEMED
        if sequence == REDEMPTION_SEQUENCE
        else EventType.ATTENDANCE_RECORDED,
        purchase.id,
        sequence=sequence,
        score=score,
        attendedAt=now.isoformat(),
    )
    return AttendanceRecord.of(attendance)
