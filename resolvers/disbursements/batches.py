"""Batches: made from due installments, read by their payment partner, acknowledged by it.

A batch is made per payment partner from installments that are due and whose participant
has a verified primary account there, at most ``MAX_BATCH_ITEMS`` items; what is left waits
for the next run. Making batches twice at once is serialised by an advisory lock, and an
installment leaves the pool (``IN_BATCH``) in the statement that puts it into an item, so a
second run finds nothing to take twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import BigInteger, Select, any_, bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.db.session import execute_core
from core.enums import (
    BatchStatus,
    DisbursementItemStatus,
    EventType,
    InstallmentStatus,
    PartnerStatus,
    PartnerType,
)
from core.errors import ErrorCode, GatewayError
from core.models import DisbursementBatch, DisbursementItem, Partner
from core.principal import Principal
from resolvers.compiled_reads import (
    COMPILED_READ_MARK,
    CompiledReadRefused,
    CompiledRows,
    ReadPlan,
)
from resolvers.disbursements.due import ANNOUNCE_LIMIT, announce_due_installments
from resolvers.disbursements.records import (
    BatchRecord,
    ItemRecord,
    batch_record,
    batch_select,
    item_records,
    item_select,
)
from resolvers.events import record_event
from resolvers.tenancy import batch_event_audience, batches_owned_by, batches_visible_to

MAX_BATCH_ITEMS: Final = 10_000
MAX_ITEMS_PAGE: Final = 1_000
# Serialises batch making across processes (the scheduled command and the mutation).
_BATCH_LOCK: Final = 0xD15B_0010


@dataclass(frozen=True, kw_only=True)
class BatchFilter:
    status: BatchStatus | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None


def end_to_end_prefix(now: datetime) -> str:
    """``PRK`` + the day the item was made; the item's id follows (12 digits): 23 characters,
    within ISO 20022's 35, and never reused since ids are not."""
    return f"PRK{now:%Y%m%d}"


# One statement per partner: take the due installments (locked, skipping any another
# transaction holds), number the items, write the batch with its header, the items, and
# move the installments out of the pool.
_MAKE_ITEMS = text(
    """
    WITH picked AS MATERIALIZED (
        SELECT i.id AS installment_id, a.id AS account_id, i.amount
          FROM incentive_installments i
          JOIN payment_accounts a
            ON a.participant_id = i.participant_id AND a.is_primary
         WHERE i.status = :due AND i.due_at <= :now
           AND a.payment_partner_id = :partner_id AND a.verified_at IS NOT NULL
         ORDER BY i.due_at, i.id
         LIMIT :limit
           FOR UPDATE OF i SKIP LOCKED
    ), items AS (
        INSERT INTO disbursement_items
               (id, batch_id, installment_id, payment_account_id, end_to_end_id, amount, status)
        SELECT n.item_id, :batch_id, n.installment_id, n.account_id,
               :prefix || lpad(n.item_id::text, 12, '0'), n.amount, :pending
          FROM (SELECT p.*, nextval(pg_get_serial_sequence('disbursement_items', 'id'))
                       AS item_id
                  FROM picked p) n
        RETURNING installment_id, amount
    ), moved AS (
        UPDATE incentive_installments SET status = :in_batch
         WHERE id IN (SELECT installment_id FROM items)
    )
    SELECT count(*) AS item_count, CAST(coalesce(sum(amount), 0) AS bigint) AS control_sum
      FROM items
    """
).bindparams(bindparam("batch_id", type_=BigInteger))


