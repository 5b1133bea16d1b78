"""Programme-wide figures for programme management."""

from __future__ import annotations

import strawberry

from auth.permissions import requires
from auth.scopes import Scope
from resolvers.statistics import program_figures
from schema.info import Info
from schema.scalars import Rupiah


@strawberry.type(description="Figures of the whole programme, computed from the database.")
class ProgramStatistics:
    registrants: int = strawberry.field(description="People registered.")
    recipients: int = strawberry.field(description="People selected into a wave.")
    completions: int = strawberry.field(description="People who finished a first training.")
    incentives_paid: int = strawberry.field(
        description="People paid at least one incentive (payment partners' PAID results)."
    )
    incentives_paid_amount: Rupiah = strawberry.field(
        description="The sum of every incentive paid (PAID items)."
    )
    platforms: int = strawberry.field(description="Active digital platforms.")
    payment_partners: int = strawberry.field(description="Active payment partners.")
    providers: int = strawberry.field(description="Active training providers.")
    courses: int = strawberry.field(description="Approved courses.")


@strawberry.type
class ProgrammeQuery:
    @strawberry.field(
        description="Figures of the whole programme.",
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def program_statistics(self, info: Info) -> ProgramStatistics:
        figures = await program_figures(info.context.session)
        return ProgramStatistics(
            registrants=figures.registrants,
            recipients=figures.recipients,
            completions=figures.completions,
            incentives_paid=figures.incentives_paid,
            incentives_paid_amount=Rupiah(figures.incentives_paid_amount),
            platforms=figures.platforms,
            payment_partners=figures.payment_partners,
            providers=figures.providers,
            courses=figures.courses,
        )
