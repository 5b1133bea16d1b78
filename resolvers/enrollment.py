"""Purchases (start, authorize by OTP, void) and attendance, with every programme rule.

Concurrency is settled by PostgreSQL, not by reading and then writing:

* a seat is taken by ``UPDATE schedules ... WHERE remaining > 0``, a balance debited by
  ``UPDATE participants ... WHERE training_balance >= amount``: two racing purchases can
  never both get the last seat or spend the same Rupiah;
* a purchase row is locked (``FOR UPDATE``) before it changes status, so an authorization,
  a void and a redemption of the same purchase happen one after the other, and the loser
  sees the winner's result;
* locks are always taken in the same order (purchase, participant, schedule) so these
  transactions cannot deadlock one another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Boolean,
    Row,
    bindparam,
    column,
    exists,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import AUDIT_INSERT, AUDIT_PARAMETERS, Actor, audit_values, record_audit
from core.db.session import execute_core
from core.eligibility import age_admitted, age_on, education_admitted
from core.enums import (
    Education,
    OutboxStatus,
    ParticipantStatus,
    PurchaseStatus,
)
from core.errors import ErrorCode, GatewayError, KeptRefusal
from core.models import (
    Attendance,
    Course,
    CourseListing,
    OutboxMessage,
    Participant,
    Purchase,
    Schedule,
)
from resolvers.enrollment_records import AttendanceRecord, PurchaseRecord
from resolvers.tenancy import public_courses, purchases_visible_to

PAYMENT_TOKEN_TTL = timedelta(minutes=5)
# The participant's one-time password leaves through the notification outbox as this message.
OTP_CHANNEL = "sms"
OTP_TEMPLATE = "purchase_otp"
MAX_OTP_ATTEMPTS = 3
REDEMPTION_SEQUENCE = 1
LAST_SESSION_SEQUENCE = 10
POST_TEST_SEQUENCE = 999
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


@dataclass(frozen=True)
class PurchaseRequest:
    card_number: str
    course_code: str
    schedule_code: str
    platform_user_id: str
    invoice_code: str
    invoice_url: str | None
    amount: int


@dataclass(frozen=True)
class PurchaseStarted:
    purchase: PurchaseRecord
    payment_token: str
    expires_at: datetime


def _hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _hash_otp(token_hash: bytes, otp: str) -> bytes:
    # Keyed by the payment token's hash: an OTP is meaningless without its token.
    return hmac.new(token_hash, otp.encode(), hashlib.sha256).digest()


def _random_code(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def _audited_state(purchase: Purchase | Row[Any] | _PurchaseState) -> dict[str, object]:
    return {"status": purchase.status.value, "otp_attempts": purchase.otp_attempts}


async def start_purchase(
    session: AsyncSession, actor: Actor, request: PurchaseRequest, *, now: datetime
) -> PurchaseStarted:
    """Validates a platform's purchase and sends the participant a one-time password."""
    platform_id = actor.partner_id
    offer = await _offer(session, platform_id, request)
    if offer.ends_at <= now:
        raise GatewayError(ErrorCode.SCHEDULE_ENDED, "the training is over")
    if offer.remaining <= 0:
        raise GatewayError(ErrorCode.QUOTA_EXHAUSTED, "no seats left")
    if request.amount != offer.price:
        raise GatewayError(
            ErrorCode.AMOUNT_MISMATCH,
            f"the amount must be the course's price, {offer.price}",
            price=str(offer.price),
        )
    if offer.participant_id is None:
        raise GatewayError(ErrorCode.PARTICIPANT_NOT_FOUND, "no participant holds this card number")
    _check_eligibility(offer, request.amount, now=now)

    token = secrets.token_urlsafe(32)
    otp = f"{secrets.randbelow(1_000_000):06d}"
    token_hash = _hash_token(token)
    expires_at = now + PAYMENT_TOKEN_TTL
    try:
        row = (
            await execute_core(
                session,
                _INSERT_PURCHASE,
                {
                    "platform_id": platform_id,
                    "participant_id": offer.participant_id,
                    "course_id": offer.course_id,
                    "schedule_id": offer.schedule_id,
                    "platform_user_id": request.platform_user_id,
                    "invoice_code": request.invoice_code,
                    "invoice_url": request.invoice_url,
                    "amount": request.amount,
                    "payment_token_hash": token_hash,
                    "otp_hash": _hash_otp(token_hash, otp),
                    "token_expires_at": expires_at,
                    "created_at": now,
                    # The OTP message; the statement adds the purchase's id as purchaseId.
                    "payload": {
                        "otp": otp,
                        "courseTitle": offer.course_title,
                        "amount": str(request.amount),
                        "expiresAt": expires_at.isoformat(),
                    },
                    **audit_values(
                        actor=actor,
                        action="purchase.started",
                        entity_type="purchase",
                        after=_audited_state(_STARTED),
                        detail={
                            "invoiceCode": request.invoice_code,
                            "courseCode": offer.course_code,
                        },
                    ),
                },
            )
        ).one()
    except IntegrityError as exc:
        # Two requests racing with one invoice code: the unique index lets one through.
        if "uq_purchases_platform_invoice" in str(exc.orig):
            raise GatewayError(
                ErrorCode.INVOICE_CODE_USED, "this invoice code was already used"
            ) from None
        raise
    if row.bound_participant_id != offer.participant_id:
        raise GatewayError(
            ErrorCode.PLATFORM_ACCOUNT_MISMATCH,
            "this platform account belongs to another card",
        )
    return PurchaseStarted(
        purchase=PurchaseRecord.of(row), payment_token=token, expires_at=expires_at
    )


