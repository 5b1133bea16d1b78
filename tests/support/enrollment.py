"""A live sale for the enrollment tests: a running schedule, recipients who can pay, OTPs.

The seeded programme lies in 2020, so each test opens what it needs in the present: a
schedule of an approved course sold on the platform, running now, and recipients whose
deadline and balance allow a purchase.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from core.db.database import Database
from core.enums import CourseStatus, ParticipantStatus, PartnerStatus
from core.models import Course, CourseListing, Participant, Partner, Schedule, Wave
from tests.support.gateway import Tokens

PLATFORM = "DP-001"
BALANCE = 3_500_000

START = """
mutation Start($input: StartPurchaseInput!) {
  startPurchase(input: $input) {
    paymentToken expiresAt
    purchase { invoiceCode status amount transactionCode redeemCode }
  }
}
"""
AUTHORIZE = """
mutation Authorize($input: AuthorizePurchaseInput!) {
  authorizePurchase(input: $input) {
    invoiceCode status amount transactionCode redeemCode authorizedAt
    course { code } schedule { code seatsLeft }
  }
}
"""
VOID = """
mutation Void($input: VoidPurchaseInput!) {
  voidPurchase(input: $input) { invoiceCode status voidedAt }
}
"""
ATTEND = """
mutation Attend($input: RecordAttendanceInput!) {
  recordAttendance(input: $input) {
    attendance { sequence score }
    purchase { invoiceCode redeemedAt attendances { sequence score } }
  }
}
"""
PURCHASE = """
query Purchase($invoice: String!) {
  purchase(invoiceCode: $invoice) { invoiceCode status amount transactionCode redeemCode }
}
"""
ENROLLMENTS = """
query Enrollments($first: Int, $after: String, $course: String) {
  enrollments(first: $first, after: $after, courseCode: $course) {
    edges { node { invoiceCode status course { code } attendances { sequence } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@dataclass(frozen=True)
class Sale:
    course_code: str
    price: int
    provider_code: str
    schedule_code: str
    schedule_id: int
    cards: list[str]


async def open_sale(
    database: Database,
    *,
    recipients: int = 1,
    quota: int = 50,
    balance: int = BALANCE,
    platform: str = PLATFORM,
) -> Sale:
    """A running schedule of a course the platform sells, and recipients able to buy it."""
    now = datetime.now(UTC)
    async with database.sessionmaker() as session:
        platform_id = await session.scalar(select(Partner.id).where(Partner.code == platform))
        row = (
            await session.execute(
                select(Course, Partner.code)
                .join(Partner, Partner.id == Course.provider_id)
                .join(CourseListing, CourseListing.course_id == Course.id)
                .where(
                    CourseListing.platform_id == platform_id,
                    Course.status == CourseStatus.APPROVED,
                    Partner.status == PartnerStatus.ACTIVE,
                    Course.min_age.is_(None),
                    Course.max_age.is_(None),
                    Course.min_education.is_(None),
                    Course.price <= balance,
                )
                .order_by(Course.id)
                .limit(1)
            )
        ).one()
        course, provider_code = row
        schedule = Schedule(
            code=f"SCH-T-{uuid.uuid4().hex[:10]}",
            course_id=course.id,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=30),
            quota=quota,
            remaining=quota,
        )
        session.add(schedule)
        wave_id = await session.scalar(select(Wave.id).order_by(Wave.number.desc()).limit(1))
        participants = (
            await session.scalars(
                select(Participant)
                .where(Participant.status == ParticipantStatus.REGISTERED)
                .order_by(Participant.id)
                .limit(recipients)
                .with_for_update(skip_locked=True)
            )
        ).all()
        assert len(participants) == recipients
        for participant in participants:
            participant.status = ParticipantStatus.RECIPIENT
            participant.wave_id = wave_id
            participant.training_balance = balance
            participant.first_purchase_deadline = now + timedelta(days=15)
        await session.flush()
        sale = Sale(
            course_code=course.code,
            price=course.price,
            provider_code=provider_code,
            schedule_code=schedule.code,
            schedule_id=schedule.id,
            cards=[participant.card_number for participant in participants],
        )
        await session.commit()
    return sale


def start_input(sale: Sale, card: str | None = None, **changes: Any) -> dict[str, Any]:
    card = card or sale.cards[0]
    values: dict[str, Any] = {
        "cardNumber": card,
        "courseCode": sale.course_code,
        "scheduleCode": sale.schedule_code,
        "platformUserId": f"user-{card}",
        "invoiceCode": f"INV-{uuid.uuid4().hex[:12]}",
        "amount": str(sale.price),
    }
    values.update(changes)
    return values


async def otp_of(database: Database, invoice_code: str) -> str:
    """The OTP the outbox holds for the purchase (what the participant's phone receives)."""
    async with database.sessionmaker() as session:
        otp = await session.scalar(
            text(
                "SELECT o.payload->>'otp' FROM notification_outbox o"
                " JOIN purchases p ON p.id = (o.payload->>'purchaseId')::bigint"
                " WHERE p.invoice_code = :invoice ORDER BY o.id DESC LIMIT 1"
            ),
            {"invoice": invoice_code},
        )
    assert otp is not None
    return str(otp)


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


async def start(tokens: Tokens, sale: Sale, **changes: Any) -> dict[str, Any]:
    return await tokens.graphql(PLATFORM, START, {"input": start_input(sale, **changes)})


async def buy(
    tokens: Tokens, database: Database, sale: Sale, card: str | None = None
) -> dict[str, Any]:
    """Start and authorize a purchase; returns the authorized purchase."""
    started = await tokens.graphql(PLATFORM, START, {"input": start_input(sale, card)})
    assert "errors" not in started, started
    payload = started["data"]["startPurchase"]
    otp = await otp_of(database, payload["purchase"]["invoiceCode"])
    authorized = await tokens.graphql(
        PLATFORM, AUTHORIZE, {"input": {"paymentToken": payload["paymentToken"], "otp": otp}}
    )
    assert "errors" not in authorized, authorized
    purchase: dict[str, Any] = authorized["data"]["authorizePurchase"]
    return purchase


async def scalar(database: Database, sql: str, **params: Any) -> Any:
    async with database.sessionmaker() as session:
        return await session.scalar(text(sql), params)
