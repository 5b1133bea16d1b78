"""What the enrollment resolvers hand the schema: frozen records, built by column name.

A record is built from either an ORM entity or a Core row of the same table (both answer
attribute access by column name), so no caller depends on a column's position.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.enums import PurchaseStatus


@dataclass(frozen=True, slots=True)
class PurchaseRecord:
    id: int
    course_id: int
    schedule_id: int
    invoice_code: str
    invoice_url: str | None
    transaction_code: str | None
    redeem_code: str | None
    amount: int
    status: PurchaseStatus
    platform_user_id: str
    created_at: datetime
    authorized_at: datetime | None
    voided_at: datetime | None
    redeemed_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> PurchaseRecord:
        """From a ``Purchase`` entity or a row with the ``purchases`` columns by name."""
        return cls(
            id=row.id,
            course_id=row.course_id,
            schedule_id=row.schedule_id,
            invoice_code=row.invoice_code,
            invoice_url=row.invoice_url,
            transaction_code=row.transaction_code,
            redeem_code=row.redeem_code,
            amount=row.amount,
            status=PurchaseStatus(row.status),
            platform_user_id=row.platform_user_id,
            created_at=row.created_at,
            authorized_at=row.authorized_at,
            voided_at=row.voided_at,
            redeemed_at=row.redeemed_at,
        )


@dataclass(frozen=True, slots=True)
class AttendanceRecord:
    purchase_id: int
    sequence: int
    score: int | None
    attended_at: datetime

    @classmethod
    def of(cls, row: Any) -> AttendanceRecord:
        return cls(
            purchase_id=row.purchase_id,
            sequence=row.sequence,
            score=row.score,
            attended_at=row.attended_at,
        )
