"""Authorizing a purchase with the participant's OTP: the debit, the seat and the codes."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Row,
    bindparam,
    column,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import AUDIT_INSERT, AUDIT_PARAMETERS, Actor, audit_values
from core.db.session import execute_core
from core.enums import (
    EventType,
    PurchaseStatus,
)
from core.errors import ErrorCode, GatewayError, KeptRefusal
from core.models import (
    Purchase,
)
from resolvers.enrollment.records import PurchaseRecord
from resolvers.enrollment.state import (
    PURCHASE_COLUMNS,
    PurchaseState,
    audited_state,
    hash_otp,
    hash_token,
    random_code,
    status_parameter,
)
from resolvers.events import (
    PURCHASE_EVENT_INSERT,
    PURCHASE_EVENT_PARAMETERS,
    purchase_event_values,
)

MAX_OTP_ATTEMPTS = 3


async def authorize_purchase(
    session: AsyncSession,
    actor: Actor,
    payment_token: str,
    otp: str,
    *,
    now: datetime,
) -> PurchaseRecord:
    """Checks the OTP; on success debits the balance and takes a seat, in this transaction.

    A wrong or expired OTP is refused with ``KeptRefusal``: the counted try (and the purchase
    failing or expiring with it) is kept although the mutation is refused.
    """
    token_hash = hash_token(payment_token)
    otp_hash = hash_otp(token_hash, otp)
    # The usual case, the right OTP at the first try, in one statement; any other case (and
    # a refusal of this one) is settled below, the purchase read and locked first.
    authorized = await _authorize(session, actor, token_hash, otp_hash, attempts=0, now=now)
    if authorized is not None:
        return PurchaseRecord.of(authorized)
    purchase = (
        await execute_core(
            session,
            _PURCHASE_FOR_AUTHORIZATION,
            {"payment_token_hash": token_hash, "platform_id": actor.partner_id},
        )
    ).first()
    if purchase is None or purchase.status is not PurchaseStatus.PENDING_OTP:
        raise GatewayError(ErrorCode.PAYMENT_TOKEN_INVALID, "the payment token is not valid")
    assert purchase.token_expires_at is not None and purchase.otp_hash is not None
    if now >= purchase.token_expires_at:
        await _refuse_otp(
            session, actor, purchase, PurchaseState(PurchaseStatus.EXPIRED, purchase.otp_attempts)
        )
        raise KeptRefusal(ErrorCode.OTP_EXPIRED, "the one-time password expired")
    if not hmac.compare_digest(purchase.otp_hash, otp_hash):
        attempts = purchase.otp_attempts + 1
        tries_left = MAX_OTP_ATTEMPTS - attempts
        status = PurchaseStatus.FAILED if tries_left == 0 else PurchaseStatus.PENDING_OTP
        await _refuse_otp(session, actor, purchase, PurchaseState(status, attempts))
        raise KeptRefusal(
            ErrorCode.OTP_INVALID,
            "the one-time password is wrong",
            triesLeft=tries_left,
        )
    # Checked under the lock: the statement finds the purchase as just read.
    authorized = await _authorize(
        session, actor, token_hash, otp_hash, attempts=purchase.otp_attempts, now=now
    )
    assert authorized is not None
    return PurchaseRecord.of(authorized)


_PURCHASE_FOR_AUTHORIZATION = (
    select(Purchase.__table__)
    .where(
        Purchase.payment_token_hash == bindparam("payment_token_hash"),
        Purchase.platform_id == bindparam("platform_id"),
    )
    .with_for_update()
)


async def _refuse_otp(
    session: AsyncSession, actor: Actor, purchase: Row[Any], after: PurchaseState
) -> None:
    """Counts a wrong OTP or expires the token, with its audit record.

    A purchase leaving PENDING_OTP spends its token: it can never authorize again.
    """
    action = (
        "purchase.otp_expired" if after.status is PurchaseStatus.EXPIRED else "purchase.otp_failed"
    )
    await execute_core(
        session,
        _REFUSE_OTP,
        {
            "id": purchase.id,
            "status": after.status,
            "otp_attempts": after.otp_attempts,
            "spent": after.status is not PurchaseStatus.PENDING_OTP,
            **audit_values(
                actor=actor,
                action=action,
                entity_type="purchase",
                before=audited_state(purchase),
                after=audited_state(after),
            ),
        },
    )


_REFUSE_OTP = text(
    """
    WITH changed AS (
        UPDATE purchases
           SET status = :status, otp_attempts = :otp_attempts,
               payment_token_hash = CASE WHEN :spent THEN NULL ELSE payment_token_hash END
         WHERE id = :id
        RETURNING id
    ), audit AS (
    """  # noqa: S608 - only AUDIT_INSERT, a constant, is joined in
    + AUDIT_INSERT
    + """
    )
    SELECT id FROM changed
    """
).bindparams(
    bindparam("status", type_=Purchase.__table__.c.status.type),
    *AUDIT_PARAMETERS,
)


async def _authorize(
    session: AsyncSession,
    actor: Actor,
    token_hash: bytes,
    otp_hash: bytes,
    *,
    attempts: int,
    now: datetime,
) -> Row[Any] | None:
    """Authorizes the pending, unexpired purchase of this token, OTP and count of wrong tries,
    or returns None when there is none such.

    In one statement: the purchase marked SUCCESS with its codes, audited, the balance
    debited and a seat taken, each guarded by its own limit. A refusal raises; the mutation's
    savepoint then rolls back everything it wrote, debit included.
    """
    transaction_code = random_code("TRX", 16)
    row = (
        await execute_core(
            session,
            _AUTHORIZE,
            {
                "payment_token_hash": token_hash,
                "platform_id": actor.partner_id,
                "otp_hash": otp_hash,
                "otp_attempts": attempts,
                "now": now,
                "transaction_code": transaction_code,
                "redeem_code": random_code("", 12),
                **purchase_event_values(EventType.PURCHASE_SUCCEEDED),
                **audit_values(
                    actor=actor,
                    action="purchase.authorized",
                    entity_type="purchase",
                    before=audited_state(PurchaseState(PurchaseStatus.PENDING_OTP, attempts)),
                    after=audited_state(PurchaseState(PurchaseStatus.SUCCESS, attempts)),
                    detail={"transactionCode": transaction_code},
                ),
            },
        )
    ).one()
    if not row.found:
        return None
    if not row.debited:
        raise GatewayError(ErrorCode.BALANCE_INSUFFICIENT, "the training balance is not enough")
    if not row.seated:
        raise GatewayError(ErrorCode.QUOTA_EXHAUSTED, "no seats left")
    return row


# Locks in the order every purchase change takes them: the purchase (FOR UPDATE), then the
# participant's row, then the schedule's (the seat's guard reads the debit), the hot schedule
# row last so it stays locked only until the commit. The OTP is compared as its keyed hash:
# its timing tells nothing about the OTP. The token is spent: it can never authorize again.
_AUTHORIZE = (
    text(
        """
        WITH target AS (
            SELECT id, participant_id, schedule_id, amount FROM purchases
             WHERE payment_token_hash = :payment_token_hash AND platform_id = :platform_id
               AND status = :pending_otp AND otp_hash = :otp_hash
               AND otp_attempts = :otp_attempts AND token_expires_at > :now
               FOR UPDATE
        ), debit AS (
            UPDATE participants SET training_balance = training_balance - target.amount
              FROM target
             WHERE participants.id = target.participant_id
               AND participants.training_balance >= target.amount
            RETURNING participants.id
        ), seat AS (
            UPDATE schedules SET remaining = remaining - 1
              FROM target
             WHERE schedules.id = target.schedule_id AND schedules.remaining > 0
               AND EXISTS (SELECT 1 FROM debit)
            RETURNING schedules.id
        ), changed AS (
            UPDATE purchases
               SET status = :success, transaction_code = :transaction_code,
                   redeem_code = :redeem_code, authorized_at = :now,
                   payment_token_hash = NULL, otp_hash = NULL
              FROM target
             WHERE purchases.id = target.id AND EXISTS (SELECT 1 FROM seat)
            RETURNING purchases.*
        ), event AS (
        """  # noqa: S608 - only AUDIT_INSERT and PURCHASE_EVENT_INSERT, constants, are joined in
        + PURCHASE_EVENT_INSERT
        + """
        ), audit AS (
        """
        + AUDIT_INSERT
        + """
        )
        SELECT EXISTS (SELECT 1 FROM target) AS found, EXISTS (SELECT 1 FROM debit) AS debited,
               EXISTS (SELECT 1 FROM seat) AS seated, changed.*
          FROM (SELECT 1) AS one LEFT JOIN changed ON true
        """
    )
    .bindparams(
        status_parameter("pending_otp", PurchaseStatus.PENDING_OTP),
        status_parameter("success", PurchaseStatus.SUCCESS),
        bindparam("now", type_=Purchase.__table__.c.authorized_at.type),
        *AUDIT_PARAMETERS,
        *PURCHASE_EVENT_PARAMETERS,
    )
    .columns(
        column("found", Boolean),
        column("debited", Boolean),
        column("seated", Boolean),
        *PURCHASE_COLUMNS,
    )
)
