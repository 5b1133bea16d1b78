"""Two payment partners never read, export, acknowledge or report each other's batches."""

from __future__ import annotations

import json

from tests.support.disbursements import (
    BATCHES,
    HISTORY,
    ITEMS,
    OTHER_PARTNER,
    PARTNER,
    RECONCILE,
    acknowledge,
    all_items,
    codes,
    create_batches,
    data,
    report,
    result,
)
from tests.support.gateway import Tokens


async def test_a_partner_cannot_touch_another_partners_batch(tokens: Tokens) -> None:
    made = await create_batches(tokens)
    mine = next(batch for batch in made if batch["paymentPartnerCode"] == PARTNER)
    theirs = next(batch for batch in made if batch["paymentPartnerCode"] == OTHER_PARTNER)
    their_items = await all_items(tokens, OTHER_PARTNER, theirs["code"])

    listed = data(await tokens.graphql(PARTNER, BATCHES, {"first": 100}))
    assert {e["node"]["paymentPartnerCode"] for e in listed["disbursementBatches"]["edges"]} == {
        PARTNER
    }
    for document, variables in (
        (ITEMS, {"code": theirs["code"]}),
        (RECONCILE, {"code": theirs["code"]}),
    ):
        assert codes(await tokens.graphql(PARTNER, document, variables)) == ["BATCH_NOT_FOUND"]
    history = await tokens.graphql(PARTNER, HISTORY, {"id": their_items[0]["installmentId"]})
    assert codes(history) == ["INSTALLMENT_NOT_FOUND"]

    # Acknowledging or reporting on it: not found, and nothing changes.
    assert codes(await acknowledge(tokens, PARTNER, theirs)) == ["BATCH_NOT_FOUND"]
    e2e = their_items[0]["endToEndId"]
    assert codes(await report(tokens, PARTNER, theirs["code"], [result(e2e, "PAID")])) == [
        "BATCH_NOT_FOUND"
    ]
    # Their item reported under my own batch: refused per item.
    assert "errors" not in await acknowledge(tokens, PARTNER, mine)
    answer = data(await report(tokens, PARTNER, mine["code"], [result(e2e, "PAID")]))
    outcome = answer["reportDisbursementResults"]["results"][0]
    assert outcome["outcome"] is None
    assert [error["code"] for error in outcome["errors"]] == ["ITEM_NOT_FOUND"]
    assert {item["status"] for item in await all_items(tokens, OTHER_PARTNER, theirs["code"])} == {
        "PENDING"
    }

    # The export: not found for the other partner, the items for the owner.
    headers = await tokens.headers(PARTNER)
    refused = await tokens.http.get(
        f"/disbursements/batches/{theirs['code']}/items.jsonl", headers=headers
    )
    assert refused.status_code == 404
    assert refused.json()["errors"][0]["extensions"]["code"] == "BATCH_NOT_FOUND"
    exported = await tokens.http.get(
        f"/disbursements/batches/{theirs['code']}/items.jsonl",
        headers=await tokens.headers(OTHER_PARTNER),
    )
    assert exported.status_code == 200
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [line["endToEndId"] for line in lines] == [item["endToEndId"] for item in their_items]
    assert sum(int(line["amount"]) for line in lines) == int(theirs["controlSum"])
    assert not any(line["accountNumberMasked"] for line in lines)


async def test_the_export_needs_a_token_and_the_scope(tokens: Tokens) -> None:
    made = await create_batches(tokens)
    path = f"/disbursements/batches/{made[0]['code']}/items.jsonl"
    assert (await tokens.http.get(path)).status_code == 401
    platform = await tokens.http.get(path, headers=await tokens.headers("DP-001"))
    assert platform.status_code == 403
    writer_only = await tokens.http.get(
        path, headers=await tokens.headers(made[0]["paymentPartnerCode"], ["disbursement:write"])
    )
    assert writer_only.status_code == 403
    # Programme management reads it, account numbers masked.
    pmo = await tokens.http.get(path, headers=await tokens.headers("PMO"))
    assert pmo.status_code == 200
    assert all(json.loads(line)["accountNumberMasked"] for line in pmo.text.splitlines())
