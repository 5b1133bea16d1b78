"""Per-request data loaders: each relationship is fetched in one query per batch of keys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from gateway.db.models import Partner, Schedule


class SchedulesKey(NamedTuple):
    course_id: int
    first: int
    only_with_seats: bool


class PartnerByIdLoader(DataLoader[int, Partner | None]):
    def __init__(self, session: AsyncSession) -> None:
        async def load(ids: Sequence[int]) -> list[Partner | None]:
            rows = await session.scalars(select(Partner).where(Partner.id.in_(ids)))
            by_id = {row.id: row for row in rows}
            return [by_id.get(pk) for pk in ids]

        super().__init__(load_fn=load)


class SchedulesByCourseIdLoader(DataLoader[SchedulesKey, list[Schedule]]):
    """The first N schedules of each course by start date, in one windowed query per batch."""

    def __init__(self, session: AsyncSession) -> None:
        async def load(keys: Sequence[SchedulesKey]) -> list[list[Schedule]]:
            found: dict[SchedulesKey, list[Schedule]] = defaultdict(list)
            # Keys with the same (first, only_with_seats) share one query.
            groups: dict[tuple[int, bool], list[int]] = defaultdict(list)
            for key in keys:
                groups[(key.first, key.only_with_seats)].append(key.course_id)
            for (first, only_with_seats), course_ids in groups.items():
                position = (
                    func.row_number()
                    .over(
                        partition_by=Schedule.course_id,
                        order_by=(Schedule.starts_at, Schedule.id),
                    )
                    .label("position")
                )
                ranked = select(Schedule, position).where(Schedule.course_id.in_(course_ids))
                if only_with_seats:
                    ranked = ranked.where(Schedule.remaining > 0)
                inner = ranked.subquery()
                query = select(Schedule).from_statement(
                    select(inner)
                    .where(inner.c.position <= first)
                    .order_by(inner.c.course_id, inner.c.position)
                )
                for schedule in await session.scalars(query):
                    found[SchedulesKey(schedule.course_id, first, only_with_seats)].append(schedule)
            return [found.get(key, []) for key in keys]

        super().__init__(load_fn=load)


class Loaders:
    """All loaders of one request; made lazily by the context, dropped with it."""

    def __init__(self, session: AsyncSession) -> None:
        self.partner_by_id = PartnerByIdLoader(session)
        self.schedules_by_course_id = SchedulesByCourseIdLoader(session)
