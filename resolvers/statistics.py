"""Programme statistics: people figures from the maintained aggregates, partners and courses
counted from their (small) tables, each answer in one round trip.

The people figures (registrants, recipients, completions, incentives paid and their sum)
come from ``programme_figures``, which migration 0009's triggers keep in the same transaction
as every change to participants, completions and disbursement items: exact, and a read sums
at most a few thousand rows whatever the programme's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from core.enums import (
    FigureBreakdown,
    PartnerStatus,
    PartnerType,
    RegistrationChannel,
    Sex,
)
from core.errors import BadInput, ErrorCode, GatewayError, NotFound
from core.models import (
    Course,
    Partner,
    ProgrammeFigure,
    Province,
    Regency,
    Scheme,
    Wave,
)
from core.principal import Principal
from resolvers.tenancy import figures_visible_to, may_read_regency_figures, public_courses


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


@dataclass(frozen=True)
class FigureFilter:
    """Narrows every figure; ``None`` is no condition."""

    province_code: str | None = None
    regency_code: str | None = None
    wave_number: int | None = None
    scheme_code: str | None = None
    channel: RegistrationChannel | None = None
    sex: Sex | None = None
    with_disability: bool | None = None


@dataclass(frozen=True)
class FigureGroupRecord:
    # The group's code (province or regency code, wave number, scheme code) and name; both
    # None for the whole selection, or for registrants not in a wave (by wave or scheme).
    code: str | None
    name: str | None
    registrants: int
    registrants_online: int
    registrants_offline: int
    registrants_with_disability: int
    registrants_female: int
    registrants_male: int
    recipients: int
    completions: int
    incentives_paid: int
    incentives_paid_amount: int


def _active_partners(partner_type: PartnerType) -> ColumnElement[int]:
    return (
        select(func.count())
        .select_from(Partner)
        .where(Partner.type == partner_type, Partner.status == PartnerStatus.ACTIVE)
        .scalar_subquery()
    )


def _total(column: SQLColumnExpression[int]) -> ColumnElement[int]:
    return func.coalesce(func.sum(column), 0)


# Completions and incentives count people, as the programme reports them: a participant who
# finished two trainings, or was paid four installments, is counted once. What was paid
# counts from the payment partners' results (items PAID), and so does its sum. Courses are those
# on sale: the public catalog's rule (approved, of an active provider), from tenancy.
_PEOPLE = select(
    _total(ProgrammeFigure.registrants).label("registrants"),
    _total(ProgrammeFigure.recipients).label("recipients"),
    _total(ProgrammeFigure.completions).label("completions"),
    _total(ProgrammeFigure.incentives_paid).label("incentives_paid"),
    _total(ProgrammeFigure.incentives_paid_amount).label("incentives_paid_amount"),
).subquery("people")

_FIGURES: Select[tuple[int, ...]] = select(
    _PEOPLE.c.registrants,
    _PEOPLE.c.recipients,
    _PEOPLE.c.completions,
    _PEOPLE.c.incentives_paid,
    _PEOPLE.c.incentives_paid_amount,
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
    return ProgramFigures(
        registrants=int(row.registrants),
        recipients=int(row.recipients),
        completions=int(row.completions),
        incentives_paid=int(row.incentives_paid),
        incentives_paid_amount=int(row.incentives_paid_amount),
        platforms=int(row.platforms),
        payment_partners=int(row.payment_partners),
        providers=int(row.providers),
        courses=int(row.courses),
    )


def _conditions(figure_filter: FigureFilter) -> list[ColumnElement[bool]]:
    f = ProgrammeFigure
    conditions: list[ColumnElement[bool]] = []
    if figure_filter.province_code is not None:
        conditions.append(
            f.regency_id.in_(
                select(Regency.id)
                .join(Province, Province.id == Regency.province_id)
                .where(Province.code == figure_filter.province_code)
            )
        )
    if figure_filter.regency_code is not None:
        conditions.append(
            f.regency_id.in_(select(Regency.id).where(Regency.code == figure_filter.regency_code))
        )
    if figure_filter.wave_number is not None:
        conditions.append(
            f.wave_id.in_(select(Wave.id).where(Wave.number == figure_filter.wave_number))
        )
    if figure_filter.scheme_code is not None:
        conditions.append(
            f.scheme_id.in_(select(Scheme.id).where(Scheme.code == figure_filter.scheme_code))
        )
    if figure_filter.channel is not None:
        conditions.append(f.channel == figure_filter.channel)
    if figure_filter.sex is not None:
        conditions.append(f.sex == figure_filter.sex)
    if figure_filter.with_disability is not None:
        conditions.append(f.disabled.is_(figure_filter.with_disability))
    return conditions


def _measures() -> list[ColumnElement[int]]:
    f = ProgrammeFigure
    return [
        _total(f.registrants).label("registrants"),
        func.coalesce(
            func.sum(f.registrants).filter(f.channel == RegistrationChannel.ONLINE), 0
        ).label("registrants_online"),
        func.coalesce(
            func.sum(f.registrants).filter(f.channel == RegistrationChannel.OFFLINE), 0
        ).label("registrants_offline"),
        func.coalesce(func.sum(f.registrants).filter(f.disabled), 0).label(
            "registrants_with_disability"
        ),
        func.coalesce(func.sum(f.registrants).filter(f.sex == Sex.FEMALE), 0).label(
            "registrants_female"
        ),
        func.coalesce(func.sum(f.registrants).filter(f.sex == Sex.MALE), 0).label(
            "registrants_male"
        ),
        _total(f.recipients).label("recipients"),
        _total(f.completions).label("completions"),
        _total(f.incentives_paid).label("incentives_paid"),
        _total(f.incentives_paid_amount).label("incentives_paid_amount"),
    ]


_MEASURE_NAMES = (
    "registrants",
    "registrants_online",
    "registrants_offline",
    "registrants_with_disability",
    "registrants_female",
    "registrants_male",
    "recipients",
    "completions",
    "incentives_paid",
    "incentives_paid_amount",
)


def _grouped(breakdown: FigureBreakdown | None, where: ColumnElement[bool]) -> Executable:
    """One statement. The aggregates' rows are summed by their small integer key first (the
    slots and other keys of a regency, wave or scheme), and only those few sums meet the
    names: grouping thousands of rows by text would cost several times more."""
    f = ProgrammeFigure
    measures = _measures()
    if breakdown is None:
        return select(literal(None).label("code"), literal(None).label("name"), *measures).where(
            where
        )
    key = {
        FigureBreakdown.PROVINCE: f.regency_id,
        FigureBreakdown.REGENCY: f.regency_id,
        FigureBreakdown.WAVE: f.wave_id,
        FigureBreakdown.SCHEME: f.scheme_id,
    }[breakdown]
    inner = (
        select(key.label("key"), *measures)
        .where(where)
        .group_by(key)
        # A group every person has left (all moved to another key) is no group.
        .having(func.sum(f.registrants) > 0)
        .subquery("sums")
    )
    code: SQLColumnExpression[Any]
    name: SQLColumnExpression[Any]
    if breakdown is FigureBreakdown.PROVINCE:
        code, name = Province.code, Province.name
        source = inner.join(Regency, Regency.id == inner.c.key).join(
            Province, Province.id == Regency.province_id
        )
    elif breakdown is FigureBreakdown.REGENCY:
        code, name = Regency.code, Regency.name
        source = inner.join(Regency, Regency.id == inner.c.key)
    elif breakdown is FigureBreakdown.WAVE:
        code, name = func.cast(Wave.number, Scheme.code.type), Scheme.name
        source = inner.outerjoin(Wave, Wave.id == inner.c.key).outerjoin(
            Scheme, Scheme.id == Wave.scheme_id
        )
    else:
        code, name = Scheme.code, Scheme.name
        source = inner.outerjoin(Scheme, Scheme.id == inner.c.key)
    return (
        select(
            code.label("code"),
            name.label("name"),
            *(func.sum(inner.c[measure]).label(measure) for measure in _MEASURE_NAMES),
        )
        .select_from(source)
        .group_by(code, name)
        .order_by(code.asc().nulls_last())
    )


async def figures(
    session: AsyncSession,
    principal: Principal | None,
    breakdown: FigureBreakdown | None,
    figure_filter: FigureFilter,
    *,
    regency_id: int | None = None,
) -> list[FigureGroupRecord]:
    """The figures the caller may read (tenancy), narrowed and grouped as asked."""
    conditions = _conditions(figure_filter)
    if regency_id is not None:
        conditions.append(ProgrammeFigure.regency_id == regency_id)
    where = and_(true(), figures_visible_to(principal), *conditions)
    rows = (await session.execute(_grouped(breakdown, where))).all()
    return [
        FigureGroupRecord(
            code=None if row.code is None else str(row.code),
            name=row.name,
            registrants=int(row.registrants),
            registrants_online=int(row.registrants_online),
            registrants_offline=int(row.registrants_offline),
            registrants_with_disability=int(row.registrants_with_disability),
            registrants_female=int(row.registrants_female),
            registrants_male=int(row.registrants_male),
            recipients=int(row.recipients),
            completions=int(row.completions),
            incentives_paid=int(row.incentives_paid),
            incentives_paid_amount=int(row.incentives_paid_amount),
        )
        for row in rows
    ]


async def regency_figures(
    session: AsyncSession,
    principal: Principal | None,
    regency_code: str | None,
    breakdown: FigureBreakdown | None,
    figure_filter: FigureFilter,
) -> list[FigureGroupRecord]:
    """One regency's figures: a regional office's own (the default), or the one programme
    management names."""
    if regency_code is None:
        if principal is None or principal.regency_id is None:
            raise BadInput("name the regency: regencyCode is required", field="regencyCode")
        regency_id = principal.regency_id
    else:
        found = await session.scalar(select(Regency.id).where(Regency.code == regency_code))
        if found is None:
            raise NotFound("regency", regency_code)
        regency_id = int(found)
    if not may_read_regency_figures(principal, regency_id):
        raise GatewayError(
            ErrorCode.OUTSIDE_OWN_REGENCY,
            "a regional office reads the figures of its own regency only",
        )
    return await figures(session, principal, breakdown, figure_filter, regency_id=regency_id)
