"""The purchase flow through GraphQL: every rule, every refusal code, no partial write."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from core.db.database import Database
from tests.support.enrollment import (
    AUTHORIZE,
    PLATFORM,
    PURCHASE,
    START,
    VOID,
    Sale,
    buy,
    codes,
    open_sale,
    otp_of,
    scalar,
    start,
    start_input,
)
from tests.support.gateway import Tokens


async def _balance(database: Database, card: str) -> int:
    return int(
        await scalar(
            database,
            "SELECT training_balance FROM participants WHERE card_number = :card",
            card=card,
        )
    )


async def _seats(database: Database, sale: Sale) -> int:
    return int(
        await scalar(
            database, "SELECT remaining FROM schedules WHERE id = :id", id=sale.schedule_id
        )
    )


async def _purchases(database: Database) -> int:
    return int(await scalar(database, "SELECT count(*) FROM purchases"))


async def test_a_purchase_debits_the_balance_takes_a_seat_and_issues_codes(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database, quota=10)
    purchase = await buy(tokens, database, sale)
    assert purchase["status"] == "SUCCESS"
    assert purchase["amount"] == str(sale.price)
    assert purchase["transactionCode"].startswith("TRX")
    assert len(purchase["redeemCode"]) == 12
    assert purchase["schedule"] == {"code": sale.schedule_code, "seatsLeft": 9}
    assert await _balance(database, sale.cards[0]) == 3_500_000 - sale.price

    # The platform reads it back by its invoice code; the audit log holds every step.
    body = await tokens.graphql(PLATFORM, PURCHASE, {"invoice": purchase["invoiceCode"]})
    assert body["data"]["purchase"]["status"] == "SUCCESS"
    actions = await scalar(
        database,
        "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE entity_type = 'purchase'"
        " AND entity_id = (SELECT id::text FROM purchases WHERE invoice_code = :invoice)",
        invoice=purchase["invoiceCode"],
    )
    assert actions == "purchase.started,purchase.authorized"


async def test_the_otp_goes_through_the_outbox_and_the_token_is_shown_once(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database)
    started = await start(tokens, sale)
    payload = started["data"]["startPurchase"]
    assert payload["purchase"]["status"] == "PENDING_OTP"
    assert payload["purchase"]["redeemCode"] is None
    stored = await scalar(
        database,
        "SELECT count(*) FROM purchases WHERE payment_token_hash IS NOT NULL"
        " AND invoice_code = :invoice",
        invoice=payload["purchase"]["invoiceCode"],
    )
    assert stored == 1
    # Only a hash of the token is stored: the token itself is nowhere in the database.
    leaked = await scalar(
        database,
        "SELECT count(*) FROM audit_log WHERE detail::text LIKE :token OR after::text LIKE :token",
        token=f"%{payload['paymentToken']}%",
    )
    assert leaked == 0
    assert len(await otp_of(database, payload["purchase"]["invoiceCode"])) == 6


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"amount": "1"}, "AMOUNT_MISMATCH"),
        ({"courseCode": "CRS-999999"}, "COURSE_NOT_FOUND"),
        ({"scheduleCode": "SCH-NOPE"}, "SCHEDULE_NOT_FOUND"),
        ({"cardNumber": "9999999999999999"}, "PARTICIPANT_NOT_FOUND"),
        ({"cardNumber": "12ab"}, "BAD_USER_INPUT"),
        ({"invoiceCode": "has space"}, "BAD_USER_INPUT"),
        ({"amount": "-5"}, "BAD_USER_INPUT"),
        ({"invoiceUrl": "http://insecure.example/inv"}, "BAD_USER_INPUT"),
    ],
)
async def test_bad_purchase_requests_are_refused_and_change_nothing(
    tokens: Tokens, database: Database, changes: dict[str, Any], code: str
) -> None:
    sale = await open_sale(database)
    before = await _purchases(database)
    body = await start(tokens, sale, **changes)
    assert codes(body) == [code], body
    assert await _purchases(database) == before


async def test_schedule_of_another_course_is_refused(tokens: Tokens, database: Database) -> None:
    sale = await open_sale(database)
    other = await scalar(
        database,
        "SELECT code FROM schedules WHERE course_id <> (SELECT id FROM courses WHERE code = :c)"
        " ORDER BY id LIMIT 1",
        c=sale.course_code,
    )
    assert codes(await start(tokens, sale, scheduleCode=other)) == ["SCHEDULE_NOT_IN_COURSE"]


async def test_ended_schedule_full_schedule_and_passed_deadline(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database, recipients=3)
    async with database.sessionmaker() as session:
        await session.execute(
            text("UPDATE schedules SET remaining = 0 WHERE id = :id"), {"id": sale.schedule_id}
        )
        await session.commit()
    assert codes(await start(tokens, sale)) == ["QUOTA_EXHAUSTED"]

    async with database.sessionmaker() as session:
        await session.execute(
            text(
                "UPDATE schedules SET remaining = 5, starts_at = now() - interval '40 days',"
                " ends_at = now() - interval '1 day' WHERE id = :id"
            ),
            {"id": sale.schedule_id},
        )
        await session.commit()
    assert codes(await start(tokens, sale)) == ["SCHEDULE_ENDED"]

    async with database.sessionmaker() as session:
        await session.execute(
            text("UPDATE schedules SET ends_at = now() + interval '9 days' WHERE id = :id"),
            {"id": sale.schedule_id},
        )
        await session.execute(
            text(
                "UPDATE participants SET first_purchase_deadline = now() - interval '1 hour'"
                " WHERE card_number = :card"
            ),
            {"card": sale.cards[1]},
        )
        await session.commit()
    assert codes(await start(tokens, sale, card=sale.cards[1])) == ["PURCHASE_DEADLINE_PASSED"]


async def test_balance_eligibility_and_platform_account_rules(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database, recipients=3)
    poor, young, other = sale.cards
    async with database.sessionmaker() as session:
        await session.execute(
            text("UPDATE participants SET training_balance = 1 WHERE card_number = :c"), {"c": poor}
        )
        await session.execute(
            text("UPDATE participants SET status = 'REGISTERED' WHERE card_number = :c"),
            {"c": other},
        )
        await session.execute(
            text("UPDATE courses SET min_education = 'S3' WHERE code = :c"), {"c": sale.course_code}
        )
        await session.commit()
    assert codes(await start(tokens, sale, card=poor)) == ["BALANCE_INSUFFICIENT"]
    assert codes(await start(tokens, sale, card=other)) == ["NOT_ELIGIBLE"]
    assert codes(await start(tokens, sale, card=young)) == ["NOT_ELIGIBLE"]  # education rule

    async with database.sessionmaker() as session:
        await session.execute(
            text("UPDATE courses SET min_education = NULL WHERE code = :c"), {"c": sale.course_code}
        )
        await session.commit()
    first = await start(tokens, sale, card=young, platformUserId="shared-account")
    assert "errors" not in first, first
    # One platform account belongs to one card: the same account for another card is refused.
    async with database.sessionmaker() as session:
        await session.execute(
            text("UPDATE participants SET training_balance = 3500000 WHERE card_number = :c"),
            {"c": poor},
        )
        await session.commit()
    refused = await start(tokens, sale, card=poor, platformUserId="shared-account")
    assert codes(refused) == ["PLATFORM_ACCOUNT_MISMATCH"]


async def test_an_invoice_code_is_used_once_per_platform(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database)
    request = start_input(sale, invoiceCode="INV-ONCE")
    assert "errors" not in await tokens.graphql(PLATFORM, START, {"input": request})
    again = await tokens.graphql(PLATFORM, START, {"input": request})
    assert codes(again) == ["INVOICE_CODE_USED"]


async def test_three_wrong_otps_kill_the_token(tokens: Tokens, database: Database) -> None:
    sale = await open_sale(database)
    payload = (await start(tokens, sale))["data"]["startPurchase"]
    otp = await otp_of(database, payload["purchase"]["invoiceCode"])
    wrong = f"{(int(otp) + 1) % 1_000_000:06d}"
    token = payload["paymentToken"]
    for tries_left in (2, 1, 0):
        body = await tokens.graphql(
            PLATFORM, AUTHORIZE, {"input": {"paymentToken": token, "otp": wrong}}
        )
        assert codes(body) == ["OTP_INVALID"]
        assert body["errors"][0]["extensions"]["triesLeft"] == tries_left
    # Even the right OTP cannot revive it, and nothing was debited.
    body = await tokens.graphql(PLATFORM, AUTHORIZE, {"input": {"paymentToken": token, "otp": otp}})
    assert codes(body) == ["PAYMENT_TOKEN_INVALID"]
    assert await _balance(database, sale.cards[0]) == 3_500_000
    failed = await scalar(
        database,
        "SELECT count(*) FROM audit_log WHERE action = 'purchase.otp_failed'"
        " AND entity_id = (SELECT id::text FROM purchases WHERE invoice_code = :i)",
        i=payload["purchase"]["invoiceCode"],
    )
    assert failed == 3


async def test_an_expired_otp_is_refused(tokens: Tokens, database: Database) -> None:
    sale = await open_sale(database)
    payload = (await start(tokens, sale))["data"]["startPurchase"]
    otp = await otp_of(database, payload["purchase"]["invoiceCode"])
    async with database.sessionmaker() as session:
        await session.execute(
            text(
                "UPDATE purchases SET token_expires_at = now() - interval '1 second'"
                " WHERE invoice_code = :i"
            ),
            {"i": payload["purchase"]["invoiceCode"]},
        )
        await session.commit()
    body = await tokens.graphql(
        PLATFORM, AUTHORIZE, {"input": {"paymentToken": payload["paymentToken"], "otp": otp}}
    )
    assert codes(body) == ["OTP_EXPIRED"]
    assert await _seats(database, sale) == 50


async def test_another_platform_cannot_authorize_read_or_void_a_purchase(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database, recipients=2)
    payload = (await start(tokens, sale))["data"]["startPurchase"]
    otp = await otp_of(database, payload["purchase"]["invoiceCode"])
    stolen = await tokens.graphql(
        "DP-002", AUTHORIZE, {"input": {"paymentToken": payload["paymentToken"], "otp": otp}}
    )
    assert codes(stolen) == ["PAYMENT_TOKEN_INVALID"]

    bought = await buy(tokens, database, sale, card=sale.cards[1])
    invoice = bought["invoiceCode"]
    read = await tokens.graphql("DP-002", PURCHASE, {"invoice": invoice})
    assert codes(read) == ["TRANSACTION_NOT_FOUND"]
    void = await tokens.graphql(
        "DP-002",
        VOID,
        {"input": {"invoiceCode": invoice, "transactionCode": bought["transactionCode"]}},
    )
    assert codes(void) == ["TRANSACTION_NOT_FOUND"]
    assert (await tokens.graphql(PLATFORM, PURCHASE, {"invoice": invoice}))["data"]["purchase"][
        "status"
    ] == "SUCCESS"


async def test_void_returns_balance_and_seat_and_is_refused_twice(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database, quota=5)
    bought = await buy(tokens, database, sale)
    assert await _seats(database, sale) == 4
    request = {"invoiceCode": bought["invoiceCode"], "transactionCode": bought["transactionCode"]}
    voided = await tokens.graphql(PLATFORM, VOID, {"input": request})
    assert voided["data"]["voidPurchase"]["status"] == "VOIDED"
    assert await _seats(database, sale) == 5
    assert await _balance(database, sale.cards[0]) == 3_500_000

    assert codes(await tokens.graphql(PLATFORM, VOID, {"input": request})) == ["ALREADY_VOIDED"]
    unknown = {"invoiceCode": bought["invoiceCode"], "transactionCode": "TRX0000000000000000"}
    assert codes(await tokens.graphql(PLATFORM, VOID, {"input": unknown})) == [
        "TRANSACTION_NOT_FOUND"
    ]
