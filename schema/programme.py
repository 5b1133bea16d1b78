"""Programme-wide figures for programme management, and a regency's for its regional office."""

from __future__ import annotations

from typing import Any

import strawberry

from auth.permissions import requires
from auth.scopes import Scope
from core.enums import FigureBreakdown
from resolvers.compiled_reads import ReadPlan
from resolvers.statistics import (
    FigureFilter,
    FigureGroupRecord,
    ProgramFigures,
    figures,
    program_figures,
)
from resolvers.statistics import regency_figures as regency_figures_of
from schema.compiled import CompiledRead, column, no_transaction, record_values
from schema.context import Context
from schema.info import Info
from schema.registration import RegistrationChannelEnum, SexEnum
from schema.scalars import Rupiah

FigureBreakdownEnum = strawberry.enum(
    FigureBreakdown, description="How figures are grouped: by province, regency, wave or scheme."
)


@strawberry.type(description="Figures of the whole programme, computed from the database.")
class ProgramStatistics:
    registrants: int = column(description="People registered.")
    recipients: int = column(description="People selected into a wave.")
    completions: int = column(description="People who finished a first training.")
    incentives_paid: int = column(
        description="People paid at least one incentive (payment partners' PAID results)."
    )
    incentives_paid_amount: Rupiah = column(
        description="The sum of every incentive paid (PAID items)."
    )
    platforms: int = column(description="Active digital platforms.")
    payment_partners: int = column(description="Active payment partners.")
    providers: int = column(description="Active training providers.")
    courses: int = column(description="Approved courses.")

    @classmethod
    def from_record(cls, record: ProgramFigures) -> ProgramStatistics:
        return cls(**record_values(cls, record))


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
    code: str | None = column(
        description=(
            "The group's province or regency code, wave number or scheme code; null for the "
            "whole selection, or for registrants in no wave yet (by wave or scheme)."
        )
    )
    name: str | None = column(description="The province's, regency's or scheme's name.")
    registrants: int = column()
    registrants_online: int = column()
    registrants_offline: int = column(description="Registered at a regional office.")
    registrants_with_disability: int = column()
    registrants_female: int = column()
    registrants_male: int = column(
        description="Women and men; the seed's history recorded no sex for some registrants."
    )
    recipients: int = column(description="People selected into a wave.")
    completions: int = column(description="People who finished a first training.")
    incentives_paid: int = column(description="People paid at least one incentive.")
    incentives_paid_amount: Rupiah = column(description="The sum paid (PAID items).")

    @classmethod
    def from_record(cls, record: FigureGroupRecord) -> FigureGroup:
        return cls(**record_values(cls, record))


def _filter(filter: FigureFilterInput | None) -> FigureFilter:
    return filter.to_filter() if filter is not None else FigureFilter()


# The compiled reads of the three fields below (``schema.compiled``): the same resolver
# functions and statements, given the plan, so that a figures document (514 regencies of 12
# fields each) is rendered in one pass instead of completed value by value, and is kept as
# a compiled document. Tenancy is decided in the resolvers from the caller at every call.


async def _compiled_statistics(
    context: Context, plan: ReadPlan, _arguments: dict[str, Any]
) -> tuple[ProgramFigures, dict[str, Any]]:
    return await program_figures(context.session, plan), {}


async def _compiled_figures(
    context: Context, plan: ReadPlan, arguments: dict[str, Any]
) -> tuple[list[FigureGroupRecord], dict[str, Any]]:
    records = await figures(
        context.session,
        context.principal,
        arguments.get("breakdown"),
        _filter(arguments.get("filter")),
        plan=plan,
    )
    return records, {}


async def _compiled_regency_figures(
    context: Context, plan: ReadPlan, arguments: dict[str, Any]
) -> tuple[list[FigureGroupRecord], dict[str, Any]]:
    records = await regency_figures_of(
        context.session,
        context.principal,
        arguments.get("regency_code"),
        arguments.get("breakdown"),
        _filter(arguments.get("filter")),
        plan,
    )
    return records, {}


def _compiled(read: Any) -> list[Any]:
    # The switch is the one of every compiled read (Settings.compiled_reads).
    return [
        CompiledRead(
            read, enabled=lambda info: info.context.compiled_reads, in_transaction=no_transaction
        )
    ]


@strawberry.type
class ProgrammeQuery:
    @strawberry.field(
        description="Figures of the whole programme.",
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
        extensions=_compiled(_compiled_statistics),
    )
    async def program_statistics(self, info: Info) -> ProgramStatistics:
        return ProgramStatistics.from_record(await program_figures(info.context.session))

    @strawberry.field(
        description=(
            "The programme's people figures, narrowed by the filter and grouped by the "
            "breakdown (one group, the whole selection, without one)."
        ),
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
        extensions=_compiled(_compiled_figures),
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
        extensions=_compiled(_compiled_regency_figures),
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