@dataclass(frozen=True)
class _PurchaseState:
    """The part of a purchase its audit records show (status and OTP tries), known before
    the statement that writes it (and audits it) runs."""

    status: PurchaseStatus
    otp_attempts: int


_STARTED = _PurchaseState(PurchaseStatus.PENDING_OTP, 0)

_PURCHASE_COLUMNS = tuple(Purchase.__table__.c)


def _status_parameter(name: str, status: PurchaseStatus) -> BindParameter[PurchaseStatus]:
    """A purchase status in a text statement: the enum's value, bound, never a literal."""
    return bindparam(name, status, type_=Purchase.__table__.c.status.type)


# In one statement: the platform account bound to the card, then (only if it is this card's)
# the purchase, its OTP message in the outbox and its audit record: no purchase without its
# message, no message for a purchase that rolled back.
#
# One platform account belongs to one card, for good. Insert-or-read in one statement: two
# first purchases racing for one account cannot both bind it; the loser reads the winner's
# card (the no-op update returns the existing row) and inserts nothing, so a taken account
# is refused before a reused invoice code is.
_INSERT_PURCHASE = (
    text(
        """
        WITH bound AS (
            INSERT INTO platform_accounts (platform_id, platform_user_id, participant_id)
            VALUES (:platform_id, :platform_user_id, :participant_id)
            ON CONFLICT (platform_id, platform_user_id)
            DO UPDATE SET participant_id = platform_accounts.participant_id
            RETURNING participant_id
        ), changed AS (
            INSERT INTO purchases (platform_id, participant_id, course_id, schedule_id,
                                   platform_user_id, invoice_code, invoice_url, amount, status,
                                   payment_token_hash, otp_hash, otp_attempts,
                                   token_expires_at, created_at)
            SELECT :platform_id, :participant_id, :course_id, :schedule_id,
                   :platform_user_id, :invoice_code, :invoice_url, :amount, :pending_otp,
                   :payment_token_hash, :otp_hash, 0, :token_expires_at, :created_at
             WHERE (SELECT participant_id FROM bound) = :participant_id
            RETURNING *
        ), outbox AS (
            INSERT INTO notification_outbox (channel, participant_id, template, payload,
                                             status, attempts)
            SELECT :otp_channel, changed.participant_id, :otp_template,
                   CAST(:payload AS jsonb) || jsonb_build_object('purchaseId', changed.id),
                   :outbox_pending, 0
              FROM changed
        ), audit AS (
        """  # noqa: S608 - only AUDIT_INSERT, a constant, is joined in
        + AUDIT_INSERT
        + """
        )
        SELECT bound.participant_id AS bound_participant_id, changed.*
          FROM bound LEFT JOIN changed ON true
        """
    )
    .bindparams(
        _status_parameter("pending_otp", PurchaseStatus.PENDING_OTP),
        bindparam("otp_channel", OTP_CHANNEL),
        bindparam("otp_template", OTP_TEMPLATE),
        bindparam(
            "outbox_pending", OutboxStatus.PENDING, type_=OutboxMessage.__table__.c.status.type
        ),
        bindparam("payload", type_=OutboxMessage.__table__.c.payload.type),
        bindparam("token_expires_at", type_=Purchase.__table__.c.token_expires_at.type),
        bindparam("created_at", type_=Purchase.__table__.c.created_at.type),
        *AUDIT_PARAMETERS,
    )
    .columns(column("bound_participant_id", BigInteger), *_PURCHASE_COLUMNS)
)


