"""The catalog fast path's statement: a page of courses and their first schedules at once.

``schema.fast_path`` answers the ``courses`` field from this one statement instead of the
page statement plus a schedules statement (``resolvers.loaders``). The page is the very
statement ``resolvers.catalog.course_page_query`` builds (visibility, filters, order and
keyset are not restated here), with one more LATERAL join: each course's first schedules
by start date, read by an index descent of ``ix_schedules_course_starts`` cut at ``first``
(the rows ``SchedulesByCourseIdLoader`` reads), aggregated into one array per column so
the page keeps one row per course and asyncpg decodes every value natively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from sqlalchemy import ColumnElement, Integer, bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import LateralFromClause
from sqlalchemy.types import NullType

from core.db.session import execute_core
from core.models import Course, Schedule
from core.principal import Principal
from resolvers.catalog import CourseRecord, CourseSearch, Keyset, course_page_query
from resolvers.loaders import ScheduleRecord

# Marks the fast path's statements in the SQL text: visible in pg_stat_statements and the
# only way a test can tell which path answered without looking at timings.
FAST_PATH_MARK: Final = "/* catalog fast path */"

_COURSE_WIDTH: Final = len(CourseRecord.__slots__)  # the page's columns, sort_key last


class SchedulesWanted(NamedTuple):
    """The arguments of ``Course.schedules`` the selection asks for."""

    first: int
    only_with_seats: bool


@dataclass(slots=True)
class CourseWithSchedules:
    record: CourseRecord
    schedules: list[ScheduleRecord] = field(default_factory=list)


def _first_schedules(only_with_seats: bool) -> LateralFromClause:
    conditions: list[ColumnElement[bool]] = [Schedule.course_id == Course.id]
    if only_with_seats:
        conditions.append(Schedule.remaining > 0)
    wanted = (
        select(
            Schedule.id,
            Schedule.code,
            Schedule.course_id,
            Schedule.starts_at,
            Schedule.ends_at,
            Schedule.quota,
            Schedule.remaining,
        )
        .where(*conditions)
        .correlate(Course)  # the page's course: a FROM subquery does not correlate by itself
        .order_by(Schedule.starts_at, Schedule.id)
        .limit(bindparam("schedules_first", type_=Integer))
        .subquery("wanted_schedules")
    )
    in_order = (wanted.c.starts_at, wanted.c.id)
    # Untyped arrays: asyncpg's lists of decoded values are what ScheduleRecord takes, and
    # SQLAlchemy's ARRAY would only copy them item by item.
    return select(
        *(
            func.array_agg(aggregate_order_by(column, *in_order), type_=NullType())
            for column in wanted.c
        )
    ).lateral("first_schedules")


# Built once: they have no parameter of the request's but ``schedules_first``.
_FIRST_SCHEDULES: Final = {flag: _first_schedules(flag) for flag in (False, True)}


async def courses_with_schedules(
    session: AsyncSession,
    principal: Principal | None,
    search: CourseSearch,
    keyset: Keyset,
    limit: int,
    schedules: SchedulesWanted | None,
) -> list[CourseWithSchedules]:
    """``course_page``'s courses, each with its first schedules when asked for."""
    joined = None if schedules is None else _FIRST_SCHEDULES[schedules.only_with_seats]
    query, parameters = await course_page_query(
        session, principal, search, keyset, limit, joined=joined, comment=FAST_PATH_MARK
    )
    if schedules is not None:
        parameters["schedules_first"] = schedules.first
    result: Any = await execute_core(session, query, parameters)
    courses: list[CourseWithSchedules] = []
    for row in result:
        course = CourseWithSchedules(CourseRecord(*row[:_COURSE_WIDTH]))
        if schedules is not None and row[_COURSE_WIDTH] is not None:  # None: no schedule
            course.schedules = [
                ScheduleRecord(*values) for values in zip(*row[_COURSE_WIDTH:], strict=True)
            ]
        courses.append(course)
    return courses
