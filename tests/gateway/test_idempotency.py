"""Idempotency-Key on mutations: same key and body replay; another body is refused."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from core.db.database import Database
from tests.support.enrollment import PLATFORM, START, open_sale, scalar, start_input
from tests.support.gateway import Tokens


async def _post(
    tokens: Tokens, partner: str, body: dict[str, Any], key: str | None
) -> httpx.Response:
    headers = await tokens.headers(partner)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await tokens.http.post("/graphql", json=body, headers=headers)


async def test_same_key_same_body_replays_the_first_answer(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database)
    body = {"query": START, "variables": {"input": start_input(sale)}}
    key = f"k-{uuid.uuid4()}"
    first = await _post(tokens, PLATFORM, body, key)
    second = await _post(tokens, PLATFORM, body, key)
    assert "errors" not in first.json()
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    invoice = body["variables"]["input"]["invoiceCode"]  # type: ignore[index]
    assert (
        await scalar(database, "SELECT count(*) FROM purchases WHERE invoice_code = :i", i=invoice)
        == 1
    )
    # The answer is stored with the purchase, in the same transaction.
    stored = await scalar(
        database,
        "SELECT count(*) FROM idempotency_records WHERE key = :k AND response_body IS NOT NULL",
        k=key,
    )
    assert stored == 1


async def test_same_key_other_body_is_refused_and_changes_nothing(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database)
    key = f"k-{uuid.uuid4()}"
    first = {"query": START, "variables": {"input": start_input(sale)}}
    other = {"query": START, "variables": {"input": start_input(sale)}}  # another invoice code
    assert "errors" not in (await _post(tokens, PLATFORM, first, key)).json()
    before = await scalar(database, "SELECT count(*) FROM purchases")
    refused = await _post(tokens, PLATFORM, other, key)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await scalar(database, "SELECT count(*) FROM purchases") == before


async def test_keys_belong_to_one_client(tokens: Tokens, database: Database) -> None:
    sale = await open_sale(database)
    key = f"k-{uuid.uuid4()}"
    request = {"query": START, "variables": {"input": start_input(sale)}}
    mine = await _post(tokens, PLATFORM, request, key)
    # Another platform sending the same key (and body) gets its own answer, not a replay.
    theirs = await _post(tokens, "DP-002", request, key)
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json() != mine.json()
    records = "SELECT count(*) FROM idempotency_records WHERE key = :k"
    assert await scalar(database, records, k=key) == 2


async def test_a_refusal_is_replayed_too(tokens: Tokens, database: Database) -> None:
    sale = await open_sale(database)
    key = f"k-{uuid.uuid4()}"
    bad = {"query": START, "variables": {"input": start_input(sale, amount="1")}}
    first = await _post(tokens, PLATFORM, bad, key)
    assert first.json()["errors"][0]["extensions"]["code"] == "AMOUNT_MISMATCH"
    again = await _post(tokens, PLATFORM, bad, key)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


async def test_a_malformed_key_is_refused(tokens: Tokens, database: Database) -> None:
    sale = await open_sale(database)
    body = {"query": START, "variables": {"input": start_input(sale)}}
    for key in ("has space", "x" * 256, "tab\there"):
        response = await _post(tokens, PLATFORM, body, key)
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert (
        await scalar(database, "SELECT count(*) FROM purchases WHERE status = 'PENDING_OTP'") == 0
    )


async def test_queries_ignore_the_key(tokens: Tokens) -> None:
    query = {"query": "{ viewer { code } }"}
    first = await _post(tokens, PLATFORM, query, "same-key")
    second = await _post(tokens, PLATFORM, query, "same-key")
    assert "idempotent-replayed" not in second.headers
    assert first.json() == second.json()
