"""The issue's "done when": a payment partner, with only its token, fetches its batch,
acknowledges it, reports results with failures and a reversal, sees them come back in a
later batch with new end-to-end ids, and the reconciliation sums match."""

from __future__ import annotations

from typing import Any

from core.db.database import Database
from tests.support.disbursements import (
    BATCHES,
    HISTORY,
    ITEMS,
    PARTNER,
    PMO,
    RECONCILE,
    acknowledge,
    all_items,
    batch_of,
    codes,
    create_batches,
    data,
    report,
    result,
    scalar,
)
from tests.support.gateway import Tokens


def _totals(body: dict[str, Any]) -> dict[str, tuple[int, int]]:
    totals = body["disbursementReconciliation"]["totals"]
    return {total["status"]: (total["count"], int(total["amount"])) for total in totals}


async def test_a_payment_partner_works_its_batch_end_to_end(
    tokens: Tokens, database: Database
) -> None:
    made = await batch_of(tokens, PARTNER)
    # The partner finds it among its READY batches, with its header.
    listed = data(await tokens.graphql(PARTNER, BATCHES, {"status": "READY"}))
    nodes = [edge["node"] for edge in listed["disbursementBatches"]["edges"]]
    assert made in nodes
    assert {node["paymentPartnerCode"] for node in nodes} == {PARTNER}
    code = made["code"]

    items = await all_items(tokens, PARTNER, code, page=2)
    assert len(items) == made["itemCount"] >= 5
    assert sum(int(item["amount"]) for item in items) == int(made["controlSum"])
    assert all(len(item["endToEndId"]) <= 35 for item in items)
    assert all(item["status"] == "PENDING" for item in items)
    # The paying partner sees the account number; programme management a masked one.
    assert not any(item["accountNumberMasked"] for item in items)
    seen_by_pmo = await all_items(tokens, PMO, code)
    assert all(item["accountNumberMasked"] for item in seen_by_pmo)
    assert all("*" in item["accountNumber"] for item in seen_by_pmo)

    # A wrong header acknowledges nothing.
    wrong = await tokens.graphql(
        PARTNER,
        "mutation($c: String!, $n: Int!, $s: Rupiah!) "
        "{ acknowledgeBatch(code: $c, itemCount: $n, controlSum: $s) { status } }",
        {"c": code, "n": made["itemCount"], "s": str(int(made["controlSum"]) + 1)},
    )
    assert codes(wrong) == ["BATCH_HEADER_MISMATCH"]
    assert {item["status"] for item in await all_items(tokens, PARTNER, code)} == {"PENDING"}
    acked = data(await acknowledge(tokens, PARTNER, made))["acknowledgeBatch"]
    assert acked["status"] == "ACKNOWLEDGED"
    assert data(await acknowledge(tokens, PARTNER, made))["acknowledgeBatch"] == acked
    assert {item["status"] for item in await all_items(tokens, PARTNER, code)} == {"SENT"}

    ids = [item["endToEndId"] for item in items]
    failed, reversed_, unknown, *paid = ids
    first = [
        result(failed, "FAILED", reason="AC04"),
        result(reversed_, "PAID"),
        result(unknown, "UNKNOWN"),
        *(result(e2e, "PAID") for e2e in paid),
    ]
    body = data(await report(tokens, PARTNER, code, first))["reportDisbursementResults"]
    assert [r["outcome"] for r in body["results"]] == ["APPLIED"] * len(first)
    assert [r["endToEndId"] for r in body["results"]] == [r["endToEndId"] for r in first]
    assert body["batch"]["status"] == "PARTIAL"  # the unknown one is still open

    # The same reports again: nothing changes. A reversal, then a late PAID of it: refused.
    again = data(await report(tokens, PARTNER, code, first))["reportDisbursementResults"]
    assert {r["outcome"] for r in again["results"]} == {"DUPLICATE"}
    later = [
        result(reversed_, "REVERSED", reason="BENEFICIARY_CLO"),
        result(failed, "PAID"),
        result("PRK-NO-SUCH-ITEM", "PAID"),
        result(paid[0], "FAILED"),  # no reason code
    ]
    answers = data(await report(tokens, PARTNER, code, later))["reportDisbursementResults"]
    assert [r["outcome"] for r in answers["results"]] == ["APPLIED", None, None, None]
    assert [[e["code"] for e in r["errors"]] for r in answers["results"]] == [
        [],
        ["ITEM_ALREADY_FINAL"],
        ["ITEM_NOT_FOUND"],
        ["REASON_CODE_REQUIRED"],
    ]
    late_paid = data(await report(tokens, PARTNER, code, [result(reversed_, "PAID")]))
    assert late_paid["reportDisbursementResults"]["results"][0]["errors"][0]["code"] == (
        "ALREADY_REVERSED"
    )
    # The unknown item is reconciled as paid: the batch is complete.
    done = data(await report(tokens, PARTNER, code, [result(unknown, "PAID")]))
    assert done["reportDisbursementResults"]["batch"]["status"] == "COMPLETED"

    reconciled = data(await tokens.graphql(PARTNER, RECONCILE, {"code": code}))
    totals = _totals(reconciled)
    amount = {item["endToEndId"]: int(item["amount"]) for item in items}
    assert totals["PAID"] == (len(paid) + 1, sum(amount[e] for e in [*paid, unknown]))
    assert totals["FAILED"] == (1, amount[failed])
    assert totals["REVERSED"] == (1, amount[reversed_])
    assert sum(count for count, _ in totals.values()) == made["itemCount"]
    assert sum(total for _, total in totals.values()) == int(made["controlSum"])
    assert reconciled["disbursementReconciliation"]["reportedAmount"] == made["controlSum"]
    assert data(await tokens.graphql(PMO, RECONCILE, {"code": code})) == reconciled

    # The failed and the reversed installments leave again, as new items, in a new batch.
    by_e2e = {item["endToEndId"]: item for item in items}
    retried = {by_e2e[failed]["installmentId"], by_e2e[reversed_]["installmentId"]}
    next_batch = await batch_of(tokens, PARTNER)
    assert next_batch["code"] != code
    next_items = await all_items(tokens, PARTNER, next_batch["code"])
    again_items = [item for item in next_items if item["installmentId"] in retried]
    assert len(again_items) == 2
    assert not {item["endToEndId"] for item in again_items} & set(ids)

    history = data(
        await tokens.graphql(PARTNER, HISTORY, {"id": by_e2e[reversed_]["installmentId"]})
    )["installmentHistory"]
    assert [entry["item"]["batchCode"] for entry in history["items"]] == [
        code,
        next_batch["code"],
    ]
    assert [r["status"] for r in history["items"][0]["reports"]] == ["PAID", "REVERSED"]
    assert history["status"] == "IN_BATCH"

    # Paid installments are PAID, and the statistics count them from the items.
    paid_installments = await scalar(
        database,
        "SELECT count(*) FROM incentive_installments i JOIN disbursement_items d"
        " ON d.installment_id = i.id WHERE d.end_to_end_id = ANY(:ids) AND i.status = 'PAID'",
        ids=[*paid, unknown],
    )
    assert paid_installments == len(paid) + 1


