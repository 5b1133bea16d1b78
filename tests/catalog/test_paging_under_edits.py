"""A platform pages through the whole catalog while a provider edits: no duplicate, no gap."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.catalog import (
    APPROVE,
    PLATFORM,
    PMO,
    PROVIDER,
    SUBMIT,
    UPDATE_COURSE,
    all_pages,
    create_course,
    data,
    page,
)
from tests.support.gateway import Tokens


@pytest.mark.parametrize("order", ["CATALOG", "PRICE_ASC", "NEWEST", "START_DATE"])
async def test_paging_while_a_provider_edits(tokens: Tokens, order: str) -> None:
    before = {node["code"] for node in await all_pages(tokens, PLATFORM)}
    own = [
        node["code"]
        for node in await all_pages(tokens, PLATFORM, {"filter": {"providerCode": PROVIDER}})
    ]
    assert len(own) >= 6
    edited: set[str] = set()
    added: set[str] = set()

    seen: list[str] = []
    after: Any = None
    step = 0
    while True:
        connection = await page(tokens, PLATFORM, {"first": 50, "after": after, "orderBy": order})
        seen += [edge["node"]["code"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
        # Between two pages the provider edits one approved course (it leaves the catalog
        # for review) and gets a new one approved (it enters).
        if step < 6:
            code = own[step]
            body = await tokens.graphql(
                PROVIDER, UPDATE_COURSE, {"code": code, "input": {"hours": 99}}
            )
            data(body)
            edited.add(code)
            new = await create_course(tokens, price=str(150_000 + step * 200_000))
            data(await tokens.graphql(PROVIDER, SUBMIT, {"code": new}))
            data(await tokens.graphql(PMO, APPROVE, {"code": new}))
            added.add(new)
        step += 1

    assert len(seen) == len(set(seen)), "a course appeared twice"
    untouched = before - edited
    missing = untouched - set(seen)
    assert not missing, f"gap: {sorted(missing)[:5]}"
    assert set(seen) <= before | added
