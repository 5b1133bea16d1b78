"""Catalog reads: the course search page, one course, providers, categories.

The page is one SQL statement (courses joined to their provider, filtered, ordered and cut
at the keyset position), plus one statement to resolve codes in the filter when any is
given and one to read a search text's expansion when this process does not keep it
(``resolvers.search_expansions``); schedules, regencies and listings come through the
per-request loaders (``resolvers.loaders``), one query per batch.
Reads use SQLAlchemy Core and return frozen records, not ORM objects: this is the gateway's
hottest path and the ORM's identity map buys nothing here.

No read depends on the clock: the response cache is only invalidated by writes, so an
answer must be a function of the rows alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Integer,
    RowMapping,
    Select,
    Text,
    Uuid,
    and_,
    bindparam,
    cast,
    column,
    exists,
    false,
    func,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.selectable import LateralFromClause, TableValuedAlias
from sqlalchemy.sql.util import ClauseAdapter

from core.enums import CourseStatus, LearningMethod, PartnerType
from core.errors import ErrorCode, GatewayError, NotFound
from core.kept import KeptByIdentity
from core.limits import PARTNER_CODE_LENGTH
from core.models import Course, CourseListing, Partner, Province, Regency, Schedule
from core.principal import Principal
from resolvers import search_expansions
from resolvers.tenancy import (
    CatalogView,
    catalog_view,
    courses_visible_to,
    providers_visible_to,
    public_courses,
)

# Search text: long enough for trigrams to select, short enough to stay cheap.
MIN_SEARCH_LENGTH: Final = 2
MAX_SEARCH_LENGTH: Final = 100
MAX_PRICE: Final = 1_000_000_000_000
EARLIEST_DATE: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_DATE: Final = datetime(2100, 1, 1, tzinfo=UTC)
MAX_LIST_FILTER: Final = 20  # values in one list filter (categories, methods, statuses)
# The filters' codes (provider, platform, province, regency): partner codes are the longest.
MAX_CODE_LENGTH: Final = PARTNER_CODE_LENGTH
MAX_SCHEDULES_PER_COURSE: Final = 20  # Course.schedules(first:)
# A course without a (matching) schedule sorts after every dated one by start date.
NO_START: Final = 9_000_000_000_000_000_000


class CourseOrder(StrEnum):
    CATALOG = "CATALOG"
    RELEVANCE = "RELEVANCE"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    START_DATE = "START_DATE"
    NEWEST = "NEWEST"


# The cursor's first element names the order, so a cursor of one order is refused by another.
# CATALOG keeps the original one-element cursor [id].
_DESCENDING: Final = {
    CourseOrder.RELEVANCE: True,
    CourseOrder.PRICE_ASC: False,
    CourseOrder.PRICE_DESC: True,
    CourseOrder.START_DATE: False,
    CourseOrder.NEWEST: True,
}


@dataclass(frozen=True, slots=True)
class CourseRecord:
    id: int
    code: str
    title: str
    description: str
    category: str
    learning_method: LearningMethod
    price: int
    hours: int
    min_age: int | None
    max_age: int | None
    min_education: str | None
    regency_id: int | None
    status: CourseStatus
    review_reason: str | None
    created_at: datetime
    updated_at: datetime
    approved_at: datetime | None
    provider_id: int
    provider_code: str
    provider_name: str
    sort_key: int | None = None

    @property
    def provider(self) -> ProviderRecord:
        """The course's provider: every course read joins its code and name in."""
        return ProviderRecord(id=self.provider_id, code=self.provider_code, name=self.provider_name)


COURSE_FIELDS: Final = tuple(item.name for item in fields(CourseRecord))


def course_record(row: Mapping[str, Any] | RowMapping) -> CourseRecord:
    """A course read by ``course_columns`` (a row's mapping), by column name."""
    return CourseRecord(**{name: row[name] for name in COURSE_FIELDS})


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    id: int
    code: str
    course_id: int
    starts_at: datetime
    ends_at: datetime
    quota: int
    remaining: int


def schedules_first_allowed(first: int) -> bool:
    return 1 <= first <= MAX_SCHEDULES_PER_COURSE


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class CategoryCount:
    name: str
    course_count: int


