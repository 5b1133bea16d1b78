"""Data loaders of the enrollment graph: a purchase's attendance (its course and schedule
come from the catalog's loaders in ``resolvers.loaders``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Attendance
from resolvers.batching import BatchLoader
from resolvers.enrollment.records import AttendanceRecord


class AttendancesByPurchaseIdLoader(BatchLoader[int, list[AttendanceRecord]]):
    def __init__(self, session: AsyncSession) -> None:
        async def load(ids: Sequence[int]) -> list[list[AttendanceRecord]]:
            rows = await session.scalars(
                select(Attendance)
                .where(Attendance.purchase_id.in_(ids))
                .order_by(Attendance.purchase_id, Attendance.sequence)
            )
            grouped: dict[int, list[AttendanceRecord]] = defaultdict(list)
            for row in rows:
                grouped[row.purchase_id].append(AttendanceRecord.of(row))
            return [grouped.get(pk, []) for pk in ids]

        super().__init__(load)
