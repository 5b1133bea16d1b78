"""Reading purchases, always through the tenancy rule."""

from __future__ import annotations

from sqlalchemy import (
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor
from core.enums import (
    PurchaseStatus,
)
from core.errors import ErrorCode, GatewayError
from core.models import (
    Course,
    Partner,
    Purchase,
)
from resolvers.enrollment.records import PurchaseRecord
from resolvers.tenancy import purchases_visible_to


async def purchase_by_invoice(
    session: AsyncSession, actor: Actor, invoice_code: str, platform_code: str | None = None
) -> PurchaseRecord:
    """Invoice codes are unique per platform only: a caller who sees several platforms'
    sales (programme management, a provider) names the platform, or is told to."""
    query = select(Purchase).where(
        Purchase.invoice_code == invoice_code, purchases_visible_to(actor.principal)
    )
    if platform_code is not None:
        query = query.where(
            Purchase.platform_id.in_(select(Partner.id).where(Partner.code == platform_code))
        )
    found = list((await session.scalars(query.order_by(Purchase.id).limit(2))).all())
    if not found:
        raise GatewayError(
            ErrorCode.TRANSACTION_NOT_FOUND, f"no purchase with invoice {invoice_code!r}"
        )
    if len(found) > 1:
        raise GatewayError(
            ErrorCode.BAD_USER_INPUT,
            f"invoice {invoice_code!r} was used by more than one platform: "
            "pass platformCode to say whose",
            field="platformCode",
        )
    return PurchaseRecord.of(found[0])


async def enrollments_page(
    session: AsyncSession,
    actor: Actor,
    *,
    after_id: int | None,
    limit: int,
    course_code: str | None,
) -> list[PurchaseRecord]:
    """Authorized purchases the caller may see (its sales, or its courses' students)."""
    query = select(Purchase).where(
        Purchase.status.in_((PurchaseStatus.SUCCESS, PurchaseStatus.VOIDED)),
        purchases_visible_to(actor.principal),
    )
    if course_code is not None:
        query = query.join(Course, Course.id == Purchase.course_id).where(
            Course.code == course_code
        )
    if after_id is not None:
        query = query.where(Purchase.id > after_id)
    rows = await session.scalars(query.order_by(Purchase.id).limit(limit))
    return [PurchaseRecord.of(row) for row in rows]


async def purchase_by_id(session: AsyncSession, purchase_id: int) -> PurchaseRecord:
    return PurchaseRecord.of(await session.get_one(Purchase, purchase_id))
