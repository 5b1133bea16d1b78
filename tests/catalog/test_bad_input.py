"""Bad input: each gets its own stable code, never a 500 and never a full-table scan."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.catalog import (
    COURSE,
    CREATE_COURSE,
    NEW_COURSE,
    PAGE,
    PLATFORM,
    PROVIDER,
    UPDATE_COURSE,
    codes,
)
from tests.support.gateway import Tokens


def _cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": -1}, "INVALID_PAGE_SIZE"),
        ({"first": 0}, "INVALID_PAGE_SIZE"),
        ({"first": 101}, "INVALID_PAGE_SIZE"),
        ({"first": 2_000_000_000}, "INVALID_PAGE_SIZE"),
        ({"after": "not a cursor!"}, "INVALID_CURSOR"),
        ({"after": _cursor("[1, 2]")}, "INVALID_CURSOR"),
        ({"after": _cursor('["x"]')}, "INVALID_CURSOR"),
        ({"after": _cursor("{}")}, "INVALID_CURSOR"),
        ({"after": _cursor('["PRICE_DESC", 1, 2]'), "orderBy": "PRICE_ASC"}, "INVALID_CURSOR"),
        ({"after": _cursor('["PRICE_ASC", 1e400, 2]'), "orderBy": "PRICE_ASC"}, "INVALID_CURSOR"),
        (
            {"after": _cursor('["PRICE_ASC", 99999999999999999999999, 2]'), "orderBy": "PRICE_ASC"},
            "INVALID_CURSOR",
        ),
        ({"after": "A" * 10_000}, "INVALID_CURSOR"),
        ({"filter": {"search": ""}}, "SEARCH_TEXT_EMPTY"),
        ({"filter": {"search": "   "}}, "SEARCH_TEXT_EMPTY"),
        ({"filter": {"search": "a"}}, "SEARCH_TEXT_TOO_SHORT"),
        ({"filter": {"search": "x" * 10_000}}, "SEARCH_TEXT_TOO_LONG"),
        ({"filter": {"search": "x" * 101}}, "SEARCH_TEXT_TOO_LONG"),
        ({"filter": {"minPrice": "500000", "maxPrice": "100000"}}, "INVALID_PRICE_RANGE"),
        ({"filter": {"minPrice": "-1"}}, "INVALID_PRICE_RANGE"),
        ({"filter": {"maxPrice": "999999999999999999"}}, "INVALID_PRICE_RANGE"),
        (
            {
                "filter": {
                    "startsFrom": "2020-07-01T00:00:00Z",
                    "startsBefore": "2020-06-01T00:00:00Z",
                }
            },
            "INVALID_DATE_RANGE",
        ),
        ({"filter": {"startsFrom": "1900-01-01T00:00:00Z"}}, "INVALID_DATE_RANGE"),
        ({"filter": {"startsBefore": "9999-01-01T00:00:00Z"}}, "INVALID_DATE_RANGE"),
        ({"filter": {"providerCode": "LP-9999"}}, "NOT_FOUND"),
        ({"filter": {"providerCode": "DP-001"}}, "NOT_FOUND"),
        ({"filter": {"platformCode": "DP-999"}}, "NOT_FOUND"),
        ({"filter": {"provinceCode": "99"}}, "NOT_FOUND"),
        ({"filter": {"regencyCode": "9999"}}, "NOT_FOUND"),
        ({"filter": {"regencyCode": "x" * 1000}}, "BAD_USER_INPUT"),
        ({"filter": {"categories": ["Bahasa"] * 21}}, "BAD_USER_INPUT"),
        ({"orderBy": "RELEVANCE"}, "BAD_USER_INPUT"),
    ],
)
async def test_catalog_page_input_is_checked(
    tokens: Tokens, variables: dict[str, Any], code: str
) -> None:
    body = await tokens.graphql(PLATFORM, PAGE, variables)
    assert codes(body) == [code], body
    assert body.get("data") is None


async def test_malformed_scalars_are_validation_errors_not_crashes(tokens: Tokens) -> None:
    for variables in (
        {"filter": {"minPrice": "lots"}},
        {"filter": {"startsFrom": "yesterday"}},
        {"orderBy": "CHEAPEST"},
        {"first": "ten"},
    ):
        body = await tokens.graphql(PLATFORM, PAGE, variables)
        assert body["errors"], variables
        assert "INTERNAL_ERROR" not in codes(body), body


async def test_unknown_or_oversized_codes(tokens: Tokens) -> None:
    assert codes(await tokens.graphql(PLATFORM, COURSE, {"code": "CRS-999999"})) == ["NOT_FOUND"]
    assert codes(await tokens.graphql(PLATFORM, COURSE, {"code": ""})) == ["BAD_USER_INPUT"]
    assert codes(await tokens.graphql(PLATFORM, COURSE, {"code": "C" * 5000})) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"price": "0"}, "BAD_USER_INPUT"),
        ({"price": "1000000000000"}, "BAD_USER_INPUT"),
        ({"title": "x"}, "BAD_USER_INPUT"),
        ({"minAge": 40, "maxAge": 20}, "BAD_USER_INPUT"),
        ({"learningMethod": "OFFLINE"}, "BAD_USER_INPUT"),
        ({"learningMethod": "OFFLINE", "regencyCode": "0000"}, "NOT_FOUND"),
        ({"regencyCode": "3171"}, "BAD_USER_INPUT"),
    ],
)
async def test_course_input_is_checked(tokens: Tokens, changes: dict[str, Any], code: str) -> None:
    body = await tokens.graphql(PROVIDER, CREATE_COURSE, {"input": {**NEW_COURSE, **changes}})
    assert codes(body) == [code], body


async def test_an_empty_or_null_change_is_refused(tokens: Tokens) -> None:
    for changes in ({}, {"title": None}):
        body = await tokens.graphql(
            PROVIDER, UPDATE_COURSE, {"code": "CRS-000001", "input": changes}
        )
        assert codes(body) == ["BAD_USER_INPUT"], body