async def test_making_batches_twice_takes_nothing_twice(tokens: Tokens, database: Database) -> None:
    first = await create_batches(tokens)
    assert first
    assert await create_batches(tokens) == []
    live_twice = await scalar(
        database,
        "SELECT count(*) FROM (SELECT installment_id FROM disbursement_items"
        " WHERE status IN ('PENDING', 'SENT', 'PAID', 'UNKNOWN')"
        " GROUP BY installment_id HAVING count(*) > 1) t",
    )
    assert live_twice == 0


async def test_statistics_count_paid_items(tokens: Tokens, database: Database) -> None:
    body = data(
        await tokens.graphql(PMO, "{ programStatistics { incentivesPaid incentivesPaidAmount } }")
    )["programStatistics"]
    expected = await scalar(
        database,
        "SELECT count(DISTINCT i.participant_id) FROM disbursement_items d"
        " JOIN incentive_installments i ON i.id = d.installment_id WHERE d.status = 'PAID'",
    )
    total = await scalar(
        database, "SELECT sum(amount) FROM disbursement_items WHERE status = 'PAID'"
    )
    assert body == {"incentivesPaid": expected, "incentivesPaidAmount": str(int(total))}
    assert expected > 0


async def test_items_pages_are_capped_at_1000(tokens: Tokens) -> None:
    made = await batch_of(tokens, PARTNER)
    body = await tokens.graphql(PARTNER, ITEMS, {"code": made["code"], "first": 1001})
    assert codes(body) == ["INVALID_PAGE_SIZE"]
