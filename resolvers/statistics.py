"""Programme statistics: people figures from the maintained aggregates, partners and courses
counted from their (small) tables, each answer in one round trip.

The people figures (registrants, recipients, completions, incentives paid and their sum)
come from ``programme_figures``, which migration 0010's triggers keep in the same transaction
as every change to participants, completions and disbursement items, or from its totals per
regency and wave (``programme_figure_totals``, migration 0021, kept from it in the same
transaction) when no channel, sex or disability condition needs the finer key: exact, and a
read sums at most a few thousand rows whatever the programme's size. Each statement is built
once per shape and takes its values as parameters (building one per request cost more than
PostgreSQL's answer); the schema answers through the compiled read (``schema.compiled``).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    bindparam,
    cast,
    func,
    literal,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from core.db.session import execute_core
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
    ProgrammeFigureTotal,
    Province,
    Regency,
    Scheme,
    Wave,
)
from core.principal import Principal
from resolvers.compiled_reads import COMPILED_READ_MARK, CompiledReadRefused, ReadPlan
from resolvers.tenancy import figures_visible_to, may_read_regency_figures, public_courses

_Statement = TypeVar("_Statement", bound=Select[*tuple[Any, ...]])


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


def _total(
    column: SQLColumnExpression[int], where: SQLColumnExpression[bool] | None = None
) -> ColumnElement[int]:
    """The sum (of the rows ``where`` holds), 0 for none, as a bigint: the sum of a bigint
    column is a numeric, which would reach Python as a Decimal."""
    total = func.sum(column) if where is None else func.sum(column).filter(where)
    return cast(func.coalesce(total, 0), BigInteger)


# Completions and incentives count people, as the programme reports them: a participant who
# finished two trainings, or was paid four installments, is counted once. What was paid
# counts from the payment partners' results (items PAID), and so does its sum. Courses are those
# on sale: the public catalog's rule (approved, of an active provider), from tenancy.
_PEOPLE = select(
    _total(ProgrammeFigureTotal.registrants).label("registrants"),
    _total(ProgrammeFigureTotal.recipients).label("recipients"),
    _total(ProgrammeFigureTotal.completions).label("completions"),
    _total(ProgrammeFigureTotal.incentives_paid).label("incentives_paid"),
    _total(ProgrammeFigureTotal.incentives_paid_amount).label("incentives_paid_amount"),
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


def _for(plan: ReadPlan | None, statement: _Statement) -> _Statement:
    """The statement as the normal path runs it, or, for a compiled read (``plan``), the
    same statement marked. A figure has no related list to join: a plan naming one is
    refused (the normal path answers)."""
    if plan is None:
        return statement
    if plan.relations:
        raise CompiledReadRefused("relation", plan.relations[0].name)
    marked: _Statement = _marked(statement)
    return marked


@functools.lru_cache(maxsize=1024)
def _marked(statement: _Statement) -> _Statement:
    # Kept with the statement it marks: SQLAlchemy keeps a statement's cache key on the
    # object, so the same object is not keyed again at every call.
    return statement.prefix_with(COMPILED_READ_MARK)


async def program_figures(session: AsyncSession, plan: ReadPlan | None = None) -> ProgramFigures:
    row = (await execute_core(session, _for(plan, _FIGURES))).one()
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


# The filter fields that only ``programme_figures`` can answer: its totals have no channel,
# sex or disability key (they hold the counts of each as columns).
_FINE_FILTERS = frozenset({"channel", "sex", "with_disability"})
Figures = type[ProgrammeFigure] | type[ProgrammeFigureTotal]


def _condition(name: str, f: Figures) -> ColumnElement[bool]:
    """The condition of the filter field (or of ``regency_id``) ``name`` on the bound
    parameter of that name: a kept statement takes each call's values as parameters."""
    value: BindParameter[Any] = bindparam(name)
    if name == "province_code":
        return f.regency_id.in_(
            select(Regency.id)
            .join(Province, Province.id == Regency.province_id)
            .where(Province.code == value)
        )
    if name == "regency_code":
        return f.regency_id.in_(select(Regency.id).where(Regency.code == value))
    if name == "wave_number":
        return f.wave_id.in_(select(Wave.id).where(Wave.number == value))
    if name == "scheme_code":
        return f.scheme_id.in_(select(Scheme.id).where(Scheme.code == value))
    if name == "channel":
        return ProgrammeFigure.channel == value
    if name == "sex":
        return ProgrammeFigure.sex == value
    if name == "with_disability":
        # Never null: the same as IS, which takes no parameter.
        return ProgrammeFigure.disabled == value
    if name == "regency_id":
        return f.regency_id == value
    raise ValueError(name)


