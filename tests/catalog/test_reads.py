"""Reading the catalog: filters, orders, search, visibility, one course, providers, categories."""

from __future__ import annotations

from typing import Any

from tests.support.catalog import (
    COURSE,
    OTHER_PROVIDER,
    PLATFORM,
    PMO,
    PROVIDER,
    all_pages,
    codes,
    create_course,
    data,
    page,
)
from tests.support.gateway import Tokens


async def test_default_page_is_the_public_catalog_in_a_stable_order(tokens: Tokens) -> None:
    connection = await page(tokens, PLATFORM, {"first": 20})
    nodes = [edge["node"] for edge in connection["edges"]]
    assert len(nodes) == 20
    assert connection["pageInfo"]["hasNextPage"] is True
    assert all(node["status"] == "APPROVED" for node in nodes)
    assert [node["code"] for node in nodes] == sorted(node["code"] for node in nodes)
    first = nodes[0]
    assert first["provider"]["name"]
    assert len(first["schedules"]) <= 3
    starts = [schedule["startsAt"] for schedule in first["schedules"]]
    assert starts == sorted(starts)


async def test_the_whole_public_catalog_pages_without_duplicates(tokens: Tokens) -> None:
    nodes = await all_pages(tokens, PLATFORM)
    found = [node["code"] for node in nodes]
    assert len(found) == len(set(found)) == 2100  # every approved course of the seed


async def test_typo_tolerant_accent_and_case_insensitive_search(tokens: Tokens) -> None:
    connection = await page(
        tokens, PLATFORM, {"first": 20, "filter": {"search": "pemograman piton"}}
    )
    titles = [edge["node"]["title"] for edge in connection["edges"]]
    assert "Pemrograman Python untuk Pemula" in titles
    # Accents and case do not matter.
    accented = await page(
        tokens, PLATFORM, {"first": 20, "filter": {"search": "PÉMROGRAMAN PÝTHON"}}
    )
    assert "Pemrograman Python untuk Pemula" in [
        edge["node"]["title"] for edge in accented["edges"]
    ]


async def test_relevance_order_ranks_the_best_match_first(tokens: Tokens) -> None:
    nodes = await all_pages(tokens, PLATFORM, {"filter": {"search": "pemrograman python"}}, 10)
    assert nodes, "something matches"
    assert "python" in nodes[0]["title"].lower()
    assert len({node["code"] for node in nodes}) == len(nodes)


async def test_search_covers_the_provider_name(tokens: Tokens) -> None:
    provider = data(await tokens.graphql(PLATFORM, '{ provider(code: "LP-0001") { name } }'))
    name = provider["provider"]["name"]
    nodes = await all_pages(tokens, PLATFORM, {"filter": {"search": name[:60]}})
    assert any(node["provider"]["code"] == PROVIDER for node in nodes)


async def test_filters_narrow_the_page(tokens: Tokens) -> None:
    sample = [edge["node"] for edge in (await page(tokens, PLATFORM, {"first": 100}))["edges"]]
    category = sample[0]["category"]
    nodes = await all_pages(
        tokens,
        PLATFORM,
        {
            "filter": {
                "categories": [category],
                "learningMethods": ["WEBINAR", "SELF_PACED"],
                "minPrice": "200000",
                "maxPrice": "700000",
            }
        },
    )
    assert nodes
    for node in nodes:
        assert node["category"] == category
        assert node["learningMethod"] in {"WEBINAR", "SELF_PACED"}
        assert 200_000 <= int(node["price"]) <= 700_000

    by_provider = await all_pages(tokens, PLATFORM, {"filter": {"providerCode": PROVIDER}})
    assert by_provider and {node["provider"]["code"] for node in by_provider} == {PROVIDER}


async def test_place_filters_find_offline_trainings_there(tokens: Tokens) -> None:
    offline = await all_pages(tokens, PLATFORM, {"filter": {"learningMethods": ["OFFLINE"]}})
    assert offline
    regency = offline[0]["regency"]
    in_regency = await all_pages(tokens, PLATFORM, {"filter": {"regencyCode": regency["code"]}})
    assert offline[0]["code"] in {node["code"] for node in in_regency}
    assert {node["regency"]["code"] for node in in_regency} == {regency["code"]}
    province = regency["province"]["code"]
    in_province = await all_pages(tokens, PLATFORM, {"filter": {"provinceCode": province}})
    assert {node["regency"]["province"]["code"] for node in in_province} == {province}
    assert len(in_province) >= len(in_regency)


