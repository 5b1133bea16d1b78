"""Money and seats under load: real concurrent transactions on a committed database.

These tests do not use the per-test rolled-back transaction (one connection cannot race
itself): the module gets a database of its own with a real connection pool, and every
request commits as in production.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.db.database import Database
from tests.support.databases import DatabaseFactory
from tests.support.enrollment import (
    ATTEND,
    AUTHORIZE,
    PLATFORM,
    START,
    VOID,
    buy,
    codes,
    open_sale,
    otp_of,
    scalar,
    start_input,
)
from tests.support.gateway import Tokens, make_client

# Its tests share one committed database: keep them on one xdist worker, which builds it once.
pytestmark = pytest.mark.xdist_group("concurrency")


@pytest.fixture(scope="module")
async def live_database(databases: DatabaseFactory) -> AsyncIterator[Database]:
    url = await databases.seeded("concurrency", participants=1_500)
    database = Database.connect(url, pool_size=20)
    yield database
    await database.dispose()


@pytest.fixture
async def live(live_database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, Tokens]]:
    async with make_client(live_database) as http:
        yield http, Tokens(http, live_database)


async def _start_all(tokens: Tokens, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    await tokens.issue(PLATFORM)  # one client and token, made before the crowd arrives
    bodies = await asyncio.gather(
        *(tokens.graphql(PLATFORM, START, {"input": request}) for request in inputs)
    )
    assert all("errors" not in body for body in bodies), bodies
    return [body["data"]["startPurchase"] for body in bodies]


async def _authorize_all(
    tokens: Tokens, database: Database, started: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    otps = [await otp_of(database, payload["purchase"]["invoiceCode"]) for payload in started]
    await tokens.issue(PLATFORM)  # one token, fetched before the race
    return list(
        await asyncio.gather(
            *(
                tokens.graphql(
                    PLATFORM,
                    AUTHORIZE,
                    {"input": {"paymentToken": payload["paymentToken"], "otp": otp}},
                )
                for payload, otp in zip(started, otps, strict=True)
            )
        )
    )


async def test_200_buyers_for_50_seats_exactly_50_succeed(
    live: tuple[httpx.AsyncClient, Tokens], live_database: Database
) -> None:
    _, tokens = live
    sale = await open_sale(live_database, recipients=200, quota=50)
    started = await _start_all(tokens, [start_input(sale, card) for card in sale.cards])
    results = await _authorize_all(tokens, live_database, started)
    outcomes = Counter("SUCCESS" if "errors" not in body else codes(body)[0] for body in results)
    assert outcomes == {"SUCCESS": 50, "QUOTA_EXHAUSTED": 150}
    remaining = await scalar(
        live_database, "SELECT remaining FROM schedules WHERE id = :id", id=sale.schedule_id
    )
    assert remaining == 0
    sold = await scalar(
        live_database,
        "SELECT count(*) FROM purchases WHERE schedule_id = :id AND status = 'SUCCESS'",
        id=sale.schedule_id,
    )
    assert sold == 50
    # The 150 refused buyers kept their whole balance.
    untouched = await scalar(
        live_database,
        "SELECT count(*) FROM participants WHERE card_number = ANY(:cards)"
        " AND training_balance = 3500000",
        cards=sale.cards,
    )
    assert untouched == 150


async def test_one_balance_two_simultaneous_purchases_only_one_is_paid(
    live: tuple[httpx.AsyncClient, Tokens], live_database: Database
) -> None:
    _, tokens = live
    probe = await open_sale(live_database, recipients=1)
    sale = await open_sale(live_database, recipients=1, balance=probe.price)
    card = sale.cards[0]
    started = await _start_all(tokens, [start_input(sale, card), start_input(sale, card)])
    results = await _authorize_all(tokens, live_database, started)
    outcomes = sorted("SUCCESS" if "errors" not in body else codes(body)[0] for body in results)
    assert outcomes == ["BALANCE_INSUFFICIENT", "SUCCESS"]
    balance = await scalar(
        live_database, "SELECT training_balance FROM participants WHERE card_number = :c", c=card
    )
    assert balance == 0


async def test_one_idempotency_key_sent_20_times_at_once_makes_one_purchase(
    live: tuple[httpx.AsyncClient, Tokens], live_database: Database
) -> None:
    http, tokens = live
    sale = await open_sale(live_database, recipients=1)
    request = {"query": START, "variables": {"input": start_input(sale)}}
    headers = {**await tokens.headers(PLATFORM), "Idempotency-Key": f"key-{uuid.uuid4()}"}
    responses = await asyncio.gather(
        *(http.post("/graphql", json=request, headers=headers) for _ in range(20))
    )
    bodies = [response.json() for response in responses]
    assert all("errors" not in body for body in bodies), bodies
    assert len({body["data"]["startPurchase"]["paymentToken"] for body in bodies}) == 1
    replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    assert len(replayed) == 19
    invoice = request["variables"]["input"]["invoiceCode"]  # type: ignore[index]
    count = await scalar(
        live_database, "SELECT count(*) FROM purchases WHERE invoice_code = :i", i=invoice
    )
    assert count == 1


async def test_a_void_racing_a_redemption_only_one_wins(
    live: tuple[httpx.AsyncClient, Tokens], live_database: Database
) -> None:
    _, tokens = live
    sale = await open_sale(live_database, recipients=10, quota=20)
    await tokens.issue(sale.provider_code)
    for card in sale.cards:
        bought = await buy(tokens, live_database, sale, card)
        void, redeem = await asyncio.gather(
            tokens.graphql(
                PLATFORM,
                VOID,
                {
                    "input": {
                        "invoiceCode": bought["invoiceCode"],
                        "transactionCode": bought["transactionCode"],
                    }
                },
            ),
            tokens.graphql(
                sale.provider_code,
                ATTEND,
                {"input": {"redeemCode": bought["redeemCode"], "sequence": 1}},
            ),
        )
        winners = ["errors" not in void, "errors" not in redeem]
        assert winners.count(True) == 1, (void, redeem)
        if winners[0]:
            assert codes(redeem) == ["REDEEM_CODE_NOT_FOUND"]
        else:
            assert codes(void) == ["ALREADY_REDEEMED"]
        status, redeemed = (
            await scalar(
                live_database,
                "SELECT status FROM purchases WHERE invoice_code = :i",
                i=bought["invoiceCode"],
            ),
            await scalar(
                live_database,
                "SELECT count(*) FROM attendances a JOIN purchases p ON p.id = a.purchase_id"
                " WHERE p.invoice_code = :i",
                i=bought["invoiceCode"],
            ),
        )
        assert (status, redeemed) in {("VOIDED", 0), ("SUCCESS", 1)}