@dataclass(frozen=True)
class CourseSearch:
    """A validated catalog filter; build it with ``CourseSearch.checked``."""

    text: str | None = None
    categories: tuple[str, ...] = ()
    learning_methods: tuple[LearningMethod, ...] = ()
    provider_code: str | None = None
    platform_code: str | None = None
    province_code: str | None = None
    regency_code: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    with_seats_left: bool = False
    statuses: tuple[CourseStatus, ...] = (CourseStatus.APPROVED,)

    @classmethod
    def checked(cls, **values: Any) -> CourseSearch:
        search = cls(**values)
        search._check()
        return search

    def _check(self) -> None:
        if self.text is not None:
            stripped = self.text.strip()
            if len(self.text) > MAX_SEARCH_LENGTH:
                raise GatewayError(
                    ErrorCode.SEARCH_TEXT_TOO_LONG,
                    f"search text is at most {MAX_SEARCH_LENGTH} characters",
                    maximum=MAX_SEARCH_LENGTH,
                )
            if not stripped:
                raise GatewayError(
                    ErrorCode.SEARCH_TEXT_EMPTY, "search text is empty; omit it to list all"
                )
            if len(stripped) < MIN_SEARCH_LENGTH:
                raise GatewayError(
                    ErrorCode.SEARCH_TEXT_TOO_SHORT,
                    f"search text needs at least {MIN_SEARCH_LENGTH} characters",
                    minimum=MIN_SEARCH_LENGTH,
                )
        for name in ("categories", "learning_methods", "statuses"):
            if len(getattr(self, name)) > MAX_LIST_FILTER:
                raise GatewayError(
                    ErrorCode.BAD_USER_INPUT,
                    f"{name} holds at most {MAX_LIST_FILTER} values",
                    field=name,
                )
        if any(not category or len(category) > 80 for category in self.categories):
            raise GatewayError(
                ErrorCode.BAD_USER_INPUT, "a category is 1 to 80 characters", field="categories"
            )
        for name in ("provider_code", "platform_code", "province_code", "regency_code"):
            value = getattr(self, name)
            if value is not None and not 0 < len(value) <= MAX_CODE_LENGTH:
                raise GatewayError(
                    ErrorCode.BAD_USER_INPUT,
                    f"{name} must be 1 to {MAX_CODE_LENGTH} characters",
                    field=name,
                )
        for price in (self.min_price, self.max_price):
            if price is not None and not 0 <= price <= MAX_PRICE:
                raise GatewayError(
                    ErrorCode.INVALID_PRICE_RANGE,
                    f"prices are between 0 and {MAX_PRICE}",
                )
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise GatewayError(ErrorCode.INVALID_PRICE_RANGE, "minPrice is above maxPrice")
        check_date_range(self.starts_from, self.starts_before)


def check_date_range(start: datetime | None, end: datetime | None) -> None:
    """Both bounds within [2000, 2100), carry a time zone, and start before end."""
    for moment in (start, end):
        if moment is None:
            continue
        if moment.tzinfo is None:
            raise GatewayError(ErrorCode.INVALID_DATE_RANGE, "dates need a time zone offset")
        if not EARLIEST_DATE <= moment < LATEST_DATE:
            raise GatewayError(ErrorCode.INVALID_DATE_RANGE, "dates must lie between 2000 and 2099")
    if start is not None and end is not None and start >= end:
        raise GatewayError(ErrorCode.INVALID_DATE_RANGE, "the range ends before it starts")


@dataclass(frozen=True)
class Keyset:
    """Where a page starts: after (sort key, id) in the order's direction."""

    order: CourseOrder
    key: int | None = None
    after_id: int | None = None

    def as_cursor(self, record: CourseRecord) -> list[Any]:
        if self.order is CourseOrder.CATALOG:
            return [record.id]
        return [self.order.value, record.sort_key, record.id]

    @classmethod
    def from_cursor(cls, order: CourseOrder, parts: Sequence[Any] | None) -> Keyset:
        if parts is None:
            return cls(order)
        if order is CourseOrder.CATALOG:
            if len(parts) == 1 and _is_int(parts[0]):
                return cls(order, after_id=parts[0])
        elif (
            len(parts) == 3 and parts[0] == order.value and _is_int(parts[1]) and _is_int(parts[2])
        ):
            return cls(order, key=parts[1], after_id=parts[2])
        raise GatewayError(ErrorCode.INVALID_CURSOR, "cursor does not belong to this order")


