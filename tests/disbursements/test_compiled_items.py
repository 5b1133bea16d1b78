"""A batch's items page answered by the compiled read (``schema.compiled``) is exactly the
normal executor's answer, and the compiled read does take over.

Every document runs through two apps on the same database: one with compiled reads on
(the default) and one with ``compiled_reads=False`` (the switch of every compiled read).
The JSON bodies must be identical; which path answered is read off the SQL it ran (a
compiled read's statement carries ``COMPILED_READ_MARK``), never off timings. The account
number rule is part of the answer: shown only in the paying partner's own unsettled items,
masked for its settled ones and for programme management.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.db.database import Database
from schema.compiled import FALLBACKS, FallbackReason
from tests.support.compiled import Apps, compiled_and_normal
from tests.support.credentials import SharedCredentials
from tests.support.disbursements import (
    ITEMS,
    OTHER_PARTNER,
    PARTNER,
    PMO,
    acknowledge,
    all_items,
    batch_of,
    data,
    report,
    result,
)
from tests.support.gateway import graphql

FIELD = "DisbursementBatch.items"

EVERY_FIELD = """
query Every($code: String!, $first: Int, $after: String) {
  disbursementBatch(code: $code) {
    items(first: $first, after: $after) {
      __typename
      edges { __typename cursor node {
        __typename endToEndId batchCode amount status reasonCode partnerReference reportedAt
        createdAt installmentId installmentKind installmentSequence beneficiaryName
        accountKind accountNumber accountNumberMasked
      } }
      pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""

SHAPES = [
    # Aliases, the same key twice (merged as graphql-core merges it), a named fragment
    # and an inline one on the item's own type.
    """query($code: String!) { disbursementBatch(code: $code) {
         page: items(first: 3) { edges { node { e2e: endToEndId ...Money } }
                                 edges { cursor node { ... on DisbursementItem { status } } } }
       } }
       fragment Money on DisbursementItem { amount accountNumber accountNumberMasked }""",
    # Only the page's position.
    """query($code: String!) { disbursementBatch(code: $code) {
         items(first: 2) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }""",
    # Every argument left to its default, nothing but type names.
    """query($code: String!) { disbursementBatch(code: $code) {
         items { __typename edges { __typename node { __typename } } } } }""",
    # Two pages of the same batch in one document, with different arguments.
    """query($code: String!) { disbursementBatch(code: $code) {
         a: items(first: 1) { edges { node { endToEndId } } }
         b: items(first: 4) { edges { node { endToEndId installmentId } } } } }""",
]

# Inside a list: one plan for every batch of the page, each batch its own items.
IN_EVERY_BATCH = """
{ disbursementBatches(first: 20) { edges { node { code
    items(first: 5) { edges { node { endToEndId batchCode accountNumber accountNumberMasked } }
                      pageInfo { hasNextPage endCursor } } } } } }
"""

WITH_DIRECTIVE = """
query($code: String!, $on: Boolean!) { disbursementBatch(code: $code) {
  items(first: 3) { edges { node { endToEndId status @include(if: $on) } } } } }
"""


@pytest.fixture
async def apps(database: Database, shared_credentials: SharedCredentials) -> AsyncIterator[Apps]:
    async with compiled_and_normal(database, shared_credentials, partner=PARTNER) as both:
        yield both


@pytest.fixture
async def batch(apps: Apps) -> dict[str, Any]:
    """The partner's acknowledged batch with one item paid, one failed, the rest SENT."""
    made = await batch_of(apps.tokens, PARTNER)
    data(await acknowledge(apps.tokens, PARTNER, made))
    items = await all_items(apps.tokens, PARTNER, made["code"])
    assert len(items) >= 4, items
    results = [
        result(items[0]["endToEndId"], "PAID"),
        result(items[1]["endToEndId"], "FAILED", reason="ACCOUNT_CLOSED"),
    ]
    data(await report(apps.tokens, PARTNER, made["code"], results))
    return made


async def _compiled(apps: Apps, query: str, variables: dict[str, Any], **how: Any) -> Any:
    body, answered = await apps.both(query, variables, **how)
    assert answered, "the compiled read should answer this document"
    return data(body)


async def test_every_field_for_the_paying_partner(apps: Apps, batch: dict[str, Any]) -> None:
    answer = await _compiled(apps, EVERY_FIELD, {"code": batch["code"], "first": 1000})
    nodes = [edge["node"] for edge in answer["disbursementBatch"]["items"]["edges"]]
    # The tenancy rule holds on the compiled path: the number in the unsettled items
    # only, masked in the paid one and the failed one.
    masked = {node["status"]: node["accountNumberMasked"] for node in nodes}
    assert masked == {"PAID": True, "FAILED": True, "SENT": False}
    for node in nodes:
        assert ("*" in node["accountNumber"]) is node["accountNumberMasked"], node
    assert nodes[0]["installmentId"].startswith("SW5zdGFsbG1lbnQ6")  # "Installment:"


async def test_every_field_masked_for_programme_management(
    apps: Apps, batch: dict[str, Any]
) -> None:
    answer = await _compiled(apps, EVERY_FIELD, {"code": batch["code"]}, partner=PMO)
    nodes = [edge["node"] for edge in answer["disbursementBatch"]["items"]["edges"]]
    assert nodes and all(node["accountNumberMasked"] for node in nodes)


async def test_another_payment_partner_gets_the_same_refusal(
    apps: Apps, batch: dict[str, Any]
) -> None:
    body, _ = await apps.both(ITEMS, {"code": batch["code"]}, partner=OTHER_PARTNER)
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BATCH_NOT_FOUND"]


@pytest.mark.parametrize("document", SHAPES)
async def test_more_selection_shapes(apps: Apps, batch: dict[str, Any], document: str) -> None:
    await _compiled(apps, document, {"code": batch["code"]})


async def test_pages_and_cursors_of_either_path(apps: Apps, batch: dict[str, Any]) -> None:
    after, seen = None, []
    while True:
        answer = await _compiled(
            apps, EVERY_FIELD, {"code": batch["code"], "first": 3, "after": after}
        )
        connection = answer["disbursementBatch"]["items"]
        seen += [edge["node"]["endToEndId"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    everything = await all_items(apps.tokens, PARTNER, batch["code"])
    assert seen == [item["endToEndId"] for item in everything]


async def test_the_items_of_every_batch_of_a_list(apps: Apps, batch: dict[str, Any]) -> None:
    for partner in (PARTNER, PMO):
        answer = await _compiled(apps, IN_EVERY_BATCH, {}, partner=partner)
        for edge in answer["disbursementBatches"]["edges"]:
            codes = {item["node"]["batchCode"] for item in edge["node"]["items"]["edges"]}
            assert codes <= {edge["node"]["code"]}


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": 0}, "INVALID_PAGE_SIZE"),
        ({"first": 1001}, "INVALID_PAGE_SIZE"),
        ({"after": "not a cursor"}, "INVALID_CURSOR"),
    ],
)
async def test_refusals_are_the_same(
    apps: Apps, batch: dict[str, Any], variables: dict[str, Any], code: str
) -> None:
    body, _ = await apps.both(ITEMS, {"code": batch["code"], **variables})
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]


async def test_a_directive_takes_the_normal_path_and_is_counted(
    apps: Apps, batch: dict[str, Any]
) -> None:
    before = FALLBACKS.count(FIELD, FallbackReason.DIRECTIVE)
    body, answered = await apps.both(WITH_DIRECTIVE, {"code": batch["code"], "on": True})
    assert not answered
    assert "errors" not in body
    assert FALLBACKS.count(FIELD, FallbackReason.DIRECTIVE) == before + 1


async def test_switched_off_is_counted_as_disabled(apps: Apps, batch: dict[str, Any]) -> None:
    before = FALLBACKS.count(FIELD, FallbackReason.DISABLED)
    token = await apps.tokens.issue(PARTNER)
    data(await graphql(apps.normal, ITEMS, {"code": batch["code"]}, token=token))
    assert FALLBACKS.count(FIELD, FallbackReason.DISABLED) == before + 1
