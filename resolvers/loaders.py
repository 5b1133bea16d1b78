"""Per-request data loaders: each relationship is fetched in one query per batch of keys.

A loader is made per request (``Loaders``), so nothing it caches outlives the request's
transaction. Catalog loaders read with SQLAlchemy Core into frozen records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import CourseListing, Partner, Province, Regency
from resolvers.batching import BatchLoader
from resolvers.catalog import CourseRecord, ScheduleRecord, courses_by_ids
from resolvers.catalog_sql import schedules_by_ids, schedules_of_courses
from resolvers.enrollment.loaders import AttendancesByPurchaseIdLoader
from resolvers.partners import PartnerRecord, partners_by_ids

__all__ = [  # ScheduleRecord lives in resolvers.catalog; kept importable from here
    "Loaders",
    "PartnerRecord",
    "PlatformRecord",
    "RegencyRecord",
    "ScheduleRecord",
    "SchedulesKey",
]


class SchedulesKey(NamedTuple):
    course_id: int
    first: int
    only_with_seats: bool


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


class PartnerByIdLoader(BatchLoader[int, PartnerRecord | None]):
    def __init__(self, session: AsyncSession) -> None:
        async def load(ids: Sequence[int]) -> list[PartnerRecord | None]:
            found = await partners_by_ids(session, sorted(set(ids)))
            by_id = {record.id: record for record in found}
            return [by_id.get(pk) for pk in ids]

        super().__init__(load)


class CourseByIdLoader(BatchLoader[int, CourseRecord | None]):
    """Courses by id with their provider, in any status (a purchase's course)."""

    def __init__(self, session: AsyncSession) -> None:
        async def load(ids: Sequence[int]) -> list[CourseRecord | None]:
            by_id = {
                record.id: record for record in await courses_by_ids(session, sorted(set(ids)))
            }
            return [by_id.get(pk) for pk in ids]

        super().__init__(load)


class ScheduleByIdLoader(BatchLoader[int, ScheduleRecord | None]):
    def __init__(self, session: AsyncSession) -> None:
        async def load(ids: Sequence[int]) -> list[ScheduleRecord | None]:
            found = await schedules_by_ids(session, sorted(set(ids)))
            by_id = {record.id: record for record in found}
            return [by_id.get(pk) for pk in ids]

        super().__init__(load)


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
                records = await schedules_of_courses(
                    session, sorted(course_ids), first, only_with_seats
                )
                for record in records:
                    found[SchedulesKey(record.course_id, first, only_with_seats)].append(record)
            return [found.get(key, []) for key in keys]

        super().__init__(load)


class RegencyByIdLoader(BatchLoader[int, RegencyRecord | None]):
    def __init__(self, session: AsyncSession) -> None:
        async def load(ids: Sequence[int]) -> list[RegencyRecord | None]:
            query = select(
                Regency.id,
                Regency.code,
                Regency.name,
                Province.code.label("province_code"),
                Province.name.label("province_name"),
            ).join_from(Regency, Province, Province.id == Regency.province_id)
            rows = await session.execute(query.where(Regency.id.in_(sorted(set(ids)))))
            by_id = {
                row.id: RegencyRecord(
                    id=row.id,
                    code=row.code,
                    name=row.name,
                    province_code=row.province_code,
                    province_name=row.province_name,
                )
                for row in rows
            }
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
                grouped[course_id].append(PlatformRecord(id=platform_id, code=code, name=name))
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
