"""Programme statistics, all computed from the database in one round trip."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import (
    CourseStatus,
    DisbursementItemStatus,
    ParticipantStatus,
    PartnerStatus,
    PartnerType,
)


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


# Completions and incentives count people, as the programme reports them: a participant who
# finished two trainings, or was paid four installments, is counted once. What was paid
# counts from the payment partners' results (items PAID), and so does its sum.
_FIGURES_SQL = text(
    """
    SELECT
      (SELECT count(*) FROM participants) AS registrants,
      (SELECT count(*) FROM participants WHERE status = :recipient) AS recipients,
      (SELECT count(DISTINCT participant_id) FROM completions) AS completions,
      paid.people AS incentives_paid,
      paid.amount AS incentives_paid_amount,
      (SELECT count(*) FROM partners WHERE type = :platform AND status = :active) AS platforms,
      (SELECT count(*) FROM partners
        WHERE type = :payment_partner AND status = :active) AS payment_partners,
      (SELECT count(*) FROM partners
        WHERE type = :provider AND status = :active) AS providers,
      (SELECT count(*) FROM courses WHERE status = :approved) AS courses
    FROM (SELECT count(DISTINCT i.participant_id) AS people,
                 CAST(coalesce(sum(d.amount), 0) AS bigint) AS amount
            FROM disbursement_items d JOIN incentive_installments i ON i.id = d.installment_id
           WHERE d.status = :paid) AS paid
    """
)


async def program_figures(session: AsyncSession) -> ProgramFigures:
    row = (
        await session.execute(
            _FIGURES_SQL,
            {
                "recipient": ParticipantStatus.RECIPIENT,
                "paid": DisbursementItemStatus.PAID,
                "platform": PartnerType.PLATFORM,
                "payment_partner": PartnerType.PAYMENT_PARTNER,
                "provider": PartnerType.TRAINING_PROVIDER,
                "active": PartnerStatus.ACTIVE,
                "approved": CourseStatus.APPROVED,
            },
        )
    ).one()
    return ProgramFigures(**row._asdict())
