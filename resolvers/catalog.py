"""Catalog reads: courses by keyset page, one course by code."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Course
from gateway.db.models.enums import CourseStatus


async def approved_courses_page(
    session: AsyncSession, *, after_id: int | None, limit: int
) -> Sequence[Course]:
    """Up to ``limit`` approved courses after ``after_id``, by id (a stable keyset order)."""
    query = select(Course).where(Course.status == CourseStatus.APPROVED)
    if after_id is not None:
        query = query.where(Course.id > after_id)
    result = await session.scalars(query.order_by(Course.id).limit(limit))
    return result.all()


async def course_by_code(session: AsyncSession, code: str) -> Course | None:
    return await session.scalar(select(Course).where(Course.code == code))
