"""The catalog's shared statements: a course's first schedules, and the compiled page.

A course's first schedules by start date are read two ways, by one builder
(``first_schedules``): the loader of the normal path reads them for a batch of course ids
(``schedules_of_courses``), the compiled read joins them to its page as one LATERAL of
arrays per column (``compiled_course_page``), so the page keeps one row per course and
asyncpg decodes every value natively. Either way each course costs one descent of
``ix_schedules_course_starts`` cut at ``first``, however many schedules it has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    RowMapping,
    Select,
    Text,
    bindparam,
    cast,
    func,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import LateralFromClause
from sqlalchemy.types import NullType

from core.db.session import execute_core
from core.kept import KeptByIdentity
from core.models import Course, Schedule
from core.principal import Principal
from resolvers.catalog import (
    COURSE_FIELDS,
    CourseRecord,
    PageRequest,
    ScheduleRecord,
    course_page_query,
    schedules_first_allowed,
)
from resolvers.compiled_reads import (
    COMPILED_READ_MARK,
    CompiledReadRefused,
    CompiledRows,
    JsonNode,
    JsonObject,
    JsonRelated,
    ReadPlan,
)
from resolvers.json_sql import NodeColumns, Unwritable, json_object

SCHEDULE_FIELDS: Final = tuple(item.name for item in fields(ScheduleRecord))
# The columns are the record's fields, by name: one list for both statements.
_SCHEDULE_COLUMNS: Final = tuple(getattr(Schedule, name) for name in SCHEDULE_FIELDS)


def schedule_record(row: Mapping[str, Any] | RowMapping) -> ScheduleRecord:
    return ScheduleRecord(**{name: row[name] for name in SCHEDULE_FIELDS})


def first_schedules(
    course_id: ColumnElement[int] | Any, outer: Any, only_with_seats: bool
) -> Select[Any]:
    """The first ``:schedules_first`` schedules by start date of the course ``course_id``
    names, a column of ``outer`` (the statement this one is a LATERAL of)."""
    conditions: list[ColumnElement[bool]] = [Schedule.course_id == course_id]
    if only_with_seats:
        conditions.append(Schedule.remaining > 0)
    return (
        select(*_SCHEDULE_COLUMNS)
        .where(*conditions)
        .correlate(outer)  # a FROM subquery does not correlate by itself
        .order_by(Schedule.starts_at, Schedule.id)
        # A literal, like the page's LIMIT (resolvers.catalog._page_statement: why).
        .limit(bindparam("schedules_first", type_=Integer, literal_execute=True))
    )


def _schedules_of_courses(only_with_seats: bool) -> Select[Any]:
    # The ids travel as one array parameter, so every batch size shares one prepared
    # statement; WITH ORDINALITY keeps the order the ids were given in.
    wanted = (
        func.unnest(bindparam("course_ids", type_=ARRAY(BigInteger)))
        .table_valued("course_id", with_ordinality="position")
        .render_derived(name="wanted")
    )
    first = first_schedules(wanted.c.course_id, wanted, only_with_seats).lateral("s")
    return (
        select(first)
        .select_from(wanted)
        .join(first, true())
        .order_by(wanted.c.position, first.c.starts_at, first.c.id)
    )


_SCHEDULES_OF_COURSES: Final = {flag: _schedules_of_courses(flag) for flag in (False, True)}


async def schedules_of_courses(
    session: AsyncSession, course_ids: list[int], first: int, only_with_seats: bool
) -> list[ScheduleRecord]:
    """The first ``first`` schedules of each course, grouped by course in the ids' order."""
    rows = await execute_core(
        session,
        _SCHEDULES_OF_COURSES[only_with_seats],
        {"course_ids": course_ids, "schedules_first": first},
    )
    return [schedule_record(row._mapping) for row in rows]


async def schedules_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[ScheduleRecord]:
    rows = await execute_core(session, select(*_SCHEDULE_COLUMNS).where(Schedule.id.in_(ids)))
    return [schedule_record(row._mapping) for row in rows]


