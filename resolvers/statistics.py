"""Programme statistics, all computed from the database in one round trip."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ScalarSelect, Select, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import DisbursementItemStatus, ParticipantStatus, PartnerStatus, PartnerType
from core.models import (
    Completion,
    Course,
    DisbursementItem,
    IncentiveInstallment,
    Participant,
    Partner,
)
from resolvers.tenancy import public_courses


@dataclass(frozen=True)
class ProgramFigures:
    registrants: int
    recipients: int
    completions: int
    incentives_paid: int
    incentives_paid_amount: int
    platforms: int
    payment_partners: int
    providers: int
    courses: int


def _active_partners(partner_type: PartnerType) -> ScalarSelect[int]:
    return (
        select(func.count())
        .select_from(Partner)
        .where(Partner.type == partner_type, Partner.status == PartnerStatus.ACTIVE)
        .scalar_subquery()
    )


# Completions and incentives count people, as the programme reports them: a participant who
# finished two trainings, or was paid four installments, is counted once. What was paid
# counts from the payment partners' results (items PAID), and so does its sum. Courses are those
# on sale: the public catalog's rule (approved, of an active provider), from tenancy.
_FIGURES: Select[tuple[int, ...]] = select(
    select(func.count()).select_from(Participant).scalar_subquery().label("registrants"),
    select(func.count())
    .select_from(Participant)
    .where(Participant.status == ParticipantStatus.RECIPIENT)
    .scalar_subquery()
    .label("recipients"),
    select(func.count(distinct(Completion.participant_id))).scalar_subquery().label("completions"),
    select(func.count(distinct(IncentiveInstallment.participant_id)))
    .join_from(
        DisbursementItem,
        IncentiveInstallment,
        IncentiveInstallment.id == DisbursementItem.installment_id,
    )
    .where(DisbursementItem.status == DisbursementItemStatus.PAID)
    .scalar_subquery()
    .label("incentives_paid"),
    select(func.coalesce(func.sum(DisbursementItem.amount), 0))
    .where(DisbursementItem.status == DisbursementItemStatus.PAID)
    .scalar_subquery()
    .label("incentives_paid_amount"),
    _active_partners(PartnerType.PLATFORM).label("platforms"),
    _active_partners(PartnerType.PAYMENT_PARTNER).label("payment_partners"),
    _active_partners(PartnerType.TRAINING_PROVIDER).label("providers"),
    select(func.count())
    .select_from(Course)
    .where(public_courses())
    .scalar_subquery()
    .label("courses"),
)


async def program_figures(session: AsyncSession) -> ProgramFigures:
    row = (await session.execute(_FIGURES)).one()
    return ProgramFigures(**row._asdict())
