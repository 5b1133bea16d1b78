"""Ten concurrent reporters on one batch: committed transactions on a real pool."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from core.db import migrate
from core.db.database import Database
from gateway.seed import seed_database
from tests.support.databases import DatabaseFactory
from tests.support.disbursements import (
    PMO,
    RECONCILE,
    acknowledge,
    all_items,
    create_batches,
    data,
    report,
    result,
    scalar,
)
from tests.support.gateway import Tokens, make_client
from tests.support.installment_pool import INCENTIVE, add_due_installments

REPORTERS = 10
SLICE = 60
PARTNER = "PP-003"


@pytest.fixture(scope="module")
async def live_database(databases: DatabaseFactory) -> AsyncIterator[Database]:
    url = await databases.create("disbursement_race")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_database(url, participants=200)
    database = Database.connect(url, pool_size=REPORTERS + 2)
    yield database
    await database.dispose()


@pytest.fixture
async def live(live_database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, Tokens]]:
    async with make_client(live_database) as http:
        yield http, Tokens(http, live_database)


async def test_ten_reporters_on_one_batch_lose_no_update(
    live: tuple[httpx.AsyncClient, Tokens], live_database: Database
) -> None:
    _, tokens = live
    async with live_database.sessionmaker() as session:
        await add_due_installments(session, PARTNER, REPORTERS * SLICE)
        await session.commit()
    batch = next(b for b in await create_batches(tokens) if b["paymentPartnerCode"] == PARTNER)
    assert "errors" not in await acknowledge(tokens, PARTNER, batch)
    items = await all_items(tokens, PARTNER, batch["code"])
    ids = [item["endToEndId"] for item in items]
    # Every item is reported by two reporters at once (its own slice and its neighbour's),
    # each sending the same result: one applies it, the other finds a duplicate.
    status = {e2e: ("PAID" if n % 3 else "FAILED") for n, e2e in enumerate(ids)}
    slices = [ids[k : k + len(ids) // REPORTERS] for k in range(0, len(ids), len(ids) // REPORTERS)]
    sent = {
        e2e: result(e2e, status[e2e], reason="AC04" if status[e2e] == "FAILED" else None)
        for e2e in ids
    }
    calls = [
        [sent[e2e] for e2e in slices[k] + slices[(k + 1) % len(slices)]] for k in range(len(slices))
    ]
    await tokens.issue(PARTNER)
    bodies = await asyncio.gather(
        *(report(tokens, PARTNER, batch["code"], results) for results in calls)
    )
    outcomes = Counter(
        outcome["outcome"]
        for body in bodies
        for outcome in data(body)["reportDisbursementResults"]["results"]
    )
    assert outcomes == {"APPLIED": len(ids), "DUPLICATE": len(ids)}

    summary = data(await tokens.graphql(PMO, RECONCILE, {"code": batch["code"]}))[
        "disbursementReconciliation"
    ]
    assert summary["batch"]["status"] == "COMPLETED"
    totals = {t["status"]: (t["count"], int(t["amount"])) for t in summary["totals"]}
    paid = sum(1 for s in status.values() if s == "PAID")
    assert totals["PAID"] == (paid, paid * INCENTIVE)
    assert totals["FAILED"] == (len(ids) - paid, (len(ids) - paid) * INCENTIVE)
    assert summary["reportedAmount"] == batch["controlSum"]
    reports = await scalar(
        live_database,
        "SELECT count(*) FROM disbursement_reports r JOIN disbursement_items d ON d.id = r.item_id"
        " JOIN disbursement_batches b ON b.id = d.batch_id WHERE b.code = :c",
        c=batch["code"],
    )
    assert reports == len(ids)
    back_in_pool = await scalar(
        live_database,
        "SELECT count(*) FROM incentive_installments i JOIN disbursement_items d"
        " ON d.installment_id = i.id JOIN disbursement_batches b ON b.id = d.batch_id"
        " WHERE b.code = :c AND i.status = 'DUE'",
        c=batch["code"],
    )
    assert back_in_pool == len(ids) - paid
