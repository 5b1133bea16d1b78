"""Starting a purchase: the offer checked against every programme rule, the OTP sent."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Row,
    bindparam,
    column,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import AUDIT_INSERT, AUDIT_PARAMETERS, Actor, audit_values
from core.db.session import execute_core
from core.eligibility import age_admitted, age_on, education_admitted
from core.enums import (
    Education,
    OutboxStatus,
    ParticipantStatus,
    PurchaseStatus,
)
from core.errors import ErrorCode, GatewayError
from core.models import (
    Course,
    CourseListing,
    OutboxMessage,
    Participant,
    Purchase,
    Schedule,
)
from core.models.programme import card_holder
from resolvers.enrollment.records import PurchaseRecord
from resolvers.enrollment.state import (
    PURCHASE_COLUMNS,
    STARTED,
    audited_state,
    hash_otp,
    hash_token,
    status_parameter,
)
from resolvers.tenancy import public_courses

PAYMENT_TOKEN_TTL = timedelta(minutes=5)


# The participant's one-time password leaves through the notification outbox as this message.
OTP_CHANNEL = "sms"


OTP_TEMPLATE = "purchase_otp"


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
    token_hash = hash_token(token)
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
                    "otp_hash": hash_otp(token_hash, otp),
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
                        after=audited_state(STARTED),
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
        status_parameter("pending_otp", PurchaseStatus.PENDING_OTP),
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
    .columns(column("bound_participant_id", BigInteger), *PURCHASE_COLUMNS)
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
    """Whether the participant has a successful purchase on any platform (the first-purchase
    deadline's key): a SECURITY DEFINER function of migration 0017, since row-level security
    shows a platform its own sales only and this fact spans every platform."""
    return func.prakerja_has_bought(participant_id, type_=Boolean).label("has_bought")


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
    .outerjoin(Participant, card_holder(bindparam("card_number")))
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
