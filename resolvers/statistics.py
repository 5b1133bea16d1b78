"""Programme statistics, all computed from the database in one round trip."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class ProgramFigures:
    registrants: int
    recipients: int
    completions: int
    incentives_paid: int
    platforms: int
    payment_partners: int
    providers: int
    courses: int


# Completions and incentives count people, as the programme reports them: a participant who
# finished two trainings, or was paid four installments, is counted once.
_FIGURES_SQL = text(
    """
    SELECT
      (SELECT count(*) FROM participants) AS registrants,
      (SELECT count(*) FROM participants WHERE status = 'RECIPIENT') AS recipients,
      (SELECT count(DISTINCT participant_id) FROM completions) AS completions,
      (SELECT count(DISTINCT i.participant_id)
         FROM disbursement_items d JOIN incentive_installments i ON i.id = d.installment_id
        WHERE d.status = 'PAID') AS incentives_paid,
      (SELECT count(*) FROM partners WHERE type = 'PLATFORM' AND status = 'ACTIVE') AS platforms,
      (SELECT count(*) FROM partners
        WHERE type = 'PAYMENT_PARTNER' AND status = 'ACTIVE') AS payment_partners,
      (SELECT count(*) FROM partners
        WHERE type = 'TRAINING_PROVIDER' AND status = 'ACTIVE') AS providers,
      (SELECT count(*) FROM courses WHERE status = 'APPROVED') AS courses
    """
)


async def program_figures(session: AsyncSession) -> ProgramFigures:
    row = (await session.execute(_FIGURES_SQL)).one()
    return ProgramFigures(**row._asdict())
