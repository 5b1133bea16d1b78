"""Each mutation field of a document runs in its own savepoint: neither leaks into the other.

A refused field rolls back its own writes only; a field that succeeded beside it commits. The
one kept refusal (a wrong OTP counts as a try) keeps its count and still answers an error.
"""

from __future__ import annotations

from typing import Any

from core.db.database import Database
from tests.support.enrollment import PLATFORM, open_sale, otp_of, scalar, start, start_input
from tests.support.gateway import Tokens

TWO_STARTS = """
mutation Two($first: StartPurchaseInput!, $second: StartPurchaseInput!) {
  first: startPurchase(input: $first) { purchase { invoiceCode status } }
  second: startPurchase(input: $second) { purchase { invoiceCode status } }
}
"""

START_AND_AUTHORIZE = """
mutation Both($start: StartPurchaseInput!, $authorize: AuthorizePurchaseInput!) {
  start: startPurchase(input: $start) { purchase { invoiceCode status } }
  authorize: authorizePurchase(input: $authorize) { status }
}
"""


async def _purchases(database: Database, *invoices: str) -> int:
    return int(
        await scalar(
            database,
            "SELECT count(*) FROM purchases WHERE invoice_code = ANY(:invoices)",
            invoices=list(invoices),
        )
    )


def _error_paths(body: dict[str, Any]) -> dict[str, str]:
    return {error["path"][0]: error["extensions"]["code"] for error in body.get("errors") or []}


async def test_a_refused_mutation_beside_a_successful_one_leaves_nothing(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database, recipients=2)
    good = start_input(sale, sale.cards[0])
    refused = start_input(sale, sale.cards[1], amount="1")  # AMOUNT_MISMATCH
    body = await tokens.graphql(PLATFORM, TWO_STARTS, {"first": good, "second": refused})
    assert _error_paths(body) == {"second": "AMOUNT_MISMATCH"}
    assert body["data"]["first"]["purchase"]["status"] == "PENDING_OTP"
    assert body["data"]["second"] is None
    # The success committed (with its OTP in the outbox); the refusal wrote nothing.
    assert await _purchases(database, good["invoiceCode"]) == 1
    assert await _purchases(database, refused["invoiceCode"]) == 0
    assert await otp_of(database, good["invoiceCode"])


async def test_the_order_of_the_fields_does_not_matter(tokens: Tokens, database: Database) -> None:
    sale = await open_sale(database, recipients=2)
    refused = start_input(sale, sale.cards[0], scheduleCode="SCH-NOPE")
    good = start_input(sale, sale.cards[1])
    body = await tokens.graphql(PLATFORM, TWO_STARTS, {"first": refused, "second": good})
    assert set(_error_paths(body)) == {"first"}
    assert await _purchases(database, refused["invoiceCode"]) == 0
    assert await _purchases(database, good["invoiceCode"]) == 1
    audits = await scalar(
        database,
        "SELECT count(*) FROM audit_log WHERE action = 'purchase.started'"
        " AND entity_id IN (SELECT id::text FROM purchases WHERE invoice_code = ANY(:i))",
        i=[refused["invoiceCode"], good["invoiceCode"]],
    )
    assert audits == 1


async def test_a_wrong_otp_keeps_its_counted_try_and_the_other_field_commits(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database, recipients=2)
    first = (await start(tokens, sale))["data"]["startPurchase"]
    otp = await otp_of(database, first["purchase"]["invoiceCode"])
    wrong = f"{(int(otp) + 1) % 1_000_000:06d}"
    other = start_input(sale, sale.cards[1])
    body = await tokens.graphql(
        PLATFORM,
        START_AND_AUTHORIZE,
        {"start": other, "authorize": {"paymentToken": first["paymentToken"], "otp": wrong}},
    )
    assert _error_paths(body) == {"authorize": "OTP_INVALID"}
    attempts = await scalar(
        database,
        "SELECT otp_attempts FROM purchases WHERE invoice_code = :i",
        i=first["purchase"]["invoiceCode"],
    )
    assert attempts == 1  # the kept refusal: the try counts
    assert await _purchases(database, other["invoiceCode"]) == 1
