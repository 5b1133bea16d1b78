"""A batch's items as JSON lines, streamed from a server-side cursor in chunks.

PostgreSQL writes each line (``json_build_object``), so the gateway only joins and sends
text: the export costs little more than the raw fetch, and memory holds one chunk at a time
whatever the batch's size. The account number follows the same tenancy rule as the GraphQL
items (``resolvers.tenancy.account_number_visible_to``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from sqlalchemy import Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.models import DisbursementItem
from core.principal import Principal
from resolvers.disbursements.records import item_select
from resolvers.tenancy import batches_visible_to

CHUNK_ROWS: Final = 2_000


async def item_lines(
    connection: AsyncConnection, principal: Principal | None, batch_id: int
) -> AsyncIterator[str]:
    """Chunks of JSON lines, each line one item, in item id order."""
    items = (
        item_select(principal)
        .where(DisbursementItem.batch_id == batch_id, batches_visible_to(principal))
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
    statement = select(cast(line, Text)).select_from(items).order_by(c.id)
    result = await connection.stream(statement.execution_options(yield_per=CHUNK_ROWS))
    async for rows in result.partitions(CHUNK_ROWS):
        yield "".join(row[0] + "\n" for row in rows)
