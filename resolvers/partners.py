"""Reads of partners themselves (not of their business rows)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Partner


async def partner_by_id(session: AsyncSession, partner_id: int) -> Partner | None:
    partner: Partner | None = await session.get(Partner, partner_id)
    return partner