async def create_batches(
    session: AsyncSession, actor: Actor | None, *, now: datetime, operator: str | None = None
) -> list[BatchRecord]:
    """One batch for each payment partner with due installments; none for the others."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _BATCH_LOCK})
    # An installment's installment.due comes before the batch.ready of the batch paying it.
    while await announce_due_installments(session, now=now) == ANNOUNCE_LIMIT:
        pass
    partners = (
        await session.execute(
            select(Partner.id, Partner.code)
            .where(
                Partner.type == PartnerType.PAYMENT_PARTNER,
                Partner.status == PartnerStatus.ACTIVE,
            )
            .order_by(Partner.code)
        )
    ).all()
    made: list[int] = []
    for partner in partners:
        serial = await session.scalar(
            select(func.count()).where(DisbursementBatch.payment_partner_id == partner.id)
        )
        batch = DisbursementBatch(
            code=f"BATCH-{partner.code}-{int(serial or 0) + 1:04d}",
            payment_partner_id=partner.id,
            item_count=0,
            control_sum=0,
            status=BatchStatus.READY,
        )
        session.add(batch)
        await session.flush()
        header = (
            await session.execute(
                _MAKE_ITEMS,
                {
                    "due": InstallmentStatus.DUE,
                    "in_batch": InstallmentStatus.IN_BATCH,
                    "pending": DisbursementItemStatus.PENDING,
                    "now": now,
                    "partner_id": partner.id,
                    "limit": MAX_BATCH_ITEMS,
                    "batch_id": batch.id,
                    "prefix": end_to_end_prefix(now),
                },
            )
        ).one()
        if header.item_count == 0:
            await session.delete(batch)
            await session.flush()
            continue
        batch.item_count = header.item_count
        batch.control_sum = header.control_sum
        await session.flush()
        made.append(batch.id)
        await record_audit(
            session,
            action="disbursement_batch.created",
            actor=actor,
            entity_type="disbursement_batch",
            entity_id=batch.id,
            after={
                "code": batch.code,
                "item_count": batch.item_count,
                "control_sum": str(batch.control_sum),
            },
            detail={"operator": operator} if operator else None,
        )
        await record_event(
            session,
            EventType.BATCH_READY,
            f"batch:{batch.code}",
            {
                "batchCode": batch.code,
                "status": BatchStatus.READY.value,
                "itemCount": batch.item_count,
                "controlSum": str(batch.control_sum),
            },
            batch_event_audience(partner.id),
        )
    if not made:
        return []
    rows = await execute_core(
        session, batch_select().where(DisbursementBatch.id.in_(made)).order_by(DisbursementBatch.id)
    )
    return [batch_record(row) for row in rows]


async def batches_page(
    session: AsyncSession,
    principal: Principal | None,
    *,
    filter: BatchFilter,
    after_id: int | None,
    limit: int,
) -> list[BatchRecord]:
    """Newest first."""
    statement = batch_select().where(batches_visible_to(principal))
    if filter.status is not None:
        statement = statement.where(DisbursementBatch.status == filter.status)
    if filter.created_from is not None:
        statement = statement.where(DisbursementBatch.created_at >= filter.created_from)
    if filter.created_before is not None:
        statement = statement.where(DisbursementBatch.created_at < filter.created_before)
    if after_id is not None:
        statement = statement.where(DisbursementBatch.id < after_id)
    statement = statement.order_by(DisbursementBatch.id.desc()).limit(limit)
    return [batch_record(row) for row in await execute_core(session, statement)]


async def batch_by_code(
    session: AsyncSession, principal: Principal | None, code: str
) -> BatchRecord:
    """The batch, if the caller may see it; another partner's batch is not found either."""
    row = (
        await execute_core(
            session,
            batch_select().where(DisbursementBatch.code == code, batches_visible_to(principal)),
        )
    ).one_or_none()
    if row is None:
        raise batch_not_found(code)
    return batch_record(row)


def batch_not_found(code: str) -> GatewayError:
    return GatewayError(
        ErrorCode.BATCH_NOT_FOUND,
        f"no disbursement batch {code!r} is addressed to you; list yours with disbursementBatches",
        batchCode=code,
    )


async def items_page(
    session: AsyncSession,
    principal: Principal | None,
    batch_id: int,
    *,
    after_id: int | None,
    limit: int,
) -> list[ItemRecord]:
    """A batch's items in id order (the caller checked it may see the batch)."""
    statement = items_page_statement(principal, batch_id, after_id=after_id, limit=limit)
    return item_records(await execute_core(session, statement))


async def compiled_items_page(
    session: AsyncSession,
    principal: Principal | None,
    batch_id: int,
    plan: ReadPlan,
    *,
    after_id: int | None,
    limit: int,
) -> CompiledRows:
    """``items_page`` for a compiled read (``schema.compiled``): the same statement, marked.
    An item has no related list to join, so a plan that names one is refused."""
    if plan.relations:
        raise CompiledReadRefused("relation", plan.relations[0].name)
    statement = items_page_statement(principal, batch_id, after_id=after_id, limit=limit)
    rows = await execute_core(session, statement.prefix_with(COMPILED_READ_MARK))
    return CompiledRows(item_records(rows))


