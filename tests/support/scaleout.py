"""Purchases and catalog reads through the loopback cluster's load balancer, under faults.

A buyer here behaves as a careful platform does: every mutation carries an
``Idempotency-Key``, and a request that failed in transport, or was answered 502/503 (a
gateway killed or restarting, the database away), is sent again with the same key until
it is answered. What the tests then check is the database itself: each recipient paid
at most once, and every balance equals the opening balance less what was paid.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from auth.admin import create_client
from bench._setup import ORIGIN
from bench.purchases import (
    AUTHORIZE,
    BALANCE,
    READ_OTP,
    START,
    BuyerClient,
    Offer,
    make_recipients,
    open_spread,
    purchase_pk,
    sellable_courses,
)
from core.db.database import Database
from core.enums import PurchaseStatus

# The cluster's tools from Debian; without them the tests/deploy modules skip, saying so.
MISSING_TOOLS = [tool for tool in ("haproxy", "pgbouncer") if shutil.which(tool) is None]
# The marks of every module that runs on the cluster: skipped, saying why, without the tools;
# on one xdist worker (one cluster per session, tests/deploy/conftest.py); `-m deploy`.
CLUSTER_TEST_MARKS = [
    pytest.mark.skipif(
        bool(MISSING_TOOLS),
        reason=f"{' and '.join(MISSING_TOOLS)} not installed (apt-get install pgbouncer haproxy)",
    ),
    pytest.mark.xdist_group("deploy_cluster"),
    pytest.mark.deploy,
]
RETRYABLE_STATUS = frozenset({502, 503, 504})
CATALOG = "{ courses(first: 5) { edges { node { code title } } } }"
PLATFORMS = tuple(f"DP-{number:03d}" for number in range(1, 8))
SCOPES = "enrollment:read enrollment:write catalog:read"
READ_PURCHASE = "query Read($invoice: String!) { purchase(invoiceCode: $invoice) { status } }"


@dataclass
class Shop:
    cards: list[str]
    offers: dict[str, list[Offer]]
    clients: list[BuyerClient]


@dataclass
class Tally:
    bought: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)


async def open_shop(primary_url: str, buyers: int, master_key: str) -> Shop:
    connection = await asyncpg.connect(primary_url)
    try:
        cards = await make_recipients(connection)
        offers = await open_spread(connection, await sellable_courses(connection))
    finally:
        await connection.close()
    return Shop(cards, offers, await create_clients(primary_url, buyers, master_key))


async def create_clients(url: str, count: int, master_key: str) -> list[BuyerClient]:
    database = Database.connect(url, pool_size=1)
    clients: list[BuyerClient] = []
    try:
        async with database.sessionmaker() as session:
            for number in range(count):
                platform = PLATFORMS[number % len(PLATFORMS)]
                issued = await create_client(
                    session,
                    ORIGIN,
                    partner_code=platform,
                    scopes=SCOPES.split(),
                    master_key=master_key.encode(),
                    name="scale",
                )
                assert issued.client_secret is not None
                clients.append(BuyerClient(platform, issued.client_id, issued.client_secret))
            await session.commit()
    finally:
        await database.dispose()
    return clients


async def token_for(http: httpx.AsyncClient, client: BuyerClient) -> str:
    for _ in range(50):
        try:
            response = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": SCOPES},
                auth=(client.client_id, client.client_secret),
            )
            if response.status_code == 200:
                token: str = response.json()["access_token"]
                return token
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("no token through the load balancer")


async def send(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    query: str,
    variables: dict[str, Any] | None,
    tally: Tally,
    *,
    attempts: int = 60,
) -> httpx.Response:
    """POST until answered by a gateway (same headers, so the same Idempotency-Key)."""
    for _ in range(attempts):
        try:
            response = await http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
        except httpx.TransportError as exc:
            tally.retried[type(exc).__name__] += 1
        else:
            if response.status_code not in RETRYABLE_STATUS:
                return response
            tally.retried[f"HTTP {response.status_code}"] += 1
        await asyncio.sleep(0.1)
    raise AssertionError(f"no answer after {attempts} attempts")


async def buy(
    http: httpx.AsyncClient,
    outbox: asyncpg.Pool,
    token: str,
    offer: Offer,
    card: str,
    tally: Tally,
    *,
    read_back: bool = True,
) -> None:
    invoice = f"SCALE-{secrets.token_hex(8)}"
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"start-{invoice}"}
    variables = {
        "input": {
            "cardNumber": card,
            "courseCode": offer.course_code,
            "scheduleCode": offer.schedule_code,
            "platformUserId": f"scale-{card}",
            "invoiceCode": invoice,
            "amount": str(offer.price),
        }
    }
    started = (await send(http, headers, START, variables, tally)).json()
    if started.get("errors"):
        tally.refused["start " + started["errors"][0]["extensions"]["code"]] += 1
        return
    payload = started["data"]["startPurchase"]
    otp = None
    for _ in range(50):
        row = await outbox.fetchrow(READ_OTP, 0, str(purchase_pk(payload["purchase"]["id"])))
        if row is not None:
            otp = row["otp"]
            break
        await asyncio.sleep(0.1)
    assert otp is not None, "the OTP never reached the outbox"
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"authorize-{invoice}"}
    variables = {"input": {"paymentToken": payload["paymentToken"], "otp": otp}}
    authorized = (await send(http, headers, AUTHORIZE, variables, tally)).json()
    if authorized.get("errors"):
        tally.refused["authorize " + authorized["errors"][0]["extensions"]["code"]] += 1
        return
    status = authorized["data"]["authorizePurchase"]["status"]
    assert status == PurchaseStatus.SUCCESS.value, authorized
    tally.bought += 1
    if read_back:
        # Read-your-writes: at once, from wherever the read is routed (replica or primary).
        headers = {"Authorization": f"Bearer {token}"}
        read = (await send(http, headers, READ_PURCHASE, {"invoice": invoice}, tally)).json()
        assert read["data"]["purchase"]["status"] == PurchaseStatus.SUCCESS.value, read


async def buy_many(
    base_url: str, primary_url: str, shop: Shop, count: int, tally: Tally
) -> list[str]:
    """``count`` purchases by all clients at once, one card each; returns the cards used."""
    cards = [shop.cards.pop() for _ in range(count)]
    outbox = await asyncpg.create_pool(primary_url, min_size=1, max_size=4)
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            tokens = [await token_for(http, client) for client in shop.clients]
            queue: asyncio.Queue[str] = asyncio.Queue()
            for card in cards:
                queue.put_nowait(card)

            async def worker(number: int) -> None:
                client = shop.clients[number]
                offers = shop.offers[client.platform]
                while not queue.empty():
                    card = queue.get_nowait()
                    offer = offers[hash(card) % len(offers)]
                    await buy(http, outbox, tokens[number], offer, card, tally)

            await asyncio.gather(*(worker(n) for n in range(len(shop.clients))))
    finally:
        await outbox.close()
    return cards


BOOKS = """
SELECT p.card_number, p.training_balance,
       count(pu.id) FILTER (WHERE pu.status = $2) AS paid,
       coalesce(sum(pu.amount) FILTER (WHERE pu.status = $2), 0) AS spent
  FROM participants p
  LEFT JOIN purchases pu ON pu.participant_id = p.id
 WHERE p.card_number = ANY($1::text[])
 GROUP BY p.card_number, p.training_balance
"""


async def check_books(primary_url: str, cards: list[str]) -> int:
    """Every card paid at most once and its balance is the opening one less what it paid."""
    connection = await asyncpg.connect(primary_url)
    try:
        rows = await connection.fetch(BOOKS, cards, PurchaseStatus.SUCCESS.value)
    finally:
        await connection.close()
    assert len(rows) == len(cards)
    paid = 0
    for row in rows:
        assert row["paid"] <= 1, f"{row['card_number']} paid {row['paid']} times"
        assert row["training_balance"] == BALANCE - row["spent"], dict(row)
        paid += row["paid"]
    return paid
