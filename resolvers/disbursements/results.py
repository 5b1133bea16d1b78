"""Result reports of a payment partner: per item, idempotent, harmless out of order.

Each call locks its items (one statement, in id order), decides every result in Python
against the item's status and the reports it already received, writes the accepted ones
with three set-based statements inside a savepoint, and finally locks the batch and sets
its status from its items. Item locks are taken before the batch lock and always in id
order, so concurrent reporters on one batch neither deadlock nor lose an update: the last
one to take the batch lock sees every other's committed items.

Should the database refuse the set-based write (a constraint no check here foresaw), it is
undone and every accepted result is written again in a savepoint of its own, so only the
refused items fail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import exists, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.enums import (
    BatchStatus,
    DisbursementItemStatus,
    DisbursementResult,
    EventType,
    InstallmentStatus,
    ReportOutcome,
)
from core.errors import ErrorCode, GatewayError
from core.models import DisbursementBatch, DisbursementItem, DisbursementReport
from resolvers.disbursements.batches import items_by_id, lock_owned_batch
from resolvers.disbursements.records import ResultOutcomeRecord, UserErrorRecord
from resolvers.events import record_event
from resolvers.tenancy import batch_event_audience

MAX_RESULTS_PER_CALL: Final = 1_000

# The item statuses that still wait for a result; a batch without any is COMPLETED.
OPEN_ITEM_STATUSES: Final = (DisbursementItemStatus.SENT, DisbursementItemStatus.UNKNOWN)

# Which reported status may change an item in which status (see core.enums).
_MAY_APPLY: Final[dict[DisbursementResult, frozenset[DisbursementItemStatus]]] = {
    DisbursementResult.PAID: frozenset(OPEN_ITEM_STATUSES),
    DisbursementResult.FAILED: frozenset(OPEN_ITEM_STATUSES),
    DisbursementResult.UNKNOWN: frozenset({DisbursementItemStatus.SENT}),
    # A reversal may overtake the payment it undoes: taken from an open item too.
    DisbursementResult.REVERSED: frozenset({*OPEN_ITEM_STATUSES, DisbursementItemStatus.PAID}),
}
# Where each result leaves the installment: paid, back in the pool, or blocked in its item.
_INSTALLMENT_AFTER: Final[dict[DisbursementResult, InstallmentStatus]] = {
    DisbursementResult.PAID: InstallmentStatus.PAID,
    DisbursementResult.FAILED: InstallmentStatus.DUE,
    DisbursementResult.REVERSED: InstallmentStatus.DUE,
    DisbursementResult.UNKNOWN: InstallmentStatus.IN_BATCH,
}


@dataclass(frozen=True, kw_only=True)
class ReportedResult:
    end_to_end_id: str
    status: DisbursementResult
    reason_code: str | None
    partner_reference: str | None
    reported_at: datetime


@dataclass(frozen=True, kw_only=True)
class _Accepted:
    position: int
    item_id: int
    installment_id: int
    result: ReportedResult
    applied: bool  # False: kept as history only (STALE)


def _error(code: ErrorCode, message: str, field: str | None = None) -> tuple[UserErrorRecord]:
    return (UserErrorRecord(code=code, message=message, field=field),)


def _decide(
    result: ReportedResult, status: DisbursementItemStatus, earlier: Any | None
) -> ReportOutcome | tuple[UserErrorRecord]:
    """What one result does to an item in ``status`` that received ``earlier`` (the report
    of the same status it got before, if any)."""
    if result.status is DisbursementResult.PAID and status is DisbursementItemStatus.REVERSED:
        return _error(
            ErrorCode.ALREADY_REVERSED,
            "this item was reversed: it is not paid, and its installment is paid again in a "
            "later batch under a new end-to-end id",
        )
    if earlier is not None:
        same = (earlier.reason_code, earlier.partner_reference) == (
            result.reason_code,
            result.partner_reference,
        )
        if same:
            return ReportOutcome.DUPLICATE
        return _error(
            ErrorCode.RESULT_CONFLICT,
            f"this item was already reported {result.status.value} with another reason code "
            "or partner reference; a result is reported once",
        )
    if status in _MAY_APPLY[result.status]:
        return ReportOutcome.APPLIED
    if result.status is DisbursementResult.UNKNOWN:
        return ReportOutcome.STALE  # the definite result overtook it: nothing to undo
    if result.status is DisbursementResult.REVERSED:
        return _error(
            ErrorCode.NOT_PAID, f"only a paid item can be reversed; this one is {status.value}"
        )
    return _error(
        ErrorCode.ITEM_ALREADY_FINAL,
        f"this item is {status.value}: only a paid item changes again (when reversed)",
    )


_REASON_CODE: Final = re.compile(r"^[A-Z0-9_]{1,16}\Z")
_REFERENCE: Final = re.compile(r"^[\x21-\x7e]{1,64}\Z")  # printable ASCII, no spaces


def _check(result: ReportedResult) -> tuple[UserErrorRecord] | None:
    if not 1 <= len(result.end_to_end_id) <= 35:
        return _error(ErrorCode.BAD_USER_INPUT, "endToEndId is 1 to 35 characters", "endToEndId")
    if result.status is DisbursementResult.FAILED and not result.reason_code:
        return _error(
            ErrorCode.REASON_CODE_REQUIRED, "a FAILED result needs a reasonCode", "reasonCode"
        )
    if result.reason_code is not None and not _REASON_CODE.match(result.reason_code):
        return _error(
            ErrorCode.BAD_USER_INPUT,
            "reasonCode is 1 to 16 capital letters, digits or _",
            "reasonCode",
        )
    if result.partner_reference is not None and not _REFERENCE.match(result.partner_reference):
        return _error(
            ErrorCode.BAD_USER_INPUT,
            "partnerReference is 1 to 64 printable characters without spaces",
            "partnerReference",
        )
    if result.reported_at.tzinfo is None:
        return _error(ErrorCode.BAD_USER_INPUT, "reportedAt needs a time zone offset", "reportedAt")
    return None


async def report_results(
    session: AsyncSession,
    actor: Actor,
    code: str,
    results: Sequence[ReportedResult],
    *,
    now: datetime,
    with_items: bool = True,
) -> list[ResultOutcomeRecord]:
    """Each result's outcome in input order; ``with_items=False`` leaves out the items as
    they now are (a caller that does not show them saves reading 1,000 of them)."""
    if not 1 <= len(results) <= MAX_RESULTS_PER_CALL:
        raise GatewayError(
            ErrorCode.TOO_MANY_RESULTS,
            f"report 1 to {MAX_RESULTS_PER_CALL} results per call",
            maximum=MAX_RESULTS_PER_CALL,
        )
    batch = await _owned_acknowledged_batch(session, actor, code)

    errors: dict[int, tuple[UserErrorRecord, ...]] = {}
    seen: set[str] = set()
    for position, result in enumerate(results):
        refusal = _check(result)
        if refusal is None and result.end_to_end_id in seen:
            refusal = _error(
                ErrorCode.DUPLICATE_ITEM_IN_CALL,
                "this end-to-end id appears earlier in this call: one result per item a call",
                "endToEndId",
            )
        seen.add(result.end_to_end_id)
        if refusal is not None:
            errors[position] = refusal

    items = {
        row.end_to_end_id: row
        for row in await session.execute(
            select(
                DisbursementItem.id,
                DisbursementItem.end_to_end_id,
                DisbursementItem.status,
                DisbursementItem.installment_id,
            )
            .where(
                DisbursementItem.batch_id == batch.id,
                DisbursementItem.end_to_end_id.in_(sorted(seen)),
            )
            .order_by(DisbursementItem.id)
            .with_for_update()
        )
    }
    earlier = {
        (row.item_id, row.status): row
        for row in await session.execute(
            select(
                DisbursementReport.item_id,
                DisbursementReport.status,
                DisbursementReport.reason_code,
                DisbursementReport.partner_reference,
            ).where(DisbursementReport.item_id.in_([item.id for item in items.values()]))
        )
    }

    outcomes: dict[int, ReportOutcome] = {}
    accepted: list[_Accepted] = []
    for position, result in enumerate(results):
        if position in errors:
            continue
        item = items.get(result.end_to_end_id)
        if item is None:
            errors[position] = _error(
                ErrorCode.ITEM_NOT_FOUND,
                f"batch {code} has no item {result.end_to_end_id!r}",
                "endToEndId",
            )
            continue
        decided = _decide(result, item.status, earlier.get((item.id, result.status)))
        if isinstance(decided, tuple):
            errors[position] = decided
            continue
        outcomes[position] = decided
        if decided is not ReportOutcome.DUPLICATE:
            accepted.append(
                _Accepted(
                    position=position,
                    item_id=item.id,
                    installment_id=item.installment_id,
                    result=result,
                    applied=decided is ReportOutcome.APPLIED,
                )
            )

    # Every decision above was taken on rows locked for this transaction and mirrors the
    # database's rules (0006's state machine, one live item per installment, one report per
    # item and status), so the database refuses none of these writes: a refusal would be a
    # bug, and it refuses the whole call (its savepoint) rather than half of it.
    if accepted:
        await _write(session, actor, accepted)
    await _settle_batch(
        session,
        batch.id,
        applied=any(outcome is ReportOutcome.APPLIED for outcome in outcomes.values()),
        now=now,
    )
    await record_audit(
        session,
        action="disbursement_results.reported",
        actor=actor,
        entity_type="disbursement_batch",
        entity_id=batch.id,
        detail={
            "results": len(results),
            "applied": sum(1 for o in outcomes.values() if o is ReportOutcome.APPLIED),
            "duplicates": sum(1 for o in outcomes.values() if o is ReportOutcome.DUPLICATE),
            "refused": len(errors),
        },
    )

    shown = (
        await items_by_id(
            session,
            actor.principal,
            [items[results[position].end_to_end_id].id for position in outcomes],
        )
        if with_items
        else {}
    )
    answers = []
    for position, result in enumerate(results):
        if position in outcomes:
            answers.append(
                ResultOutcomeRecord(
                    end_to_end_id=result.end_to_end_id,
                    outcome=outcomes[position],
                    item=shown.get(items[result.end_to_end_id].id),
                    errors=(),
                )
            )
        else:
            answers.append(
                ResultOutcomeRecord(
                    end_to_end_id=result.end_to_end_id,
                    outcome=None,
                    item=None,
                    errors=errors[position],
                )
            )
    return answers


async def _owned_acknowledged_batch(session: AsyncSession, actor: Actor, code: str) -> Any:
    """The caller's batch, once acknowledged. Its row lock is taken only at the end
    (``_settle_batch``), so reporters of one batch write their items concurrently."""
    row = await lock_owned_batch(session, actor.principal, code, lock=False)
    if row.status == BatchStatus.READY:
        raise GatewayError(
            ErrorCode.BATCH_NOT_ACKNOWLEDGED,
            "acknowledge the batch (echoing its header) before reporting results",
        )
    return row


# Statuses arrive as bound parameters (the enums' values), never as literals in the text.
_ITEMS_UPDATE = text(
    """
    UPDATE disbursement_items AS d
       SET status = v.status, reason_code = v.reason_code,
           partner_reference = v.partner_reference, reported_at = v.reported_at
      FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:reasons AS text[]),
                  CAST(:references AS text[]), CAST(:times AS timestamptz[]))
           AS v(id, status, reason_code, partner_reference, reported_at)
     WHERE d.id = v.id
    """
)
_INSTALLMENTS_UPDATE = text(
    "UPDATE incentive_installments SET status = :status WHERE id = ANY(CAST(:ids AS bigint[]))"
)
_REPORTS_INSERT = text(
    """
    INSERT INTO disbursement_reports
           (item_id, status, reason_code, partner_reference, reported_at, applied, client_id)
    SELECT v.item_id, v.status, v.reason_code, v.partner_reference, v.reported_at, v.applied,
           :client_id
      FROM unnest(CAST(:item_ids AS bigint[]), CAST(:statuses AS text[]),
                  CAST(:reasons AS text[]), CAST(:references AS text[]),
                  CAST(:times AS timestamptz[]), CAST(:applied AS boolean[]))
           AS v(item_id, status, reason_code, partner_reference, reported_at, applied)
    """
)


async def _write(session: AsyncSession, actor: Actor, accepted: Sequence[_Accepted]) -> None:
    applied = [one for one in accepted if one.applied]
    if applied:
        await session.execute(
            _ITEMS_UPDATE,
            {
                "ids": [one.item_id for one in applied],
                "statuses": [one.result.status.value for one in applied],
                "reasons": [one.result.reason_code for one in applied],
                "references": [one.result.partner_reference for one in applied],
                "times": [one.result.reported_at for one in applied],
            },
        )
        for status in (InstallmentStatus.PAID, InstallmentStatus.DUE):
            ids = [
                one.installment_id
                for one in applied
                if _INSTALLMENT_AFTER[one.result.status] is status
            ]
            if ids:
                await session.execute(_INSTALLMENTS_UPDATE, {"status": status.value, "ids": ids})
    await session.execute(
        _REPORTS_INSERT,
        {
            "item_ids": [one.item_id for one in accepted],
            "statuses": [one.result.status.value for one in accepted],
            "reasons": [one.result.reason_code for one in accepted],
            "references": [one.result.partner_reference for one in accepted],
            "times": [one.result.reported_at for one in accepted],
            "applied": [one.applied for one in accepted],
            "client_id": actor.client_id,
        },
    )


async def _settle_batch(
    session: AsyncSession, batch_id: int, *, applied: bool, now: datetime
) -> None:
    """Locks the batch, then sets its status from its items as committed so far: COMPLETED
    once no item is open, PARTIAL once any has a result. Both are told without counting
    the batch: whether an open item is left comes from the partial index of open items
    (migration 0008), and a batch has a result once this call applied one or its status
    already says so (every call that applies one settles before it commits)."""
    current = await session.scalar(
        select(DisbursementBatch.status).where(DisbursementBatch.id == batch_id).with_for_update()
    )
    open_left = await session.scalar(
        select(
            exists().where(
                DisbursementItem.batch_id == batch_id,
                # Inlined (from the enum) so the planner matches the partial index.
                DisbursementItem.status.in_(
                    [literal(status.value, literal_execute=True) for status in OPEN_ITEM_STATUSES]
                ),
            )
        )
    )
    if not open_left:
        status = BatchStatus.COMPLETED
    elif applied or current != BatchStatus.ACKNOWLEDGED or await _any_reported(session, batch_id):
        status = BatchStatus.PARTIAL
    else:
        status = BatchStatus.ACKNOWLEDGED
    if status != current:
        await session.execute(
            update(DisbursementBatch)
            .where(DisbursementBatch.id == batch_id)
            .values(
                status=status,
                completed_at=now if status is BatchStatus.COMPLETED else None,
            )
        )
        if status is BatchStatus.COMPLETED:
            batch = (
                await session.execute(
                    select(DisbursementBatch.code, DisbursementBatch.payment_partner_id).where(
                        DisbursementBatch.id == batch_id
                    )
                )
            ).one()
            await record_event(
                session,
                EventType.BATCH_COMPLETED,
                f"batch:{batch.code}",
                {"batchCode": batch.code, "status": status.value, "completedAt": now.isoformat()},
                batch_event_audience(batch.payment_partner_id),
            )


async def _any_reported(session: AsyncSession, batch_id: int) -> bool:
    """Asked only of an ACKNOWLEDGED batch by a call that applied nothing."""
    return bool(
        await session.scalar(
            select(
                exists().where(
                    DisbursementItem.batch_id == batch_id,
                    DisbursementItem.status != DisbursementItemStatus.SENT,
                )
            )
        )
    )
