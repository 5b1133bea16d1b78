"""Secrets are not kept in clear: a stored startPurchase answer holds no usable payment
token, yet a retry with the same Idempotency-Key still gets it."""

from __future__ import annotations

from core.db.database import Database
from tests.support.enrollment import PLATFORM, START, open_sale, scalar, start_input
from tests.support.gateway import Tokens


async def test_stored_idempotent_answer_holds_no_payment_token_in_clear(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database)
    headers = {**await tokens.headers(PLATFORM), "Idempotency-Key": "start-sealed-1"}
    payload = {"query": START, "variables": {"input": start_input(sale)}}
    first = await tokens.http.post("/graphql", json=payload, headers=headers)
    token = first.json()["data"]["startPurchase"]["paymentToken"]
    assert token
    stored = await scalar(
        database,
        "SELECT response_body::text FROM idempotency_records WHERE key = :key",
        key="start-sealed-1",
    )
    assert stored is not None
    assert token not in stored
    assert "paymentToken" not in stored
    again = await tokens.http.post("/graphql", json=payload, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
