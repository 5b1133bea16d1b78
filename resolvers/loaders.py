"""Per-request data loaders: each relationship is fetched in one query per batch of keys.

A loader is made per request (``Loaders``), so nothing it caches outlives the request's
transaction. Catalog loaders read with SQLAlchemy Core into frozen records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from gateway.db.models import CourseListing, Partner, Province, Regency, Schedule
from resolvers.enrollment_loaders import (
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


class PartnerByIdLoader(DataLoader[int, Partner | None]):
    def __init__(self, session: AsyncSession) -> None:
        async def load(ids: Sequence[int]) -> list[Partner | None]:
            rows = await session.scalars(select(Partner).where(Partner.id.in_(ids)))
            by_id = {row.id: row for row in rows}
            return [by_id.get(pk) for pk in ids]

        super().__init__(load_fn=load)


_SCHEDULE_COLUMNS = (
    Schedule.id,
    Schedule.code,
    Schedule.course_id,
    Schedule.starts_at,
    Schedule.ends_at,
    Schedule.quota,
    Schedule.remaining,
)


class SchedulesByCourseIdLoader(DataLoader[SchedulesKey, list[ScheduleRecord]]):
    """The first N schedules of each course by start date, in one windowed query per batch."""

    def __init__(self, session: AsyncSession) -> None:
        async def load(keys: Sequence[SchedulesKey]) -> list[list[ScheduleRecord]]:
            found: dict[SchedulesKey, list[ScheduleRecord]] = defaultdict(list)
            # Keys with the same (first, only_with_seats) share one query.
            groups: dict[tuple[int, bool], set[int]] = defaultdict(set)
            for key in keys:
                groups[(key.first, key.only_with_seats)].add(key.course_id)
            for (first, only_with_seats), course_ids in groups.items():
                position = (
                    func.row_number()
                    .over(
                        partition_by=Schedule.course_id,
                        order_by=(Schedule.starts_at, Schedule.id),
                    )
                    .label("position")
                )
                ranked = select(*_SCHEDULE_COLUMNS, position).where(
                    Schedule.course_id.in_(sorted(course_ids))
                )
                if only_with_seats:
                    ranked = ranked.where(Schedule.remaining > 0)
                inner = ranked.subquery()
                query = (
                    select(*(inner.c[column.key] for column in _SCHEDULE_COLUMNS))
                    .where(inner.c.position <= first)
                    .order_by(inner.c.course_id, inner.c.position)
                )
                for row in await session.execute(query):
                    record = ScheduleRecord(*row)
                    found[SchedulesKey(record.course_id, first, only_with_seats)].append(record)
            return [found.get(key, []) for key in keys]

        super().__init__(load_fn=load)


class RegencyByIdLoader(DataLoader[int, RegencyRecord | None]):
    def __init__(self, session: AsyncSession) -> None:
        async def load(ids: Sequence[int]) -> list[RegencyRecord | None]:
            query = select(
                Regency.id, Regency.code, Regency.name, Province.code, Province.name
            ).join_from(Regency, Province, Province.id == Regency.province_id)
            rows = await session.execute(query.where(Regency.id.in_(sorted(set(ids)))))
            by_id = {row[0]: RegencyRecord(*row) for row in rows}
            return [by_id.get(pk) for pk in ids]

        super().__init__(load_fn=load)


class PlatformsByCourseIdLoader(DataLoader[int, list[PlatformRecord]]):
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

        super().__init__(load_fn=load)


class Loaders:
    """All loaders of one request; made by the context, dropped with it."""

    def __init__(self, session: AsyncSession) -> None:
        self.partner_by_id = PartnerByIdLoader(session)
        self.schedules_by_course_id = SchedulesByCourseIdLoader(session)
        self.regency_by_id = RegencyByIdLoader(session)
        self.platforms_by_course_id = PlatformsByCourseIdLoader(session)
        self.course_by_id = CourseByIdLoader(session)
        self.schedule_by_id = ScheduleByIdLoader(session)
        self.attendances_by_purchase_id = AttendancesByPurchaseIdLoader(session)
