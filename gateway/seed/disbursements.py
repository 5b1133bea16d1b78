"""Disbursement batches that paid the first training incentive of part of the completers.

Programme management batched what had fallen due every two weeks, one batch per payment
partner; each partner paid every item, so every batch is complete and every item PAID,
each with the one report that said so.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Final

from core.enums import BatchStatus, DisbursementItemStatus, DisbursementResult
from gateway.seed import codes, tables, timeline
from gateway.seed.journeys import PaidInstallment
from gateway.seed.loader import RowBuffer
from gateway.seed.partners import Partners

BATCH_PERIOD: Final = timedelta(days=14)


def add_disbursements(
    rng: random.Random, buffer: RowBuffer, partners: Partners, paid: list[PaidInstallment]
) -> None:
    codes_by_partner = {partner.id: partner.source.code for partner in partners.payment_partners}
    groups: dict[tuple[int, int], list[PaidInstallment]] = defaultdict(list)
    for installment in paid:
        period = (installment.due_at - timeline.PROGRAMME_LAUNCH) // BATCH_PERIOD
        groups[(period, installment.payment_partner_id)].append(installment)

    serial_by_partner: dict[int, int] = defaultdict(int)
    item_id = 0
    for batch_id, ((period, partner_id), items) in enumerate(sorted(groups.items()), start=1):
        serial_by_partner[partner_id] += 1
        code = f"BATCH-{codes_by_partner[partner_id]}-{serial_by_partner[partner_id]:04d}"
        created_at = _batch_created_at(rng, period, items)
        acknowledged_at = created_at + timedelta(minutes=rng.randint(10, 180))
        completed_at = min(
            acknowledged_at + timedelta(minutes=rng.randint(4 * 60, 48 * 60)),
            max(timeline.AS_OF, acknowledged_at + timedelta(minutes=30)),
        )
        buffer.add(
            tables.DISBURSEMENT_BATCHES,
            (
                batch_id,
                code,
                partner_id,
                len(items),
                sum(item.amount for item in items),
                BatchStatus.COMPLETED.value,
                created_at,
                acknowledged_at,
                completed_at,
            ),
        )
        for installment in sorted(items, key=lambda item: item.installment_id):
            item_id += 1
            reported_at = timeline.moment_between(rng, acknowledged_at, completed_at)
            reference = codes.partner_reference(item_id)
            buffer.add(
                tables.DISBURSEMENT_ITEMS,
                (
                    item_id,
                    batch_id,
                    installment.installment_id,
                    installment.payment_account_id,
                    codes.end_to_end_id(item_id),
                    installment.amount,
                    DisbursementItemStatus.PAID.value,
                    None,
                    reference,
                    reported_at,
                    created_at,
                ),
            )
            buffer.add(
                tables.DISBURSEMENT_REPORTS,
                (
                    item_id,  # one report per item
                    item_id,
                    DisbursementResult.PAID.value,
                    None,
                    reference,
                    reported_at,
                    reported_at + timedelta(seconds=rng.randint(1, 90)),
                    True,
                    None,
                ),
            )


def _batch_created_at(rng: random.Random, period: int, items: list[PaidInstallment]) -> datetime:
    """The morning after the period closes, and never before its last item fell due."""
    period_end = timeline.PROGRAMME_LAUNCH + (period + 1) * BATCH_PERIOD
    planned = period_end + timedelta(hours=9, minutes=rng.randint(0, 120))
    last_due = max(item.due_at for item in items)
    return max(min(planned, timeline.AS_OF - timedelta(days=2)), last_due + timedelta(hours=2))