async def test_platform_filter_lists_only_what_the_platform_sells(tokens: Tokens) -> None:
    nodes = await all_pages(tokens, PLATFORM, {"filter": {"platformCode": PLATFORM}})
    assert 0 < len(nodes) < 2100
    sample = nodes[0]["code"]
    listed = data(await tokens.graphql(PLATFORM, COURSE, {"code": sample}))["course"]["listedOn"]
    assert PLATFORM in {platform["code"] for platform in listed}


async def test_schedule_window_and_seats_filters(tokens: Tokens) -> None:
    window = {"startsFrom": "2020-06-01T00:00:00Z", "startsBefore": "2020-07-01T00:00:00Z"}
    nodes = await all_pages(
        tokens, PLATFORM, {"filter": {**window, "withSeatsLeft": True}, "orderBy": "START_DATE"}
    )
    assert nodes
    assert len(nodes) < 2100
    query = """query($code: String!) { course(code: $code) { schedules(first: 20) {
        startsAt seatsLeft } } }"""
    for node in nodes[:10]:
        schedules = data(await tokens.graphql(PLATFORM, query, {"code": node["code"]}))
        assert any(
            "2020-06" in schedule["startsAt"] and schedule["seatsLeft"] > 0
            for schedule in schedules["course"]["schedules"]
        ), node["code"]


def _keys(nodes: list[dict[str, Any]], name: str) -> list[Any]:
    return [int(node[name]) if name == "price" else node[name] for node in nodes]


async def test_every_order_is_monotone_and_complete(tokens: Tokens) -> None:
    filter_ = {"categories": ["Teknologi Informasi", "Bahasa"]}
    everything = await all_pages(tokens, PLATFORM, {"filter": filter_})
    expected = {node["code"] for node in everything}
    for order, key, descending in (
        ("PRICE_ASC", "price", False),
        ("PRICE_DESC", "price", True),
        ("NEWEST", "createdAt", True),
        ("START_DATE", None, False),
    ):
        nodes = await all_pages(tokens, PLATFORM, {"filter": filter_, "orderBy": order}, 37)
        assert [node["code"] for node in nodes if node["code"] in expected] == [
            node["code"] for node in nodes
        ]
        assert {node["code"] for node in nodes} == expected, order
        assert len(nodes) == len(expected), order
        if key is not None:
            values = _keys(nodes, key)
            assert values == sorted(values, reverse=descending), order


async def test_a_cursor_of_one_order_is_refused_by_another(tokens: Tokens) -> None:
    connection = await page(tokens, PLATFORM, {"first": 5, "orderBy": "PRICE_ASC"})
    cursor = connection["pageInfo"]["endCursor"]
    body = await tokens.graphql(
        PLATFORM,
        "query($after: String) { courses(first: 5, after: $after, orderBy: NEWEST) "
        "{ edges { cursor } } }",
        {"after": cursor},
    )
    assert codes(body) == ["INVALID_CURSOR"]


async def test_drafts_are_seen_by_their_provider_only(tokens: Tokens) -> None:
    code = await create_course(tokens)
    everything = {"filter": {"statuses": ["DRAFT"], "providerCode": PROVIDER}}
    own = await all_pages(tokens, PROVIDER, everything)
    assert code in {node["code"] for node in own}
    assert await all_pages(tokens, PLATFORM, everything) == []
    assert await all_pages(tokens, OTHER_PROVIDER, everything) == []
    assert code in {node["code"] for node in await all_pages(tokens, PMO, everything)}
    # ... and one by code likewise: NOT_FOUND for everyone else.
    assert (
        data(await tokens.graphql(PROVIDER, COURSE, {"code": code}))["course"]["status"] == "DRAFT"
    )
    for other in (PLATFORM, OTHER_PROVIDER):
        assert codes(await tokens.graphql(other, COURSE, {"code": code})) == ["NOT_FOUND"]
    # The public catalog of the provider itself is the same as everyone's by default.
    assert code not in {node["code"] for node in await all_pages(tokens, PROVIDER, {"first": 100})}


async def test_provider_and_categories(tokens: Tokens) -> None:
    body = data(await tokens.graphql(PLATFORM, '{ provider(code: "LP-0001") { code name id } }'))
    assert body["provider"]["code"] == PROVIDER
    assert codes(await tokens.graphql(PLATFORM, '{ provider(code: "DP-001") { code } }')) == [
        "NOT_FOUND"
    ]
    categories = data(await tokens.graphql(PLATFORM, "{ categories { name courseCount } }"))
    counts = {item["name"]: item["courseCount"] for item in categories["categories"]}
    assert sum(counts.values()) == 2100
    nodes = await all_pages(tokens, PLATFORM, {"filter": {"categories": ["Bahasa"]}})
    assert counts["Bahasa"] == len(nodes)