@dataclass(frozen=True)
class PageRequest:
    """A validated request for a page of courses (``schema.catalog.course_page_arguments``)."""

    page_size: int
    search: CourseSearch
    keyset: Keyset

    @property
    def limit(self) -> int:
        return self.page_size + 1  # the extra row only says that a next page exists


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63


@dataclass
class _Codes:
    provider_id: int | None = None
    platform_id: int | None = None
    province_id: int | None = None
    regency_id: int | None = None
    missing: list[str] = field(default_factory=list)


_COURSE_COLUMNS: tuple[Any, ...] = (
    Course.id,
    Course.code,
    Course.title,
    Course.description,
    Course.category,
    Course.learning_method,
    Course.price,
    Course.hours,
    Course.min_age,
    Course.max_age,
    Course.min_education,
    Course.regency_id,
    Course.status,
    Course.review_reason,
    Course.created_at,
    Course.updated_at,
    Course.approved_at,
    Course.provider_id,
    Partner.code.label("provider_code"),
    Partner.name.label("provider_name"),
)


def _course_select(
    *extra: Any, laterals: Sequence[Any] = (), matches: TableValuedAlias | None = None
) -> Select[*tuple[Any, ...]]:
    query = select(*_COURSE_COLUMNS, *extra).join_from(
        Course, Partner, Partner.id == Course.provider_id
    )
    if matches is not None:  # a text search keeps the courses it matched
        query = query.join(matches, matches.c.matched_course == Course.id)
    for lateral in laterals:
        query = query.outerjoin(lateral, true())
    return query


_NO_CODES: Final = _Codes()  # no code in the filter: nothing resolved


async def _resolve_codes(session: AsyncSession, search: CourseSearch) -> _Codes:
    """Ids of the codes the filter names, in one statement; unknown codes are NOT_FOUND."""
    wanted: dict[str, Any] = {}
    if search.provider_code is not None:
        wanted["provider"] = (
            select(Partner.id)
            .where(Partner.code == search.provider_code)
            .where(Partner.type == PartnerType.TRAINING_PROVIDER)
            .scalar_subquery()
        )
    if search.platform_code is not None:
        wanted["platform"] = (
            select(Partner.id)
            .where(Partner.code == search.platform_code)
            .where(Partner.type == PartnerType.PLATFORM)
            .scalar_subquery()
        )
    if search.province_code is not None:
        wanted["province"] = (
            select(Province.id).where(Province.code == search.province_code).scalar_subquery()
        )
    if search.regency_code is not None:
        wanted["regency"] = (
            select(Regency.id).where(Regency.code == search.regency_code).scalar_subquery()
        )
    codes = _Codes()
    if not wanted:
        return codes
    row = (await session.execute(select(*(v.label(k) for k, v in wanted.items())))).one()
    for name, value in row._mapping.items():
        if value is None:
            raise NotFound(name, getattr(search, f"{name}_code"))
        setattr(codes, f"{name}_id", value)
    return codes


def _schedule_conditions(shape: _PageShape) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Schedule.course_id == Course.id]
    if "starts_from" in shape.present:
        conditions.append(Schedule.starts_at >= _param("starts_from", Schedule.starts_at))
    if "starts_before" in shape.present:
        conditions.append(Schedule.starts_at < _param("starts_before", Schedule.starts_at))
    if shape.with_seats_left:
        conditions.append(Schedule.remaining > 0)
    return conditions


def _text_matches(q: BindParameter[str]) -> TableValuedAlias:
    """The courses the search text matches, each with its relevance in thousandths: the
    whole rule (words, typo tolerance, threshold, weights) is the database function's
    (migrations 0027, 0028 and 0030), which folds the text as the stored words were folded.
    It is given the text's expansion when this process keeps one (``search_expansions``).
    Joined, not LATERAL: it runs once per statement, whatever the number of courses."""
    return (
        func.prakerja_search_courses(
            q,
            bindparam(search_expansions.VERSION, type_=Uuid),
            bindparam(search_expansions.ASKED, type_=search_expansions.TEXT_ARRAY),
            bindparam(search_expansions.WORDS, type_=search_expansions.TEXT_ARRAY),
            bindparam(search_expansions.SHARES, type_=search_expansions.SHARE_ARRAY),
        )
        .table_valued(column("matched_course", BigInteger), column("relevance", Integer))
        .alias("text_match")
    )


