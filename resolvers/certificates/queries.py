"""Reading certificates: by number, a caller's page, and the records every answer is made of."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.audit import Actor
from core.errors import ErrorCode, GatewayError
from core.models import Certificate, Completion, Course, Participant, Partner, Purchase
from resolvers.certificates.records import CertificateRecord
from resolvers.tenancy import certificates_visible_to

_provider = aliased(Partner, name="provider")
_platform = aliased(Partner, name="platform")

_RECORD_COLUMNS = (
    Certificate.id,
    Certificate.number,
    Certificate.status,
    func.coalesce(Certificate.revoke_reason, Certificate.suspend_reason).label("status_reason"),
    Certificate.issued_at,
    Certificate.revoked_at,
    Certificate.suspended_at,
    Completion.completed_at,
    Completion.score,
    Completion.evidence_url,
    Course.code.label("course_code"),
    Course.title.label("course_title"),
    Course.description.label("course_description"),
    Course.hours.label("course_hours"),
    Course.learning_method,
    _provider.code.label("provider_code"),
    _provider.name.label("provider_name"),
    _platform.code.label("platform_code"),
    Purchase.redeem_code,
    Purchase.invoice_code,
    Certificate.status_list,
    Certificate.status_index,
    Certificate.credential_jwt,
)


def _records(where: ColumnElement[bool]) -> Any:  # a Select of the record's columns
    return (
        select(*_RECORD_COLUMNS)
        .join(Completion, Completion.id == Certificate.completion_id)
        .join(Purchase, Purchase.id == Completion.purchase_id)
        .join(Course, Course.id == Certificate.course_id)
        .join(_provider, _provider.id == Course.provider_id)
        .join(_platform, _platform.id == Purchase.platform_id)
        .where(where)
    )


def record_of(row: Any) -> CertificateRecord:
    values = row._mapping
    return CertificateRecord(**{name: values[name] for name in CertificateRecord.__slots__})


async def records_by_number(
    session: AsyncSession, numbers: Sequence[str]
) -> dict[str, CertificateRecord]:
    if not numbers:
        return {}
    rows = await session.execute(_records(Certificate.number.in_(list(numbers))))
    return {row.number: record_of(row) for row in rows}


async def public_record(session: AsyncSession, number: str) -> CertificateRecord | None:
    """The certificate as anyone holding its number may see it (the public page)."""
    row = (await session.execute(_records(Certificate.number == number))).first()
    return None if row is None else record_of(row)


async def visible_record(session: AsyncSession, actor: Actor, number: str) -> CertificateRecord:
    """The certificate, if the caller may see it (``certificate:read`` tenancy)."""
    condition = (Certificate.number == number) & certificates_visible_to(actor.principal)
    row = (await session.execute(_records(condition))).first()
    if row is None:
        raise GatewayError(
            ErrorCode.CERTIFICATE_NOT_FOUND, f"no certificate {number!r} that you may see"
        )
    return record_of(row)


async def card_number_of(session: AsyncSession, number: str) -> str | None:
    return await session.scalar(
        select(Participant.card_number)
        .join(Certificate, Certificate.participant_id == Participant.id)
        .where(Certificate.number == number)
    )


async def certificates_page(
    session: AsyncSession,
    actor: Actor,
    *,
    after_id: int | None,
    limit: int,
    course_code: str | None,
    issued_from: datetime | None,
    issued_to: datetime | None,
) -> list[CertificateRecord]:
    condition = certificates_visible_to(actor.principal)
    if course_code is not None:
        condition = condition & (Course.code == course_code)
    if issued_from is not None:
        condition = condition & (Certificate.issued_at >= issued_from)
    if issued_to is not None:
        condition = condition & (Certificate.issued_at < issued_to)
    if after_id is not None:
        condition = condition & (Certificate.id > after_id)
    rows = await session.execute(_records(condition).order_by(Certificate.id).limit(limit))
    return [record_of(row) for row in rows]
