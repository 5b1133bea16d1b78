"""Programme-wide figures for programme management, and a regency's for its regional office."""

from __future__ import annotations

import strawberry

from auth.permissions import requires
from auth.scopes import Scope
from core.enums import FigureBreakdown
from resolvers.statistics import FigureFilter, FigureGroupRecord, figures, program_figures
from resolvers.statistics import regency_figures as regency_figures_of
from schema.info import Info
from schema.registration import RegistrationChannelEnum, SexEnum
from schema.scalars import Rupiah

FigureBreakdownEnum = strawberry.enum(
    FigureBreakdown, description="How figures are grouped: by province, regency, wave or scheme."
)


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


@strawberry.input(description="Narrows every figure; an absent field is no condition.")
class FigureFilterInput:
    province_code: str | None = None
    regency_code: str | None = None
    wave: int | None = strawberry.field(default=None, description="The wave's number.")
    scheme: str | None = strawberry.field(default=None, description="The scheme's code.")
    channel: RegistrationChannelEnum | None = None  # type: ignore[valid-type]
    sex: SexEnum | None = None  # type: ignore[valid-type]
    with_disability: bool | None = None

    def to_filter(self) -> FigureFilter:
        return FigureFilter(
            province_code=self.province_code,
            regency_code=self.regency_code,
            wave_number=self.wave,
            scheme_code=self.scheme,
            channel=self.channel,
            sex=self.sex,
            with_disability=self.with_disability,
        )


@strawberry.type(
    description=(
        "The figures of one group (or of the whole selection when not broken down). Exact: "
        "kept in the same transaction as every registration, selection, completion and payment."
    )
)
class FigureGroup:
    code: str | None = strawberry.field(
        description=(
            "The group's province or regency code, wave number or scheme code; null for the "
            "whole selection, or for registrants in no wave yet (by wave or scheme)."
        )
    )
    name: str | None = strawberry.field(description="The province's, regency's or scheme's name.")
    registrants: int
    registrants_online: int
    registrants_offline: int = strawberry.field(description="Registered at a regional office.")
    registrants_with_disability: int
    registrants_female: int
    registrants_male: int = strawberry.field(
        description="Women and men; the seed's history recorded no sex for some registrants."
    )
    recipients: int = strawberry.field(description="People selected into a wave.")
    completions: int = strawberry.field(description="People who finished a first training.")
    incentives_paid: int = strawberry.field(description="People paid at least one incentive.")
    incentives_paid_amount: Rupiah = strawberry.field(description="The sum paid (PAID items).")

    @classmethod
    def from_record(cls, record: FigureGroupRecord) -> FigureGroup:
        return cls(
            code=record.code,
            name=record.name,
            registrants=record.registrants,
            registrants_online=record.registrants_online,
            registrants_offline=record.registrants_offline,
            registrants_with_disability=record.registrants_with_disability,
            registrants_female=record.registrants_female,
            registrants_male=record.registrants_male,
            recipients=record.recipients,
            completions=record.completions,
            incentives_paid=record.incentives_paid,
            incentives_paid_amount=Rupiah(record.incentives_paid_amount),
        )


def _filter(filter: FigureFilterInput | None) -> FigureFilter:
    return filter.to_filter() if filter is not None else FigureFilter()


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

    @strawberry.field(
        description=(
            "The programme's people figures, narrowed by the filter and grouped by the "
            "breakdown (one group, the whole selection, without one)."
        ),
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def program_figures(
        self,
        info: Info,
        breakdown: FigureBreakdownEnum | None = None,  # type: ignore[valid-type]
        filter: FigureFilterInput | None = None,
    ) -> list[FigureGroup]:
        records = await figures(
            info.context.session, info.context.principal, breakdown, _filter(filter)
        )
        return [FigureGroup.from_record(record) for record in records]

    @strawberry.field(
        description=(
            "One regency's people figures: a regional office's own (regencyCode may be left "
            "out; another regency is OUTSIDE_OWN_REGENCY), or the one programme management names."
        ),
        permission_classes=[requires(Scope.REGISTRATION_READ)],
    )
    async def regency_figures(
        self,
        info: Info,
        regency_code: str | None = None,
        breakdown: FigureBreakdownEnum | None = None,  # type: ignore[valid-type]
        filter: FigureFilterInput | None = None,
    ) -> list[FigureGroup]:
        records = await regency_figures_of(
            info.context.session,
            info.context.principal,
            regency_code,
            breakdown,
            _filter(filter),
        )
        return [FigureGroup.from_record(record) for record in records]