async def _offer(session: AsyncSession, platform_id: int, request: PurchaseRequest) -> Row[Any]:
    """The course (approved, of an active provider, sold on this platform), the schedule
    and the card's holder, in one statement; which of them is missing decides the refusal.
    """
    row = (
        await execute_core(
            session,
            _OFFER,
            {
                "platform_id": platform_id,
                "course_code": request.course_code,
                "schedule_code": request.schedule_code,
                "card_number": request.card_number,
            },
        )
    ).first()
    if row is None:
        raise GatewayError(
            ErrorCode.COURSE_NOT_FOUND,
            f"course {request.course_code!r} is not sold on this platform",
        )
    if row.schedule_id is None:
        raise GatewayError(
            ErrorCode.SCHEDULE_NOT_FOUND, f"schedule {request.schedule_code!r} not found"
        )
    if row.schedule_course_id != row.course_id:
        raise GatewayError(
            ErrorCode.SCHEDULE_NOT_IN_COURSE,
            "the schedule belongs to another course",
        )
    return row


def _has_bought(participant_id: Any) -> Any:
    """Whether the participant has a successful purchase (the first-purchase deadline's key)."""
    return (
        exists()
        .where(
            Purchase.participant_id == participant_id,
            Purchase.status == PurchaseStatus.SUCCESS,
        )
        .label("has_bought")
    )


_OFFER = (
    select(
        Course.id.label("course_id"),
        Course.code.label("course_code"),
        Course.title.label("course_title"),
        Course.price,
        Course.min_age,
        Course.max_age,
        Course.min_education,
        Schedule.id.label("schedule_id"),
        Schedule.course_id.label("schedule_course_id"),
        Schedule.ends_at,
        Schedule.remaining,
        Participant.id.label("participant_id"),
        Participant.status.label("participant_status"),
        Participant.first_purchase_deadline,
        Participant.training_balance,
        Participant.birth_date,
        Participant.education,
        _has_bought(Participant.id),
    )
    .select_from(Course)
    .outerjoin(Schedule, Schedule.code == bindparam("schedule_code"))
    .outerjoin(Participant, Participant.card_number == bindparam("card_number"))
    .where(
        Course.code == bindparam("course_code"),
        # On sale: the public catalog's rule, and listed on this platform.
        public_courses(),
        exists().where(
            CourseListing.course_id == Course.id,
            CourseListing.platform_id == bindparam("platform_id"),
        ),
    )
)