def _measures(figures: Figures) -> list[ColumnElement[int]]:
    if figures is ProgrammeFigureTotal:
        return [_total(getattr(figures, name)).label(name) for name in FIGURE_MEASURES]
    f = ProgrammeFigure
    return [
        _total(f.registrants).label("registrants"),
        _total(f.registrants, f.channel == RegistrationChannel.ONLINE).label("registrants_online"),
        _total(f.registrants, f.channel == RegistrationChannel.OFFLINE).label(
            "registrants_offline"
        ),
        _total(f.registrants, f.disabled).label("registrants_with_disability"),
        _total(f.registrants, f.sex == Sex.FEMALE).label("registrants_female"),
        _total(f.registrants, f.sex == Sex.MALE).label("registrants_male"),
        _total(f.recipients).label("recipients"),
        _total(f.completions).label("completions"),
        _total(f.incentives_paid).label("incentives_paid"),
        _total(f.incentives_paid_amount).label("incentives_paid_amount"),
    ]


# The measures each figures row holds (programme_figures and programme_figure_totals).
FIGURE_MEASURES = (
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


def _grouped(
    breakdown: FigureBreakdown | None, where: ColumnElement[bool], f: Figures
) -> Select[*tuple[Any, ...]]:
    """One statement. The aggregates' rows are summed by their small integer key first (the
    slots and other keys of a regency, wave or scheme), and only those few sums meet the
    names: grouping thousands of rows by text would cost several times more."""
    measures = _measures(f)
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
    if breakdown is not FigureBreakdown.PROVINCE:
        # One group per key already (a regency, a wave, a scheme): named, not summed again.
        return (
            select(
                code.label("code"),
                name.label("name"),
                *(inner.c[measure] for measure in FIGURE_MEASURES),
            )
            .select_from(source)
            .order_by(code.asc().nulls_last())
        )
    return (
        select(
            code.label("code"),
            name.label("name"),
            *(
                cast(func.sum(inner.c[measure]), BigInteger).label(measure)
                for measure in FIGURE_MEASURES
            ),
        )
        .select_from(source)
        .group_by(code, name)
        .order_by(code.asc().nulls_last())
    )


@functools.lru_cache(maxsize=512)
def _figures_statement(
    breakdown: FigureBreakdown | None, filtered: tuple[str, ...], figures: Figures, visible: str
) -> Select[*tuple[Any, ...]]:
    """The statement of a breakdown, the filter fields given (``_condition``), the table
    and the caller's visibility (its SQL): built once for each such shape, since building
    it took more of a request's time than PostgreSQL took to answer it."""
    where = and_(true(), text(visible), *(_condition(name, figures) for name in filtered))
    return _grouped(breakdown, where, figures)


async def figures(
    session: AsyncSession,
    principal: Principal | None,
    breakdown: FigureBreakdown | None,
    figure_filter: FigureFilter,
    *,
    regency_id: int | None = None,
    plan: ReadPlan | None = None,
) -> list[FigureGroupRecord]:
    """The figures the caller may read (tenancy), narrowed and grouped as asked; ``plan``
    for a compiled read (``schema.compiled``), which runs the same statement. Without a
    channel, sex or disability condition they are summed from the totals per regency and
    wave (a fourteenth of the rows), else from ``programme_figures``."""
    values = {name: value for name, value in asdict(figure_filter).items() if value is not None}
    if regency_id is not None:
        values["regency_id"] = regency_id
    table: Figures = ProgrammeFigure if _FINE_FILTERS & values.keys() else ProgrammeFigureTotal
    # The caller's rule (tenancy) as SQL and its values apart: the statement is kept by
    # its SQL, and the values are bound at every call like the filter's.
    visible = figures_visible_to(principal, table.regency_id).compile()
    statement = _figures_statement(breakdown, tuple(values), table, visible.string)
    result = await execute_core(session, _for(plan, statement), {**values, **visible.params})
    # Every column is the record's field by name, in its type (the sums cast to bigint);
    # the names are read once, not once per row (514 rows by regency).
    names = tuple(result.keys())
    return [FigureGroupRecord(**dict(zip(names, row, strict=True))) for row in result.all()]


_REGENCY_ID = select(Regency.id).where(Regency.code == bindparam("code"))


async def regency_figures(
    session: AsyncSession,
    principal: Principal | None,
    regency_code: str | None,
    breakdown: FigureBreakdown | None,
    figure_filter: FigureFilter,
    plan: ReadPlan | None = None,
) -> list[FigureGroupRecord]:
    """One regency's figures: a regional office's own (the default), or the one programme
    management names; ``plan`` as for ``figures``."""
    if regency_code is None:
        if principal is None or principal.regency_id is None:
            raise BadInput("name the regency: regencyCode is required", field="regencyCode")
        regency_id = principal.regency_id
    else:
        found = (await execute_core(session, _REGENCY_ID, {"code": regency_code})).scalar()
        if found is None:
            raise NotFound("regency", regency_code)
        regency_id = int(found)
    if not may_read_regency_figures(principal, regency_id):
        raise GatewayError(
            ErrorCode.OUTSIDE_OWN_REGENCY,
            "a regional office reads the figures of its own regency only",
        )
    return await figures(
        session, principal, breakdown, figure_filter, regency_id=regency_id, plan=plan
    )
