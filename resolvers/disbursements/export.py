"""A batch's items as JSON lines, read in keyset chunks and streamed a chunk at a time.

PostgreSQL writes each line (``json_build_object``) and joins a chunk's lines
(``string_agg``), so the gateway handles one string per chunk, never a row: the export
costs little more than the raw fetch. Each chunk is the next ``CHUNK_ROWS`` items after
the last one sent, in id order: an index range with a LIMIT, never a sort of the whole
batch (one statement over 100,000 items sorted its JSON text on disk). Memory holds one
chunk whatever the batch's size. Each chunk is read at its own moment: what an item pays,
to whom, never changes (migration 0006), only its result may have moved on between two
chunks, as it may right after any read. The account number
follows the same tenancy rule as the GraphQL items
(``resolvers.tenancy.account_number_visible_to``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from sqlalchemy import BigInteger, Text, bindparam, cast, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection

from core.models import DisbursementItem
from core.principal import Principal
from resolvers.disbursements.records import item_select
from resolvers.tenancy import batches_visible_to

CHUNK_ROWS: Final = 10_000


async def item_lines(
    connection: AsyncConnection, principal: Principal | None, batch_id: int
) -> AsyncIterator[str]:
    """Chunks of JSON lines, each line one item, in item id order."""
    items = (
        item_select(principal)
        .where(
            DisbursementItem.batch_id == batch_id,
            batches_visible_to(principal),
            DisbursementItem.id > bindparam("after", type_=BigInteger),
        )
        .order_by(DisbursementItem.id)
        .limit(CHUNK_ROWS)
        .subquery("item")
    )
    c = items.c
    line = func.json_build_object(
        "endToEndId", c.end_to_end_id,
        "amount", cast(c.amount, Text),
        "status", c.status,
        "reasonCode", c.reason_code,
        "partnerReference", c.partner_reference,
        "reportedAt", c.reported_at,
        "beneficiaryName", c.beneficiary_name,
        "accountKind", c.account_kind,
        "accountNumber", c.account_number,
        "accountNumberMasked", c.account_number_masked,
        "installmentKind", c.installment_kind,
        "installmentSequence", c.installment_sequence,
    )  # fmt: skip
    chunk = select(
        func.max(c.id).label("last_id"),
        func.string_agg(cast(line, Text), aggregate_order_by(literal("\n"), c.id)).label("lines"),
    ).select_from(items)
    after = 0
    while True:
        row = (await connection.execute(chunk, {"after": after})).one()
        if row.last_id is None:
            return
        after = row.last_id
        yield row.lines + "\n"
