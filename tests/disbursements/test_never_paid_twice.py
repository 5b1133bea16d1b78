"""The database itself refuses paying an installment twice, whatever SQL runs."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from core.db.database import Database
from tests.support.disbursements import (
    PARTNER,
    acknowledge,
    all_items,
    batch_of,
    data,
    report,
    result,
)
from tests.support.gateway import Tokens


async def _raw(database: Database) -> Any:
    """A plain asyncpg connection to the seeded database, outside the test's transaction."""
    url = database.url.replace("postgresql+asyncpg://", "postgresql://")
    return await asyncpg.connect(url)


async def _paid_item(tokens: Tokens) -> tuple[str, dict[str, Any]]:
    batch = await batch_of(tokens, PARTNER)
    assert "errors" not in await acknowledge(tokens, PARTNER, batch)
    items = await all_items(tokens, PARTNER, batch["code"])
    data(await report(tokens, PARTNER, batch["code"], [result(items[0]["endToEndId"], "PAID")]))
    return batch["code"], items[0]


async def test_a_second_live_item_of_a_paid_installment_is_refused(database: Database) -> None:
    connection = await _raw(database)
    try:
        async with connection.transaction():
            paid = await connection.fetchrow(
                "SELECT * FROM disbursement_items WHERE status = 'PAID' LIMIT 1"
            )
            for status in ("PENDING", "SENT", "PAID", "UNKNOWN"):
                with pytest.raises(asyncpg.UniqueViolationError):
                    async with connection.transaction():
                        await connection.execute(
                            "INSERT INTO disbursement_items (batch_id, installment_id,"
                            " payment_account_id, end_to_end_id, amount, status)"
                            " VALUES ($1, $2, $3, $4, $5, $6)",
                            paid["batch_id"],
                            paid["installment_id"],
                            paid["payment_account_id"],
                            f"ATTACK-{status}",
                            paid["amount"],
                            status,
                        )
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await connection.close()


class _Rollback(Exception):
    pass


async def test_a_failed_or_reversed_item_never_becomes_paid_again(database: Database) -> None:
    connection = await _raw(database)
    try:
        async with connection.transaction():
            item = await connection.fetchrow(
                "SELECT id FROM disbursement_items WHERE status = 'PAID' LIMIT 1"
            )
            await connection.execute(
                "UPDATE disbursement_items SET status = 'REVERSED' WHERE id = $1", item["id"]
            )
            for forbidden in ("PAID", "SENT", "PENDING", "FAILED", "UNKNOWN"):
                with pytest.raises(asyncpg.CheckViolationError, match="may not go from"):
                    async with connection.transaction():
                        await connection.execute(
                            "UPDATE disbursement_items SET status = $2 WHERE id = $1",
                            item["id"],
                            forbidden,
                        )
            # Nor may an item change what it pays, or to whom.
            with pytest.raises(asyncpg.CheckViolationError, match="fixed once made"):
                async with connection.transaction():
                    await connection.execute(
                        "UPDATE disbursement_items SET amount = amount * 2 WHERE id = $1",
                        item["id"],
                    )
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await connection.close()


async def test_an_item_for_an_unverified_account_or_another_amount_is_refused(
    database: Database,
) -> None:
    connection = await _raw(database)
    try:
        async with connection.transaction():
            due = await connection.fetchrow(
                "SELECT i.id, i.amount, a.id AS account_id, b.id AS batch_id"
                " FROM incentive_installments i"
                " JOIN payment_accounts a ON a.participant_id = i.participant_id"
                " JOIN disbursement_batches b ON b.payment_partner_id = a.payment_partner_id"
                " WHERE i.status = 'DUE' LIMIT 1"
            )
            insert = (
                "INSERT INTO disbursement_items (batch_id, installment_id, payment_account_id,"
                " end_to_end_id, amount, status) VALUES ($1, $2, $3, 'ATTACK', $4, 'PENDING')"
            )
            with pytest.raises(asyncpg.CheckViolationError, match="verified account"):
                async with connection.transaction():
                    await connection.execute(
                        insert, due["batch_id"], due["id"], due["account_id"], due["amount"] * 2
                    )
            await connection.execute(
                "UPDATE payment_accounts SET verified_at = NULL WHERE id = $1", due["account_id"]
            )
            with pytest.raises(asyncpg.CheckViolationError, match="verified account"):
                async with connection.transaction():
                    await connection.execute(
                        insert, due["batch_id"], due["id"], due["account_id"], due["amount"]
                    )
            # A verified account needs a matched holder name.
            with pytest.raises(asyncpg.CheckViolationError):
                async with connection.transaction():
                    await connection.execute(
                        "UPDATE payment_accounts SET verified_at = now(), name_matched = false"
                        " WHERE id = $1",
                        due["account_id"],
                    )
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await connection.close()


async def test_through_the_api_a_paid_item_is_paid_once(tokens: Tokens, database: Database) -> None:
    code, item = await _paid_item(tokens)
    again = data(await report(tokens, PARTNER, code, [result(item["endToEndId"], "PAID")]))
    assert again["reportDisbursementResults"]["results"][0]["outcome"] == "DUPLICATE"
    other = data(
        await report(tokens, PARTNER, code, [result(item["endToEndId"], "PAID", reference="X2")])
    )
    assert other["reportDisbursementResults"]["results"][0]["errors"][0]["code"] == (
        "RESULT_CONFLICT"
    )
