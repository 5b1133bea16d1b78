"""The office's view: its registrants, one registrant's journey (tenancy decides which)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.actor import acting_as_system
from core.enums import (
    DisabilityCategory,
    DisbursementItemStatus,
    ParticipantStatus,
    PurchaseStatus,
    RegistrationChannel,
)
from core.models import (
    Completion,
    DisbursementItem,
    IncentiveInstallment,
    Participant,
    Purchase,
    Regency,
    Wave,
)
from core.principal import Principal
from resolvers.registration.records import JourneyRecord, RegistrantRecord
from resolvers.tenancy import participants_visible_to


@dataclass(frozen=True)
class RegistrantFilter:
    channel: RegistrationChannel | None = None
    disability: DisabilityCategory | None = None
    # Any disability at all (True), none (False), or either (None).
    has_disability: bool | None = None
    status: ParticipantStatus | None = None
    registered_from: datetime | None = None
    registered_before: datetime | None = None


def _registrants() -> Any:
    statement = select(
        Participant.id,
        Participant.nik_masked,
        Participant.full_name,
        Participant.birth_date,
        Participant.sex,
        Participant.education,
        Participant.employment_status,
        Participant.disabilities,
        Participant.accommodation,
        Regency.code.label("regency_code"),
        Regency.name.label("regency_name"),
        Participant.registration_channel.label("channel"),
        Participant.status,
        Participant.card_number,
        Participant.phone_masked,
        Participant.created_at.label("registered_at"),
    ).join(Regency, Regency.id == Participant.regency_id)
    return statement


def _record(row: Any) -> RegistrantRecord:
    values = row._asdict()
    values["disabilities"] = tuple(DisabilityCategory(value) for value in row.disabilities)
    return RegistrantRecord(**values)


async def registrant_by_id(
    session: AsyncSession, principal: Principal | None, participant_id: int
) -> RegistrantRecord | None:
    row = (
        await session.execute(
            _registrants().where(
                Participant.id == participant_id, participants_visible_to(principal)
            )
        )
    ).first()
    return None if row is None else _record(row)


def _filters(filters: RegistrantFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.channel is not None:
        clauses.append(Participant.registration_channel == filters.channel)
    if filters.disability is not None:
        clauses.append(Participant.disabilities.contains([filters.disability.value]))
    if filters.has_disability is not None:
        clauses.append((func.cardinality(Participant.disabilities) > 0) == filters.has_disability)
    if filters.status is not None:
        clauses.append(Participant.status == filters.status)
    if filters.registered_from is not None:
        clauses.append(Participant.created_at >= filters.registered_from)
    if filters.registered_before is not None:
        clauses.append(Participant.created_at < filters.registered_before)
    return clauses


async def registrants_page(
    session: AsyncSession,
    principal: Principal | None,
    filters: RegistrantFilter,
    *,
    after_id: int | None,
    limit: int,
) -> list[RegistrantRecord]:
    """Newest first is not needed by offices; id order keeps the keyset cursor trivial."""
    statement = (
        _registrants()
        .where(participants_visible_to(principal), *_filters(filters))
        .order_by(Participant.id)
        .limit(limit)
    )
    if after_id is not None:
        statement = statement.where(Participant.id > after_id)
    rows = (await session.execute(statement)).all()
    return [_record(row) for row in rows]


async def journey_of(session: AsyncSession, participant_id: int) -> JourneyRecord:
    """Counts and dates only: which platform sold, which course, which bank paid stay out."""
    purchases = (
        select(
            func.count().label("purchases"),
            func.min(Purchase.authorized_at).label("first_purchased_at"),
        )
        .where(
            Purchase.participant_id == participant_id,
            Purchase.status.in_((PurchaseStatus.SUCCESS, PurchaseStatus.VOIDED)),
        )
        .subquery()
    )
    completions = (
        select(
            func.count().label("completions"),
            func.min(Completion.completed_at).label("first_completed_at"),
        )
        .where(Completion.participant_id == participant_id)
        .subquery()
    )
    paid = (
        select(
            func.count().label("incentives_paid"),
            func.coalesce(func.sum(DisbursementItem.amount), 0).label("incentives_paid_amount"),
            func.max(DisbursementItem.reported_at).label("last_paid_at"),
        )
        .join(IncentiveInstallment, IncentiveInstallment.id == DisbursementItem.installment_id)
        .where(
            IncentiveInstallment.participant_id == participant_id,
            DisbursementItem.status == DisbursementItemStatus.PAID,
        )
        .subquery()
    )
    # The journey crosses partners (any platform's sales, any provider's completions, any
    # payment partner's payouts) that row security hides from the office asking; the caller
    # already sees the registrant, and only counts and dates leave this block.
    async with acting_as_system(session):
        row = await _journey_row(session, participant_id, purchases, completions, paid)
    values = row._asdict()
    values["incentives_paid_amount"] = int(values["incentives_paid_amount"])
    return JourneyRecord(**values)


async def _journey_row(
    session: AsyncSession, participant_id: int, purchases: Any, completions: Any, paid: Any
) -> Any:
    return (
        await session.execute(
            select(
                Participant.created_at.label("registered_at"),
                Wave.number.label("wave_number"),
                # Waves of the seed's history were selected as they opened.
                func.coalesce(Wave.selected_at, Wave.opens_at).label("selected_at"),
                *purchases.c,
                *completions.c,
                *paid.c,
            )
            .select_from(Participant)
            .outerjoin(Wave, Wave.id == Participant.wave_id)
            .join(purchases, true())
            .join(completions, true())
            .join(paid, true())
            .where(Participant.id == participant_id)
        )
    ).one()
