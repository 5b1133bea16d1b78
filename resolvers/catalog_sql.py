"""The catalog fast path's statement: a page of courses and their first schedules at once.

``schema.fast_path`` answers the ``courses`` field from this one statement instead of the
page statement plus one schedules statement per batch (``resolvers.loaders``). The page is
the very statement ``resolvers.catalog.course_page_query`` builds, wrapped as a subquery:
visibility, filters, order and keyset are not restated here. Each course's schedules come
from a LATERAL descent of ``ix_schedules_course_starts`` cut at ``first``, the same rows
``SchedulesByCourseIdLoader`` reads, one row per (course, schedule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Schedule
from resolvers.catalog import CourseRecord, PageQuery
from resolvers.loaders import ScheduleRecord

# Marks the fast path's statements in the SQL text: visible in pg_stat_statements and the
# only way a test can tell which path answered without looking at timings.
FAST_PATH_MARK: Final = "/* catalog fast path */"

_COURSE_WIDTH: Final = len(CourseRecord.__slots__)  # the page's columns, sort_key last
_SCHEDULE_COLUMNS: Final = (
    Schedule.id,
    Schedule.code,
    Schedule.course_id,
    Schedule.starts_at,
    Schedule.ends_at,
    Schedule.quota,
    Schedule.remaining,
)


class SchedulesWanted(NamedTuple):
    """The arguments of ``Course.schedules`` the selection asks for."""

    first: int
    only_with_seats: bool


@dataclass(slots=True)
class CourseWithSchedules:
    record: CourseRecord
    schedules: list[ScheduleRecord] = field(default_factory=list)


async def courses_with_schedules(
    session: AsyncSession, page: PageQuery, schedules: SchedulesWanted | None
) -> list[CourseWithSchedules]:
    """The page's courses in its order, each with its first schedules when asked for."""
    if schedules is None:
        result = await session.execute(page.select.prefix_with(FAST_PATH_MARK))
        return [CourseWithSchedules(CourseRecord(*row)) for row in result]
    paged = page.select.subquery("page")
    conditions: list[ColumnElement[bool]] = [Schedule.course_id == paged.c.id]
    if schedules.only_with_seats:
        conditions.append(Schedule.remaining > 0)
    first = (
        select(*_SCHEDULE_COLUMNS)
        .where(*conditions)
        .order_by(Schedule.starts_at, Schedule.id)
        .limit(schedules.first)
        .lateral("first_schedules")
    )
    # A join does not keep the subquery's order: order again by the page's own key.
    sort_key: Any = paged.c.sort_key
    query = (
        select(paged, first)
        .outerjoin_from(paged, first, true())
        .order_by(
            sort_key.desc() if page.descending else sort_key.asc(),
            paged.c.id,
            first.c.starts_at,
            first.c.id,
        )
        .prefix_with(FAST_PATH_MARK)
    )
    courses: list[CourseWithSchedules] = []
    current: CourseWithSchedules | None = None
    for row in await session.execute(query):
        if current is None or current.record.id != row[0]:
            current = CourseWithSchedules(CourseRecord(*row[:_COURSE_WIDTH]))
            courses.append(current)
        if row[_COURSE_WIDTH] is not None:  # the outer join's empty side: no schedule
            current.schedules.append(ScheduleRecord(*row[_COURSE_WIDTH:]))
    return courses
