"""A purchase's two mutations own their transaction on a driver connection
(``core/db/driver_transaction.py``) when the document asks only for plain values of the
payload: the same answers, the same writes, the same refusals, and nothing of a refused
field kept, as through the ORM session.

The suite's other enrollment tests run on a rolled-back database, where the session is the
only way; these run against a committed one, through a gateway with its lifespan, serving
as the application role.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Integer, column, text

from core.db.availability import is_unavailable
from core.db.database import Database
from core.db.driver_session import DriverStatements
from core.db.driver_transaction import DriverTransaction
from gateway.rate_limit import LEASE_SECONDS
from schema.documents import parse_document
from schema.root import schema
from schema.transactions import runs_on_driver
from tests.support.databases import DatabaseFactory, out_of_reach
from tests.support.enrollment import (
    AUTHORIZE,
    PLATFORM,
    START,
    Sale,
    codes,
    open_sale,
    otp_of,
    scalar,
    start_input,
)
from tests.support.gateway import Tokens, bucket_written_at, running_app

pytestmark = pytest.mark.xdist_group("driver_transactions")

# The purchase's values only (the suite's AUTHORIZE also asks for the course and schedule,
# whose resolvers read through the session: that document takes the session).
AUTHORIZE_PLAIN = """
mutation Authorize($input: AuthorizePurchaseInput!) {
  authorizePurchase(input: $input) {
    invoiceCode status amount transactionCode redeemCode authorizedAt
  }
}
"""
START_WITH_COURSE = """
mutation Start($input: StartPurchaseInput!) {
  startPurchase(input: $input) {
    paymentToken expiresAt
    purchase { invoiceCode status amount transactionCode redeemCode course { code } }
  }
}
"""
START_BY_FRAGMENT = """
mutation Start($input: StartPurchaseInput!) {
  startPurchase(input: $input) { ...Started }
}
fragment Started on StartPurchasePayload {
  paymentToken expiresAt purchase { invoiceCode status amount transactionCode redeemCode }
}
"""
TWO_STARTS = """
mutation Two($first: StartPurchaseInput!, $second: StartPurchaseInput!) {
  first: startPurchase(input: $first) { purchase { invoiceCode status } }
  second: startPurchase(input: $second) { purchase { invoiceCode status } }
}
"""


def driver_transactions() -> float:
    return REGISTRY.get_sample_value("prakerja_driver_transactions_total") or 0.0


class Shop:
    def __init__(self, http: httpx.AsyncClient, database: Database) -> None:
        self.database = database
        self.tokens = Tokens(http, database)

    async def ask(
        self, query: str, variables: dict[str, Any], partner: str = PLATFORM
    ) -> dict[str, Any]:
        return await self.tokens.graphql(partner, query, variables)

    async def start(self, sale: Sale, card: str, query: str = START, **changes: Any) -> Any:
        return await self.ask(query, {"input": start_input(sale, card, **changes)})

    async def authorize(self, token: str, otp: str, partner: str = PLATFORM) -> Any:
        variables = {"input": {"paymentToken": token, "otp": otp}}
        return await self.ask(AUTHORIZE_PLAIN, variables, partner)


@pytest.fixture(scope="module")
async def committed_url(databases: DatabaseFactory) -> str:
    return await databases.seeded("driver_transactions", participants=50)


@pytest.fixture
async def shop(committed_url: str) -> AsyncIterator[Shop]:
    async with AsyncExitStack() as stack:
        _, http = await running_app(
            stack,
            committed_url,
            rate_limit_points=10_000_000,
            rate_limit_points_per_second=1_000_000,
        )
        database = Database.connect(committed_url, pool_size=1)
        stack.push_async_callback(database.dispose)
        yield Shop(http, database)


async def _purchases(shop: Shop, invoice: str) -> int:
    return int(
        await scalar(
            shop.database, "SELECT count(*) FROM purchases WHERE invoice_code = :i", i=invoice
        )
    )


async def _audits(shop: Shop, action: str, invoice: str) -> int:
    return int(
        await scalar(
            shop.database,
            "SELECT count(*) FROM audit_log WHERE action = :a AND entity_id IN"
            " (SELECT id::text FROM purchases WHERE invoice_code = :i)",
            a=action,
            i=invoice,
        )
    )


async def test_a_purchase_on_the_driver_debits_once_and_keeps_every_record(shop: Shop) -> None:
    sale = await open_sale(shop.database)
    card = sale.cards[0]
    before = driver_transactions()
    started = await shop.start(sale, card)
    assert "errors" not in started, started
    payload = started["data"]["startPurchase"]
    invoice = payload["purchase"]["invoiceCode"]
    assert payload["purchase"]["status"] == "PENDING_OTP"
    otp = await otp_of(shop.database, invoice)  # the OTP message committed with it
    authorized = await shop.authorize(payload["paymentToken"], otp)
    assert "errors" not in authorized, authorized
    assert authorized["data"]["authorizePurchase"]["status"] == "SUCCESS"
    assert driver_transactions() == before + 2
    balance = await scalar(
        shop.database,
        "SELECT training_balance FROM participants WHERE card_number = :c",
        c=card,
    )
    assert balance == 3_500_000 - sale.price
    seats = await scalar(
        shop.database, "SELECT remaining FROM schedules WHERE code = :c", c=sale.schedule_code
    )
    assert seats == 49
    assert await _audits(shop, "purchase.started", invoice) == 1
    assert await _audits(shop, "purchase.authorized", invoice) == 1
    # Authorized once: the same token again is refused and debits nothing more.
    again = await shop.authorize(payload["paymentToken"], otp)
    assert codes(again) == ["PAYMENT_TOKEN_INVALID"]
    assert (
        await scalar(
            shop.database,
            "SELECT training_balance FROM participants WHERE card_number = :c",
            c=card,
        )
        == balance
    )


async def test_only_plain_single_mutations_take_the_driver_and_both_ways_answer_alike(
    shop: Shop,
) -> None:
    sale = await open_sale(shop.database, recipients=4)
    before = driver_transactions()
    on_driver = await shop.start(sale, sale.cards[0])
    by_fragment = await shop.start(sale, sale.cards[1], query=START_BY_FRAGMENT)
    assert driver_transactions() == before + 2
    # A field with a resolver of its own (it reads through the session's loaders), or two
    # mutation fields: the ORM session, as before.
    with_course = await shop.start(sale, sale.cards[2], query=START_WITH_COURSE)
    two = await shop.ask(
        TWO_STARTS,
        {"first": start_input(sale, sale.cards[3]), "second": start_input(sale, sale.cards[3])},
    )
    assert driver_transactions() == before + 2
    assert with_course["data"]["startPurchase"]["purchase"]["course"]["code"] == sale.course_code
    assert two["data"] is not None
    answers = [on_driver, by_fragment, with_course]
    shapes = [
        {
            key: type(value).__name__
            for key, value in answer["data"]["startPurchase"]["purchase"].items()
            if key != "course"
        }
        for answer in answers
    ]
    assert shapes[0] == shapes[1] == shapes[2]
    assert {answer["data"]["startPurchase"]["purchase"]["status"] for answer in answers} == {
        "PENDING_OTP"
    }


def test_which_documents_the_driver_serves() -> None:
    def serves(query: str, name: str | None = None) -> bool:
        document = parse_document(query)
        return runs_on_driver(schema._schema, document, name)

    assert serves(START)
    assert serves(START_BY_FRAGMENT)
    assert serves(AUTHORIZE_PLAIN)
    assert not serves(AUTHORIZE)
    assert not serves(START_WITH_COURSE)
    assert not serves(TWO_STARTS)
    assert not serves(
        'mutation { voidPurchase(input: {invoiceCode: "x", transactionCode: "y"}) { status } }'
    )
    assert not serves("query { courses(first: 1) { edges { node { code } } } }")
    assert not serves("mutation { startPurchase(input: $x) { nope } }")


async def test_refusals_on_the_driver_leave_nothing(shop: Shop) -> None:
    sale = await open_sale(shop.database, recipients=2)
    before = driver_transactions()
    mismatch = await shop.start(sale, sale.cards[0], amount="1")
    nobody = await shop.start(sale, "5" * 16)
    unknown_schedule = await shop.start(sale, sale.cards[1], scheduleCode="SCH-NOPE")
    assert codes(mismatch) == ["AMOUNT_MISMATCH"]
    assert codes(nobody) == ["PARTICIPANT_NOT_FOUND"]
    assert codes(unknown_schedule)
    assert driver_transactions() == before + 3
    for answer, card in ((mismatch, sale.cards[0]), (unknown_schedule, sale.cards[1])):
        assert answer["data"]["startPurchase"] is None
        owned = await scalar(
            shop.database,
            "SELECT count(*) FROM purchases p JOIN participants q ON q.id = p.participant_id"
            " WHERE q.card_number = :c",
            c=card,
        )
        assert owned == 0
        accounts = await scalar(
            shop.database,
            "SELECT count(*) FROM platform_accounts WHERE platform_user_id = :u",
            u=f"user-{card}",
        )
        assert accounts == 0
    # The same gateway, and its connections, go on serving.
    assert "errors" not in await shop.start(sale, sale.cards[0])


async def test_a_reused_invoice_code_is_refused_on_the_driver_and_the_first_stays(
    shop: Shop,
) -> None:
    sale = await open_sale(shop.database, recipients=2)
    first = await shop.start(sale, sale.cards[0], invoiceCode="INV-DRIVER-REUSED")
    assert "errors" not in first, first
    second = await shop.start(sale, sale.cards[1], invoiceCode="INV-DRIVER-REUSED")
    assert codes(second) == ["INVOICE_CODE_USED"]
    assert await _purchases(shop, "INV-DRIVER-REUSED") == 1
    assert await _audits(shop, "purchase.started", "INV-DRIVER-REUSED") == 1
    accounts = await scalar(
        shop.database,
        "SELECT count(*) FROM platform_accounts WHERE platform_user_id = :u",
        u=f"user-{sale.cards[1]}",
    )
    assert accounts == 0  # the refused field's account binding rolled back with it


async def test_a_wrong_otp_on_the_driver_keeps_its_counted_try(shop: Shop) -> None:
    sale = await open_sale(shop.database)
    started = (await shop.start(sale, sale.cards[0]))["data"]["startPurchase"]
    invoice = started["purchase"]["invoiceCode"]
    otp = await otp_of(shop.database, invoice)
    wrong = f"{(int(otp) + 1) % 1_000_000:06d}"
    before = driver_transactions()
    refused = await shop.authorize(started["paymentToken"], wrong)
    assert codes(refused) == ["OTP_INVALID"]
    assert driver_transactions() == before + 1
    attempts = await scalar(
        shop.database, "SELECT otp_attempts FROM purchases WHERE invoice_code = :i", i=invoice
    )
    assert attempts == 1  # kept although the mutation was refused
    assert await _audits(shop, "purchase.otp_failed", invoice) == 1
    authorized = await shop.authorize(started["paymentToken"], otp)
    assert authorized["data"]["authorizePurchase"]["status"] == "SUCCESS"


async def test_another_platform_cannot_authorize_a_purchase_on_the_driver(shop: Shop) -> None:
    sale = await open_sale(shop.database)
    started = (await shop.start(sale, sale.cards[0]))["data"]["startPurchase"]
    invoice = started["purchase"]["invoiceCode"]
    otp = await otp_of(shop.database, invoice)
    stolen = await shop.authorize(started["paymentToken"], otp, partner="DP-002")
    assert codes(stolen) == ["PAYMENT_TOKEN_INVALID"]
    status = await scalar(
        shop.database, "SELECT status FROM purchases WHERE invoice_code = :i", i=invoice
    )
    assert status == "PENDING_OTP"


async def test_the_database_gone_gets_a_json_503_and_the_next_purchase_goes_through(
    shop: Shop, committed_url: str, databases: DatabaseFactory
) -> None:
    sale = await open_sale(shop.database, recipients=2)
    token = await shop.tokens.issue(PLATFORM)  # taken while the database is there
    assert token
    async with out_of_reach(databases.server_url, committed_url):
        gone = await shop.tokens.http.post(
            "/graphql",
            json={"query": START, "variables": {"input": start_input(sale, sale.cards[0])}},
            headers={"authorization": f"Bearer {token}"},
        )
        assert gone.status_code == 503, gone.text
        assert gone.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    await shop.database.dispose()  # the test's own connection was cut too; the gateway's
    again = await shop.start(sale, sale.cards[1])
    assert "errors" not in again, again
    assert await _purchases(shop, again["data"]["startPurchase"]["purchase"]["invoiceCode"]) == 1


async def test_a_connection_cut_inside_a_driver_transaction_is_not_handed_on(
    committed_url: str, databases: DatabaseFactory
) -> None:
    """The pool's hygiene under the driver path: a connection whose server went away in the
    middle of a transaction is closed, and the next transaction gets a live one."""
    database = Database.connect(committed_url, pool_size=1)
    statements = DriverStatements(database.engine.dialect)
    backend_pid = text("SELECT pg_backend_pid() AS pid").columns(column("pid", Integer))
    try:
        cut = DriverTransaction(database, statements, None)
        pid = (await cut.execute_core(backend_pid)).scalar()
        admin = await asyncpg.connect(databases.server_url)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        with pytest.raises(Exception) as failed:
            await cut.execute_core(backend_pid)
        assert is_unavailable(failed.value)
        await cut.close()
        async with DriverTransaction(database, statements, None) as again:
            assert (await again.execute_core(backend_pid)).scalar() != pid
            await again.commit()
    finally:
        await database.dispose()


async def test_a_balance_too_small_on_the_driver_leaves_the_purchase_pending(shop: Shop) -> None:
    """Authorizing guards the debit, the seat and the purchase's change in one statement:
    refused for the balance, none of them is written."""
    sale = await open_sale(shop.database)
    card = sale.cards[0]
    started = (await shop.start(sale, card))["data"]["startPurchase"]
    invoice = started["purchase"]["invoiceCode"]
    otp = await otp_of(shop.database, invoice)
    async with shop.database.sessionmaker() as session:
        await session.execute(
            text("UPDATE participants SET training_balance = 1 WHERE card_number = :c"),
            {"c": card},
        )
        await session.commit()
    before = driver_transactions()
    refused = await shop.authorize(started["paymentToken"], otp)
    assert codes(refused) == ["BALANCE_INSUFFICIENT"]
    assert driver_transactions() == before + 1
    status = await scalar(
        shop.database,
        "SELECT status || coalesce(transaction_code, '-') FROM purchases WHERE invoice_code = :i",
        i=invoice,
    )
    assert status == "PENDING_OTP-"
    assert await _audits(shop, "purchase.authorized", invoice) == 0
    seats = await scalar(
        shop.database, "SELECT remaining FROM schedules WHERE code = :c", c=sale.schedule_code
    )
    assert seats == 50


async def test_a_high_budget_clients_mutations_spend_a_lease_not_the_shared_row(
    shop: Shop,
) -> None:
    """No replica serves a mutation, so its spend needs no commit position: with a budget
    far from spent (10 M points, 1 M a second) it also leases points that the process
    spends in memory for at most ``LEASE_SECONDS`` (gateway/rate_limit.py, "Leases"). The
    shared row is written about once per lease, not once per mutation, and every answer
    still carries the client's budget."""
    client = await shop.tokens.client_for(PLATFORM, ["enrollment:write"])
    token = await shop.tokens.issue(PLATFORM, ["enrollment:write"])
    refused = {
        "query": AUTHORIZE_PLAIN,
        "variables": {"input": {"paymentToken": "x" * 40, "otp": "000000"}},
    }

    async def post() -> httpx.Response:
        return await shop.tokens.http.post(
            "/graphql", json=refused, headers={"Authorization": f"Bearer {token}"}
        )

    await post()
    writes = set()
    started = time.monotonic()
    for _ in range(20):
        answer = await post()
        assert answer.status_code == 200 and answer.json()["errors"], answer.text
        assert 0 < int(answer.headers["ratelimit-remaining"]) < 10_000_000
        writes.add(await bucket_written_at(shop.database, client.client_id))
    elapsed = time.monotonic() - started
    # A write per lease at most: one per LEASE_SECONDS of the run, and the first.
    assert len(writes) <= 2 + elapsed / LEASE_SECONDS