def _schedule_arrays(only_with_seats: bool) -> LateralFromClause:
    wanted = first_schedules(Course.id, Course, only_with_seats).subquery("wanted_schedules")
    in_order = (wanted.c.starts_at, wanted.c.id)
    # Untyped arrays: asyncpg's lists of decoded values are what the records take, and
    # SQLAlchemy's ARRAY would only copy them item by item.
    return select(
        *(
            func.array_agg(aggregate_order_by(column, *in_order), type_=NullType()).label(
                f"schedule_{column.name}"
            )
            for column in wanted.c
        )
    ).lateral("first_schedules")


# Built once: they have no parameter of the request's but ``schedules_first``.
_SCHEDULE_ARRAYS: Final = {flag: _schedule_arrays(flag) for flag in (False, True)}
_ARRAY_LABELS: Final = tuple((name, f"schedule_{name}") for name in SCHEDULE_FIELDS)

# The relations a compiled page of courses can join: Course.schedules.
COURSE_RELATIONS: Final = frozenset({"schedules"})


@dataclass(frozen=True, slots=True)
class _Joins:
    joined: LateralFromClause | None  # the schedules' LATERAL, as JSON or as arrays
    as_json: LateralFromClause | None  # the same when written as JSON
    parameters: Mapping[str, Any]


_NO_JOINS: Final = _Joins(None, None, {})
# What a plan joins, by the plan: a compiled document replays one plan.
_joins: Final[KeptByIdentity[_Joins]] = KeptByIdentity(256)


def _joins_of(plan: ReadPlan) -> _Joins:
    """The schedules a plan joins (``compiled_course_page``), or ``CompiledReadRefused``."""
    for relation in plan.relations:
        if relation.name not in COURSE_RELATIONS:
            raise CompiledReadRefused("relation", relation.name)
    schedules = plan.relation("schedules")
    if schedules is None:
        return _NO_JOINS
    first = schedules.argument("first")
    if not schedules_first_allowed(first):
        # The normal path answers this with an error per course.
        raise CompiledReadRefused("argument", "schedules first out of range")
    with_seats = bool(schedules.argument("with_seats_left"))
    shape = _only_related_shape(plan.node, "schedules")
    as_json = None if shape is None else _schedules_json(shape, with_seats)
    joined = as_json if as_json is not None else _SCHEDULE_ARRAYS[with_seats]
    return _Joins(joined, as_json, {"schedules_first": first})


async def compiled_course_page(
    session: AsyncSession, principal: Principal | None, request: PageRequest, plan: ReadPlan
) -> CompiledRows:
    """``course_page``'s courses from the very same page statement, with each course's
    first schedules joined in when the plan asks for them (``related["schedules"]``, by
    course id). When the plan's node can be written by the database (``ReadPlan.node``),
    the rows are ``CourseNode``s instead, each course (its schedules included) as JSON."""
    joins = _joins.get(_joins_of, plan)
    joined, as_json = joins.joined, joins.as_json
    query, parameters = await course_page_query(
        session,
        principal,
        request.search,
        request.keyset,
        request.limit,
        joined=joined,
        comment=COMPILED_READ_MARK,
        kept=True,  # the page request and the joins are kept per compiled document
    )
    parameters.update(joins.parameters)
    written = None if plan.node is None else _json_page(query, plan.node)
    if written is None and as_json is not None:
        # Another field of the node cannot be written: the page with the schedules as
        # arrays, rendered in Python.
        return await compiled_course_page(session, principal, request, replace(plan, node=None))
    if written is not None:
        rows: Any = await execute_core(session, written, parameters)
        nodes = [CourseNode(json=node, id=id_, sort_key=key) for id_, key, node in rows]
        return CompiledRows(nodes)
    result: Any = await execute_core(session, query, parameters)
    # Each value is taken by its column's name: the positions are looked up once.
    position = {name: index for index, name in enumerate(result.keys())}
    course_at = tuple((name, position[name]) for name in COURSE_FIELDS)
    records = []
    by_course: dict[int, list[ScheduleRecord]] = {}
    for row in result:
        record = CourseRecord(**{name: row[index] for name, index in course_at})
        records.append(record)
        if joined is not None:
            arrays = {name: row[position[label]] for name, label in _ARRAY_LABELS}
            by_course[record.id] = (
                []
                if arrays["id"] is None  # no schedule: array_agg of nothing is NULL
                else [
                    ScheduleRecord(**dict(zip(arrays, values, strict=True)))
                    for values in zip(*arrays.values(), strict=True)
                ]
            )
    return CompiledRows(records, {"schedules": by_course} if joined is not None else {})


