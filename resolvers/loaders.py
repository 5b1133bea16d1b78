"""Per-request data loaders: each relationship is fetched in one query per batch of keys.

A loader is made per request (``Loaders``), so nothing it caches outlives the request's
transaction. Catalog loaders read with SQLAlchemy Core into frozen records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import NamedTuple

from sqlalchemy import BigInteger, Integer, TextClause, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import CourseListing, Partner, Province, Regency
from resolvers.batching import BatchLoader
from resolvers.enrollment.loaders import (
    AttendancesByPurchaseIdLoader,
    CourseByIdLoader,
    ScheduleByIdLoader,
)


class SchedulesKey(NamedTuple):
    course_id: int
    first: int
    only_with_seats: bool


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    id: int
    code: str
    course_id: int
    starts_at: datetime
    ends_at: datetime
    quota: int
    remaining: int


@dataclass(frozen=True, slots=True)
class RegencyRecord:
    id: int
    code: str
    name: str
    province_code: str
    province_name: str


@dataclass(frozen=True, slots=True)
class PlatformRecord:
    id: int
    code: str
    name: str


class PartnerByIdLoader(BatchLoader[int, Partner | None]):
    def __init__(self, session: AsyncSession) -> None:
        async def load(ids: Sequence[int]) -> list[Partner | None]:
            rows = await session.scalars(select(Partner).where(Partner.id.in_(ids)))
            by_id = {row.id: row for row in rows}
            return [by_id.get(pk) for pk in ids]

        super().__init__(load)


def _first_schedules(only_with_seats: bool) -> TextClause:
    # One index descent per course (ix_schedules_course_starts), LIMIT first: a course
    # with hundreds of schedules costs no more than one with three. The ids travel as one
    # array parameter, so every batch size shares one prepared statement.
    seats = "AND s.remaining > 0" if only_with_seats else ""
    return text(
        f"""
        SELECT s.id, s.code, s.course_id, s.starts_at, s.ends_at, s.quota, s.remaining
          FROM unnest(:course_ids) WITH ORDINALITY AS wanted(course_id, position)
          CROSS JOIN LATERAL (
                SELECT * FROM schedules s
                 WHERE s.course_id = wanted.course_id {seats}
                 ORDER BY s.starts_at, s.id
                 LIMIT :first) AS s
         ORDER BY wanted.position, s.starts_at, s.id
        """  # noqa: S608 - only the fixed clause above is interpolated
    ).bindparams(
        bindparam("course_ids", type_=ARRAY(BigInteger)), bindparam("first", type_=Integer)
    )


_FIRST_SCHEDULES = {flag: _first_schedules(flag) for flag in (False, True)}


class SchedulesByCourseIdLoader(BatchLoader[SchedulesKey, list[ScheduleRecord]]):
    """The first N schedules of each course by start date, in one query per batch."""

    def __init__(self, session: AsyncSession) -> None:
        async def load(keys: Sequence[SchedulesKey]) -> list[list[ScheduleRecord]]:
            found: dict[SchedulesKey, list[ScheduleRecord]] = defaultdict(list)
            # Keys with the same (first, only_with_seats) share one query.
            groups: dict[tuple[int, bool], set[int]] = defaultdict(set)
            for key in keys:
                groups[(key.first, key.only_with_seats)].add(key.course_id)
            for (first, only_with_seats), course_ids in groups.items():
                rows = await session.execute(
                    _FIRST_SCHEDULES[only_with_seats],
                    {"course_ids": sorted(course_ids), "first": first},
                )
                for row in rows:
                    record = ScheduleRecord(*row)
                    found[SchedulesKey(record.course_id, first, only_with_seats)].append(record)
            return [found.get(key, []) for key in keys]

        super().__init__(load)


class RegencyByIdLoader(BatchLoader[int, RegencyRecord | None]):
    def __init__(self, session: AsyncSession) -> None:
        async def load(ids: Sequence[int]) -> list[RegencyRecord | None]:
            query = select(
                Regency.id, Regency.code, Regency.name, Province.code, Province.name
            ).join_from(Regency, Province, Province.id == Regency.province_id)
            rows = await session.execute(query.where(Regency.id.in_(sorted(set(ids)))))
            by_id = {row[0]: RegencyRecord(*row) for row in rows}
            return [by_id.get(pk) for pk in ids]

        super().__init__(load)


class PlatformsByCourseIdLoader(BatchLoader[int, list[PlatformRecord]]):
    """The platforms that list each course, by platform code."""

    def __init__(self, session: AsyncSession) -> None:
        async def load(ids: Sequence[int]) -> list[list[PlatformRecord]]:
            query = (
                select(CourseListing.course_id, Partner.id, Partner.code, Partner.name)
                .join_from(CourseListing, Partner, Partner.id == CourseListing.platform_id)
                .where(CourseListing.course_id.in_(sorted(set(ids))))
                .order_by(CourseListing.course_id, Partner.code)
            )
            grouped: dict[int, list[PlatformRecord]] = defaultdict(list)
            for course_id, platform_id, code, name in await session.execute(query):
                grouped[course_id].append(PlatformRecord(platform_id, code, name))
            return [grouped.get(pk, []) for pk in ids]

        super().__init__(load)


class Loaders:
    """All loaders of one request; made by the context, dropped with it.

    Each loader is made when first used: most requests use none or one of them (the
    catalog fast path none), so none is built before it is needed."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @cached_property
    def partner_by_id(self) -> PartnerByIdLoader:
        return PartnerByIdLoader(self._session)

    @cached_property
    def schedules_by_course_id(self) -> SchedulesByCourseIdLoader:
        return SchedulesByCourseIdLoader(self._session)

    @cached_property
    def regency_by_id(self) -> RegencyByIdLoader:
        return RegencyByIdLoader(self._session)

    @cached_property
    def platforms_by_course_id(self) -> PlatformsByCourseIdLoader:
        return PlatformsByCourseIdLoader(self._session)

    @cached_property
    def course_by_id(self) -> CourseByIdLoader:
        return CourseByIdLoader(self._session)

    @cached_property
    def schedule_by_id(self) -> ScheduleByIdLoader:
        return ScheduleByIdLoader(self._session)

    @cached_property
    def attendances_by_purchase_id(self) -> AttendancesByPurchaseIdLoader:
        return AttendancesByPurchaseIdLoader(self._session)
