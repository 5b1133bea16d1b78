"""Authorization's two paths: the right OTP at the first try (one statement), and after a
wrong try (read and locked first). Both end the same, with the same audit records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from core.db.database import Database
from tests.support.enrollment import AUTHORIZE, PLATFORM, codes, open_sale, otp_of, start
from tests.support.gateway import Tokens


async def _audit(database: Database, invoice_code: str) -> list[tuple[Any, ...]]:
    async with database.sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT action, before, after, detail ? 'transactionCode' FROM audit_log"
                " WHERE entity_type = 'purchase' AND entity_id ="
                " (SELECT id::text FROM purchases WHERE invoice_code = :i) ORDER BY id"
            ),
            {"i": invoice_code},
        )
        return [tuple(row) for row in rows]


async def _started(tokens: Tokens, database: Database) -> tuple[str, str, str]:
    """A started purchase: its invoice code, payment token and OTP."""
    sale = await open_sale(database)
    payload = (await start(tokens, sale))["data"]["startPurchase"]
    invoice_code = payload["purchase"]["invoiceCode"]
    return invoice_code, payload["paymentToken"], await otp_of(database, invoice_code)


async def test_the_right_otp_after_a_wrong_one_authorizes(
    tokens: Tokens, database: Database
) -> None:
    invoice_code, token, otp = await _started(tokens, database)
    wrong = f"{(int(otp) + 1) % 1_000_000:06d}"
    refused = await tokens.graphql(
        PLATFORM, AUTHORIZE, {"input": {"paymentToken": token, "otp": wrong}}
    )
    assert codes(refused) == ["OTP_INVALID"]
    body = await tokens.graphql(PLATFORM, AUTHORIZE, {"input": {"paymentToken": token, "otp": otp}})
    assert "errors" not in body
    assert body["data"]["authorizePurchase"]["status"] == "SUCCESS"
    pending = {"status": "PENDING_OTP", "otp_attempts": 0}
    assert await _audit(database, invoice_code) == [
        ("purchase.started", None, pending, False),
        ("purchase.otp_failed", pending, {"status": "PENDING_OTP", "otp_attempts": 1}, False),
        (
            "purchase.authorized",
            {"status": "PENDING_OTP", "otp_attempts": 1},
            {"status": "SUCCESS", "otp_attempts": 1},
            True,
        ),
    ]


async def test_the_right_otp_at_the_first_try_is_audited_as_ever(
    tokens: Tokens, database: Database
) -> None:
    invoice_code, token, otp = await _started(tokens, database)
    body = await tokens.graphql(PLATFORM, AUTHORIZE, {"input": {"paymentToken": token, "otp": otp}})
    assert body["data"]["authorizePurchase"]["status"] == "SUCCESS"
    pending = {"status": "PENDING_OTP", "otp_attempts": 0}
    assert await _audit(database, invoice_code) == [
        ("purchase.started", None, pending, False),
        ("purchase.authorized", pending, {"status": "SUCCESS", "otp_attempts": 0}, True),
    ]
