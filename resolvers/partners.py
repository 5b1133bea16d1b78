"""Reads of partners themselves (not of their business rows)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import PartnerStatus, PartnerType
from core.models import Partner


@dataclass(frozen=True, slots=True)
class PartnerRecord:
    id: int
    code: str
    name: str
    type: PartnerType
    status: PartnerStatus


_COLUMNS = (Partner.id, Partner.code, Partner.name, Partner.type, Partner.status)


def _record(row: Row[Any] | Any) -> PartnerRecord:
    return PartnerRecord(id=row.id, code=row.code, name=row.name, type=row.type, status=row.status)


async def partners_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[PartnerRecord]:
    rows = await session.execute(select(*_COLUMNS).where(Partner.id.in_(ids)))
    return [_record(row) for row in rows]


async def partner_by_id(session: AsyncSession, partner_id: int) -> PartnerRecord | None:
    found = await partners_by_ids(session, [partner_id])
    return found[0] if found else None