@dataclass(frozen=True, slots=True)
class CourseNode(JsonNode):
    """A course of a compiled page as the database wrote it, with the values its cursor is
    made of (``Keyset.as_cursor`` reads ``id`` and ``sort_key``)."""

    id: int
    sort_key: int | None


# The page statement's node written as JSON, by the page statement and the node; None
# where the node cannot be written.
_json_pages: Final[KeptByIdentity[Select[Any] | None]] = KeptByIdentity(256)


def _json_page(page: Select[Any], node: JsonObject) -> Select[Any] | None:
    """``page`` (one row per course) selecting only its id, its sort key and the course
    written as JSON by PostgreSQL: the same FROM, WHERE, ORDER BY and LIMIT, so the same
    rows in the same order."""
    return _json_pages.get(_written_page, page, node)


def _written_page(page: Select[Any], node: JsonObject) -> Select[Any] | None:
    selected = page.selected_columns

    def column(name: str) -> ColumnElement[Any]:
        return _column(selected, name)

    columns = NodeColumns(
        column,
        nested={"provider": lambda attribute: column(f"provider_{attribute}")},
        related={"schedules": lambda _shape: column("schedules_json")},
    )
    try:
        return page.with_only_columns(
            selected.id, selected.sort_key, cast(json_object(node, columns), Text).label("node")
        )
    except Unwritable:
        return None


def _column(columns: Any, name: str) -> ColumnElement[Any]:
    """The column ``name`` of a statement's or subquery's columns, or ``Unwritable``."""
    found = columns.get(name)
    if found is None:
        raise Unwritable(f"no column {name}")
    return found  # type: ignore[no-any-return]


_SCHEDULES_JSON_KEPT: Final = 64
_schedules_json_laterals: dict[tuple[JsonObject, bool], LateralFromClause | None] = {}


def _only_related_shape(node: JsonObject | None, relation: str) -> JsonObject | None:
    """The one shape the node selects ``relation`` with, or None (no node, or the relation
    selected twice with different fields: the arrays then serve both in Python)."""
    if node is None:
        return None
    shapes = {item.shape for item in node.fields if isinstance(item, JsonRelated)}
    names = {item.relation for item in node.fields if isinstance(item, JsonRelated)}
    return next(iter(shapes)) if len(shapes) == 1 and names == {relation} else None


def _schedules_json(shape: JsonObject, only_with_seats: bool) -> LateralFromClause | None:
    """A course's first schedules written as one JSON array in their order (``[]`` for none),
    as the LATERAL ``schedules_json`` of the page; None when the shape cannot be written."""
    key = (shape, only_with_seats)
    if key in _schedules_json_laterals:
        return _schedules_json_laterals[key]
    ordered = first_schedules(Course.id, Course, only_with_seats)
    try:
        each = json_object(shape, NodeColumns(lambda name: _column(ordered.selected_columns, name)))
    except Unwritable:
        lateral = None
    else:
        # ARRAY(SELECT ... ORDER BY ... LIMIT) keeps the statement's order and writes an
        # object only for each schedule kept; json_agg(... ORDER BY) sorted each course's
        # schedules a second time (a sort per course: a tenth of the page's database time).
        # No schedule gives an empty array, written ``[]``.
        written = func.array_to_json(func.array(ordered.with_only_columns(each).scalar_subquery()))
        lateral = select(written.label("schedules_json")).lateral("first_schedules_json")
    if len(_schedules_json_laterals) >= _SCHEDULES_JSON_KEPT:
        _schedules_json_laterals.clear()
    _schedules_json_laterals[key] = lateral
    return lateral