def _check_eligibility(offer: Row[Any], amount: int, *, now: datetime) -> None:
    """The card holder's rules, on ``_OFFER``'s row (the participant's and the course's)."""
    if offer.participant_status is not ParticipantStatus.RECIPIENT:
        raise GatewayError(ErrorCode.NOT_ELIGIBLE, "the card holder is not an active recipient")
    deadline = offer.first_purchase_deadline
    if not offer.has_bought and deadline is not None and now > deadline:
        raise GatewayError(
            ErrorCode.PURCHASE_DEADLINE_PASSED,
            "the deadline for the first purchase has passed",
        )
    if offer.training_balance < amount:
        raise GatewayError(ErrorCode.BALANCE_INSUFFICIENT, "the training balance is not enough")
    age = age_on(offer.birth_date, now.date())
    if not age_admitted(age, offer.min_age, offer.max_age):
        raise GatewayError(
            ErrorCode.NOT_ELIGIBLE, "the participant's age is outside the course's rule"
        )
    min_education = None if offer.min_education is None else Education(offer.min_education)
    if not education_admitted(Education(offer.education), min_education):
        raise GatewayError(ErrorCode.NOT_ELIGIBLE, "the course needs a higher education level")


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
    token_hash = _hash_token(payment_token)
    otp_hash = _hash_otp(token_hash, otp)
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
            session, actor, purchase, _PurchaseState(PurchaseStatus.EXPIRED, purchase.otp_attempts)
        )
        raise KeptRefusal(ErrorCode.OTP_EXPIRED, "the one-time password expired")
    if not hmac.compare_digest(purchase.otp_hash, otp_hash):
        attempts = purchase.otp_attempts + 1
        tries_left = MAX_OTP_ATTEMPTS - attempts
        status = PurchaseStatus.FAILED if tries_left == 0 else PurchaseStatus.PENDING_OTP
        await _refuse_otp(session, actor, purchase, _PurchaseState(status, attempts))
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
    session: AsyncSession, actor: Actor, purchase: Row[Any], after: _PurchaseState
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
                before=_audited_state(purchase),
                after=_audited_state(after),
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
    transaction_code = _random_code("TRX", 16)
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
                "redeem_code": _random_code("", 12),
                **audit_values(
                    actor=actor,
                    action="purchase.authorized",
                    entity_type="purchase",
                    before=_audited_state(_PurchaseState(PurchaseStatus.PENDING_OTP, attempts)),
                    after=_audited_state(_PurchaseState(PurchaseStatus.SUCCESS, attempts)),
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
        ), audit AS (
        """  # noqa: S608 - only AUDIT_INSERT, a constant, is joined in
        + AUDIT_INSERT
        + """
        )
        SELECT EXISTS (SELECT 1 FROM target) AS found, EXISTS (SELECT 1 FROM debit) AS debited,
               EXISTS (SELECT 1 FROM seat) AS seated, changed.*
          FROM (SELECT 1) AS one LEFT JOIN changed ON true
        """
    )
    .bindparams(
        _status_parameter("pending_otp", PurchaseStatus.PENDING_OTP),
        _status_parameter("success", PurchaseStatus.SUCCESS),
        bindparam("now", type_=Purchase.__table__.c.authorized_at.type),
        *AUDIT_PARAMETERS,
    )
    .columns(
        column("found", Boolean),
        column("debited", Boolean),
        column("seated", Boolean),
        *_PURCHASE_COLUMNS,
    )
)


async def _audit_change(
    session: AsyncSession,
    actor: Actor,
    purchase: Purchase,
    before: dict[str, object],
    action: str,
    detail: dict[str, object] | None = None,
) -> None:
    """Flushes the purchase's new state and records the change from ``before`` to it."""
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action=action,
        entity_type="purchase",
        entity_id=purchase.id,
        before=before,
        after=_audited_state(purchase),
        detail=detail,
    )


async def purchase_by_invoice(
    session: AsyncSession, actor: Actor, invoice_code: str
) -> PurchaseRecord:
    purchase = await session.scalar(
        select(Purchase).where(
            Purchase.invoice_code == invoice_code, purchases_visible_to(actor.principal)
        )
    )
    if purchase is None:
        raise GatewayError(
            ErrorCode.TRANSACTION_NOT_FOUND, f"no purchase with invoice {invoice_code!r}"
        )
    return PurchaseRecord.of(purchase)


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
    before = _audited_state(purchase)
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
    await _audit_change(session, actor, purchase, before, "purchase.voided")
    return PurchaseRecord.of(purchase)


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
    if (sequence == POST_TEST_SEQUENCE) != (score is not None):
        raise GatewayError(ErrorCode.INVALID_SCORE, "a score goes with the post-test (999) only")
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
        previous = REDEMPTION_SEQUENCE if sequence == POST_TEST_SEQUENCE else sequence - 1
        if previous not in recorded:
            raise GatewayError(
                ErrorCode.SEQUENCE_OUT_OF_ORDER,
                f"sequence {previous} must be recorded first",
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
    return AttendanceRecord.of(attendance)


async def enrollments_page(
    session: AsyncSession,
    actor: Actor,
    *,
    after_id: int | None,
    limit: int,
    course_code: str | None,
) -> list[PurchaseRecord]:
    """Authorized purchases the caller may see (its sales, or its courses' students)."""
    query = select(Purchase).where(
        Purchase.status.in_((PurchaseStatus.SUCCESS, PurchaseStatus.VOIDED)),
        purchases_visible_to(actor.principal),
    )
    if course_code is not None:
        query = query.join(Course, Course.id == Purchase.course_id).where(
            Course.code == course_code
        )
    if after_id is not None:
        query = query.where(Purchase.id > after_id)
    rows = await session.scalars(query.order_by(Purchase.id).limit(limit))
    return [PurchaseRecord.of(row) for row in rows]


async def purchase_by_id(session: AsyncSession, purchase_id: int) -> PurchaseRecord:
    return PurchaseRecord.of(await session.get_one(Purchase, purchase_id))
