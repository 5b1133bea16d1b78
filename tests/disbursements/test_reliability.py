"""A crash between commit and reply, and a full 10,000-item batch."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from starlette.types import Message, Receive, Scope, Send

from core.db.database import Database
from core.settings import Settings
from gateway.app import create_app
from tests.support.disbursements import (
    PARTNER,
    PMO,
    RECONCILE,
    REPORT,
    acknowledge,
    all_items,
    batch_of,
    create_batches,
    data,
    report,
    result,
    scalar,
)
from tests.support.gateway import TEST_MASTER_KEY, Tokens, as_app
from tests.support.installment_pool import add_due_installments


def _crashing_client(database: Database) -> httpx.AsyncClient:
    """The gateway does all its work, commits, and dies before its reply leaves."""
    app = create_app(
        Settings(database_url=database.url, master_key=TEST_MASTER_KEY), database=as_app(database)
    )

    async def dies_before_replying(scope: Scope, receive: Receive, send: Send) -> None:
        async def lost(message: Message) -> None:
            return None

        await app(scope, receive, lost)
        raise ConnectionResetError("the gateway died between its commit and its reply")

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=dies_before_replying), base_url="http://gateway"
    )


async def _counts(database: Database, code: str) -> tuple[Any, ...]:
    return (
        await scalar(
            database,
            "SELECT count(*) FROM disbursement_reports r JOIN disbursement_items d"
            " ON d.id = r.item_id JOIN disbursement_batches b ON b.id = d.batch_id"
            " WHERE b.code = :c",
            c=code,
        ),
        await scalar(
            database,
            "SELECT count(*) FROM incentive_installments i JOIN disbursement_items d"
            " ON d.installment_id = i.id JOIN disbursement_batches b ON b.id = d.batch_id"
            " WHERE b.code = :c AND i.status = 'PAID'",
            c=code,
        ),
        await scalar(database, "SELECT status FROM disbursement_batches WHERE code = :c", c=code),
        await scalar(
            database,
            "SELECT count(*) FROM audit_log WHERE action = 'disbursement_results.reported'",
        ),
    )


async def test_a_report_replayed_after_a_crash_doubles_nothing(
    tokens: Tokens, database: Database
) -> None:
    batch = await batch_of(tokens, PARTNER)
    assert "errors" not in await acknowledge(tokens, PARTNER, batch)
    items = await all_items(tokens, PARTNER, batch["code"])
    results = [
        result(items[0]["endToEndId"], "PAID"),
        result(items[1]["endToEndId"], "FAILED", reason="AC01"),
    ]
    request = {"query": REPORT, "variables": {"code": batch["code"], "results": results}}
    headers = {**await tokens.headers(PARTNER), "Idempotency-Key": f"k-{uuid.uuid4()}"}

    async with _crashing_client(database) as crashing:
        try:
            await crashing.post("/graphql", json=request, headers=headers)
        except ConnectionResetError:
            pass
        else:
            raise AssertionError("the reply should have been lost")
    after_crash = await _counts(database, batch["code"])
    assert after_crash[:3] == (2, 1, "PARTIAL")  # committed before the crash

    # The partner never got an answer and sends the same request again with its key.
    replay = await tokens.http.post("/graphql", json=request, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    outcomes = replay.json()["data"]["reportDisbursementResults"]["results"]
    assert [outcome["outcome"] for outcome in outcomes] == ["APPLIED", "APPLIED"]
    assert await _counts(database, batch["code"]) == after_crash
    # Without the key, the same report is recognised item by item: still nothing doubled.
    again = data(await report(tokens, PARTNER, batch["code"], results))
    assert [r["outcome"] for r in again["reportDisbursementResults"]["results"]] == [
        "DUPLICATE",
        "DUPLICATE",
    ]
    counts = await _counts(database, batch["code"])
    assert counts[:3] == after_crash[:3]


async def test_a_10000_item_batch_fully_reported_is_completed_and_sums_match(
    tokens: Tokens, database: Database
) -> None:
    async with database.sessionmaker() as session:
        await add_due_installments(session, "PP-004", 10_000)
        await session.commit()
    made = [b for b in await create_batches(tokens) if b["paymentPartnerCode"] == "PP-004"]
    assert len(made) == 1
    batch = made[0]
    assert batch["itemCount"] == 10_000  # the cap: the seed's own due ones wait
    assert "errors" not in await acknowledge(tokens, "PP-004", batch)
    items = await all_items(tokens, "PP-004", batch["code"])
    for start in range(0, len(items), 1000):
        chunk = items[start : start + 1000]
        body = data(
            await report(
                tokens, "PP-004", batch["code"], [result(i["endToEndId"], "PAID") for i in chunk]
            )
        )
        assert {r["outcome"] for r in body["reportDisbursementResults"]["results"]} == {"APPLIED"}
    reconciled = data(await tokens.graphql(PMO, RECONCILE, {"code": batch["code"]}))
    summary = reconciled["disbursementReconciliation"]
    assert summary["batch"]["status"] == "COMPLETED"
    paid = next(total for total in summary["totals"] if total["status"] == "PAID")
    assert (paid["count"], paid["amount"]) == (10_000, batch["controlSum"])
    assert summary["reportedAmount"] == summary["batch"]["controlSum"] == batch["controlSum"]