def _epoch_us(moment: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[int]:
    return cast(func.extract("epoch", moment) * 1_000_000, BigInteger)


@dataclass(frozen=True)
class _PageShape:
    """Everything a page statement's SQL depends on; the values travel as parameters.

    Building the statement and computing SQLAlchemy's cache key of it is work that does not
    depend on the values; a statement built once per shape has its cache key memoized."""

    visibility: CatalogView | None
    order: CourseOrder
    present: frozenset[str]  # the parameters given (a filter, the keyset's position)
    with_seats_left: bool
    joined: LateralFromClause | None
    comment: str | None

    @property
    def filters_schedules(self) -> bool:
        given = self.present
        return "starts_from" in given or "starts_before" in given or self.with_seats_left


_PAGE_STATEMENTS_KEPT: Final = 512
_page_statements: dict[_PageShape, Select[*tuple[Any, ...]]] = {}


async def course_page_query(
    session: AsyncSession,
    principal: Principal | None,
    search: CourseSearch,
    keyset: Keyset,
    limit: int,
    *,
    joined: LateralFromClause | None = None,
    comment: str | None = None,
    kept: bool = False,
) -> tuple[Select[*tuple[Any, ...]], dict[str, Any]]:
    """The statement (and its parameters) for up to ``limit`` visible courses matching
    ``search``, after ``keyset`` in its order. Codes in the filter are resolved here (one
    statement, only when given): unknown codes are NOT_FOUND. The search text is matched by
    the page statement itself (``_text_matches``).

    The statement yields ``_COURSE_COLUMNS``, then ``sort_key``, then the columns of
    ``joined``: a LATERAL subquery of courses giving one row per course (the fast path's
    schedules, ``resolvers.catalog_sql``). ``comment`` is put after SELECT.

    ``kept``: ``search``, ``keyset`` and ``joined`` are objects a compiled document keeps
    and replays, so what is worked out from them is kept by them (``_replayed_queries``).
    The parameters are always the caller's to add to."""
    codes = await _resolve_codes(session, search)
    if codes != _NO_CODES or not kept:
        # A code is resolved (an unknown one refused) on every request.
        query, parameters = _page_query(principal, search, keyset, limit, codes, joined, comment)
    else:
        by_caller = _replayed_queries.get(_no_variants, search, keyset, joined)
        variant = (limit, comment, catalog_view(principal))
        found = by_caller.get(variant)
        if found is None:
            if len(by_caller) >= _REPLAYED_VARIANTS:
                by_caller.clear()
            found = by_caller[variant] = _page_query(
                principal, search, keyset, limit, codes, joined, comment
            )
        query, parameters = found[0], dict(found[1])
    text = parameters.get("q")
    if text is not None:
        parameters.update(await search_expansions.SEARCH_EXPANSIONS.parameters(session, text))
    return query, parameters


# A replayed page's statement and parameters, by its search, keyset and joins (the same
# objects on every replay of a compiled document), then by its limit, comment and caller's
# view: only for a search with no code to resolve, so the pair depends on nothing else (a
# text's expansion is added to a copy of the parameters on each request).
_replayed_queries: Final[KeptByIdentity[dict[Any, tuple[Select[Any], dict[str, Any]]]]] = (
    KeptByIdentity(256)
)
_REPLAYED_VARIANTS: Final = 64  # limits, comments and views of one search, kept at most


def _no_variants(*_objects: object) -> dict[Any, tuple[Select[Any], dict[str, Any]]]:
    return {}


def _page_query(
    principal: Principal | None,
    search: CourseSearch,
    keyset: Keyset,
    limit: int,
    codes: _Codes,
    joined: LateralFromClause | None,
    comment: str | None,
) -> tuple[Select[*tuple[Any, ...]], dict[str, Any]]:
    search_text = None if search.text is None else search.text.strip()
    if keyset.order is CourseOrder.RELEVANCE and search_text is None:
        raise GatewayError(
            ErrorCode.BAD_USER_INPUT,
            "RELEVANCE order needs search text in the filter",
            field="orderBy",
        )
    values: dict[str, Any] = {
        "statuses": list(search.statuses) or None,
        "categories": list(search.categories) or None,
        "learning_methods": list(search.learning_methods) or None,
        "provider_id": codes.provider_id,
        "platform_id": codes.platform_id,
        "regency_id": codes.regency_id,
        "province_id": codes.province_id,
        "min_price": search.min_price,
        "max_price": search.max_price,
        "q": search_text,
        "starts_from": search.starts_from,
        "starts_before": search.starts_before,
        "after_key": keyset.key,
        "after_id": keyset.after_id,
        "limit": limit,
    }
    parameters = {name: value for name, value in values.items() if value is not None}
    shape = _PageShape(
        visibility=catalog_view(principal),
        order=keyset.order,
        present=frozenset(parameters),
        with_seats_left=search.with_seats_left,
        joined=joined,
        comment=comment,
    )
    statement = _page_statements.get(shape)
    if statement is None:
        if len(_page_statements) >= _PAGE_STATEMENTS_KEPT:
            _page_statements.clear()
        statement = _page_statements[shape] = _page_statement(shape, principal)
    return statement, parameters


def _param(name: str, like: Any, *, expanding: bool = False) -> BindParameter[Any]:
    return bindparam(name, type_=like.type, expanding=expanding)


def _page_statement(shape: _PageShape, principal: Principal | None) -> Select[*tuple[Any, ...]]:
    given = shape.present.__contains__
    conditions: list[ColumnElement[bool]] = [
        courses_visible_to(principal, provider_joined=True),  # _course_select joins it
        Course.status.in_(_param("statuses", Course.status, expanding=True))
        if given("statuses")
        else false(),
    ]
    if given("categories"):
        conditions.append(
            Course.category.in_(_param("categories", Course.category, expanding=True))
        )
    if given("learning_methods"):
        conditions.append(
            Course.learning_method.in_(
                _param("learning_methods", Course.learning_method, expanding=True)
            )
        )
    if given("provider_id"):
        conditions.append(Course.provider_id == _param("provider_id", Course.provider_id))
    if given("platform_id"):
        conditions.append(
            exists()
            .where(CourseListing.course_id == Course.id)
            .where(CourseListing.platform_id == _param("platform_id", CourseListing.platform_id))
        )
    if given("regency_id"):
        conditions.append(Course.regency_id == _param("regency_id", Course.regency_id))
    if given("province_id"):
        conditions.append(
            Course.regency_id.in_(
                select(Regency.id).where(
                    Regency.province_id == _param("province_id", Regency.province_id)
                )
            )
        )
    if given("min_price"):
        conditions.append(Course.price >= _param("min_price", Course.price))
    if given("max_price"):
        conditions.append(Course.price <= _param("max_price", Course.price))
    matches = _text_matches(bindparam("q", type_=Text)) if given("q") else None

    first_start = None
    if shape.filters_schedules or shape.order is CourseOrder.START_DATE:
        first_start = (
            select(func.min(Schedule.starts_at).label("first_start"))
            .where(*_schedule_conditions(shape))
            .lateral("first_schedule")
        )
        if shape.filters_schedules:
            conditions.append(first_start.c.first_start.is_not(None))

    sort_key: ColumnElement[Any] | InstrumentedAttribute[Any] | None = None
    match shape.order:
        case CourseOrder.RELEVANCE:
            assert matches is not None
            sort_key = matches.c.relevance
        case CourseOrder.PRICE_ASC | CourseOrder.PRICE_DESC:
            sort_key = Course.price
        case CourseOrder.NEWEST:
            sort_key = _epoch_us(Course.created_at)
        case CourseOrder.START_DATE:
            assert first_start is not None
            sort_key = func.coalesce(_epoch_us(first_start.c.first_start), NO_START)
        case CourseOrder.CATALOG:
            sort_key = None

    query = _course_select(
        (sort_key if sort_key is not None else null()).label("sort_key"),
        laterals=[first_start] if first_start is not None else [],
        matches=matches,
    )
    after_id = _param("after_id", Course.id) if given("after_id") else None
    by_id = Course.id.expression  # a Core column, which ``_joined_to_page`` can adapt
    order: tuple[ColumnElement[Any], ...]
    if sort_key is None:
        if after_id is not None:
            conditions.append(Course.id > after_id)
        order = (by_id,)
    else:
        descending = _DESCENDING[shape.order]
        if after_id is not None:
            key = _param("after_key", sort_key)
            beyond = sort_key < key if descending else sort_key > key
            conditions.append(or_(beyond, and_(sort_key == key, Course.id > after_id)))
        order = (sort_key.desc() if descending else sort_key.asc(), by_id)
    query = query.where(*conditions).order_by(*order)
    # The page size is written into the statement (SQLAlchemy renders it at execution),
    # not sent as a parameter: PostgreSQL cannot cost a LIMIT it does not know, so with a
    # parameter it plans the statement anew on every execution (a custom plan costs about
    # as much as running the page); with the literal the plan it keeps is generic. A
    # prepared statement per page size: partners use a handful.
    query = query.limit(bindparam("limit", type_=Integer, literal_execute=True))
    if shape.joined is not None:
        query = _joined_to_page(query, shape.joined, order)
    if shape.comment is not None:
        query = query.prefix_with(shape.comment)
    return query


def _joined_to_page(
    page: Select[Any], joined: LateralFromClause, order: tuple[ColumnElement[Any], ...]
) -> Select[Any]:
    """``joined`` (a LATERAL of ``Course``) joined to the page's courses only: the page is a
    subquery, cut by its LIMIT, and the LATERAL runs for the rows it keeps. Joined to the
    page statement itself, it ran for every course that passed the filters, before the
    sort: a broad search wrote the schedules of 1,482 courses for a page of 20. ``order``
    is the page's own ORDER BY, kept over the subquery's columns."""
    rows = page.subquery("page")
    # The LATERAL's and the order's references to the course become the subquery's columns.
    adapter = ClauseAdapter(rows)
    per_row = adapter.traverse(joined)
    return (
        select(*rows.c, *per_row.c)
        .select_from(rows)
        .outerjoin(per_row, true())
        .order_by(*(adapter.traverse(clause) for clause in order))
    )


async def course_page(
    session: AsyncSession,
    principal: Principal | None,
    search: CourseSearch,
    keyset: Keyset,
    limit: int,
) -> list[CourseRecord]:
    """Up to ``limit`` visible courses matching ``search``, after ``keyset`` in its order."""
    query, parameters = await course_page_query(session, principal, search, keyset, limit)
    result = await session.execute(query, parameters)
    return [course_record(row._mapping) for row in result]


async def course_by_code(
    session: AsyncSession, principal: Principal | None, code: str
) -> CourseRecord | None:
    """The course if the caller may see it (in any status it may see), else None."""
    query = (
        _course_select(null().label("sort_key"))
        .where(Course.code == code)
        .where(courses_visible_to(principal, provider_joined=True))
    )
    row = (await session.execute(query)).first()
    return None if row is None else course_record(row._mapping)


async def courses_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[CourseRecord]:
    """Courses by id whatever their status: for rows the caller already may see (its
    purchases' courses), so no visibility clause."""
    query = _course_select(null().label("sort_key")).where(Course.id.in_(ids))
    return [course_record(row._mapping) for row in await session.execute(query)]


async def provider_by_code(
    session: AsyncSession, principal: Principal | None, code: str
) -> ProviderRecord | None:
    """A training provider the caller may look up (``tenancy.providers_visible_to``)."""
    query = (
        select(Partner.id, Partner.code, Partner.name)
        .where(Partner.code == code)
        .where(providers_visible_to(principal))
    )
    row = (await session.execute(query)).first()
    return None if row is None else ProviderRecord(id=row.id, code=row.code, name=row.name)


async def category_counts(session: AsyncSession) -> list[CategoryCount]:
    """Every category of the public catalog with its number of approved courses."""
    query = (
        select(Course.category, func.count())
        .where(public_courses())
        .where(Course.status == CourseStatus.APPROVED)
        .group_by(Course.category)
        .order_by(Course.category)
    )
    return [
        CategoryCount(name=name, course_count=count) for name, count in await session.execute(query)
    ]