def items_page_statement(
    principal: Principal | None, batch_id: int, *, after_id: int | None, limit: int
) -> Select[Any]:
    """The page's keys first, on their own: the next ``limit`` ids of the batch after
    ``after_id``, an index range of ``ix_disbursement_items_batch_id`` (batch_id, id) read
    in its order and cut by the LIMIT. Only those items are then fetched (by primary key)
    and joined to their batch, installment and account. Whatever the planner makes of a
    generic plan's parameters, a page never reads, joins or sorts the whole batch (the
    export reads its chunks the same way)."""
    keys = select(DisbursementItem.id).where(DisbursementItem.batch_id == batch_id)
    if after_id is not None:
        keys = keys.where(DisbursementItem.id > after_id)
    page = keys.order_by(DisbursementItem.batch_id, DisbursementItem.id).limit(limit)
    return (
        item_select(principal)
        .where(
            DisbursementItem.id == any_(func.array(page.scalar_subquery())),
            DisbursementItem.batch_id == batch_id,
            batches_visible_to(principal),
        )
        .order_by(DisbursementItem.id)
    )


async def items_by_id(
    session: AsyncSession, principal: Principal | None, ids: Sequence[int]
) -> dict[int, ItemRecord]:
    if not ids:
        return {}
    statement = item_select(principal).where(
        DisbursementItem.id.in_(list(ids)), batches_visible_to(principal)
    )
    return {record.id: record for record in item_records(await execute_core(session, statement))}


async def lock_owned_batch(
    session: AsyncSession, principal: Principal, code: str, *, lock: bool = True
) -> Any:
    """The caller's own batch (locked unless told not to); anyone else's is not found."""
    statement = select(
        DisbursementBatch.id,
        DisbursementBatch.code,
        DisbursementBatch.status,
        DisbursementBatch.item_count,
        DisbursementBatch.control_sum,
    ).where(DisbursementBatch.code == code, batches_owned_by(principal))
    if lock:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).one_or_none()
    if row is None:
        raise batch_not_found(code)
    return row


async def acknowledge_batch(
    session: AsyncSession,
    actor: Actor,
    code: str,
    *,
    item_count: int,
    control_sum: int,
    now: datetime,
) -> BatchRecord:
    """The partner echoes the header; on a match the items are SENT. Acknowledging again
    with the same header changes nothing; a mismatch acknowledges nothing."""
    batch = await lock_owned_batch(session, actor.principal, code)
    if (item_count, control_sum) != (batch.item_count, batch.control_sum):
        raise GatewayError(
            ErrorCode.BATCH_HEADER_MISMATCH,
            "itemCount and controlSum must echo the batch header exactly; fetch the batch "
            "again and compare its items with its header",
            itemCount=batch.item_count,
            controlSum=str(batch.control_sum),
        )
    if batch.status == BatchStatus.READY:
        await session.execute(
            update(DisbursementBatch)
            .where(DisbursementBatch.id == batch.id)
            .values(status=BatchStatus.ACKNOWLEDGED, acknowledged_at=now)
        )
        await session.execute(
            update(DisbursementItem)
            .where(
                DisbursementItem.batch_id == batch.id,
                DisbursementItem.status == DisbursementItemStatus.PENDING,
            )
            .values(status=DisbursementItemStatus.SENT)
        )
        await record_audit(
            session,
            action="disbursement_batch.acknowledged",
            actor=actor,
            entity_type="disbursement_batch",
            entity_id=batch.id,
            before={"status": BatchStatus.READY.value},
            after={"status": BatchStatus.ACKNOWLEDGED.value},
        )
        await record_event(
            session,
            EventType.BATCH_ACKNOWLEDGED,
            f"batch:{batch.code}",
            {"batchCode": batch.code, "status": BatchStatus.ACKNOWLEDGED.value},
            # the batch is the caller's own (lock_owned_batch)
            batch_event_audience(actor.partner_id),
        )
    return await batch_by_code(session, actor.principal, code)
