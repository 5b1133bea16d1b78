"""Keyset cursors and global ids (``schema/common.py``): round trips and every refusal."""

from __future__ import annotations

import base64
import json

import pytest

from core.errors import ErrorCode, GatewayError
from resolvers.catalog import CourseOrder, Keyset
from schema.common import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    check_page_size,
    decode_cursor,
    encode_cursor,
    from_global_id,
    to_global_id,
)


def _raw(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "key", [[1], [7, 123456789012], ["PRICE_ASC", 450000, 42], [0.5, "é ü", -3]]
)
def test_a_cursor_decodes_to_the_key_it_encodes(key: list[object]) -> None:
    cursor = encode_cursor(key)
    assert "=" not in cursor  # url-safe, unpadded: it travels in query strings
    assert decode_cursor(cursor, length=len(key)) == key


def _refusal(cursor: str, length: int) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        decode_cursor(cursor, length=length)
    return caught.value


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        _raw([1])[:-1] + "*",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
        base64.urlsafe_b64encode(b"[1,").decode(),  # not JSON
        _raw([True]),  # a bool is not a key part, although JSON-wise an int
        _raw([None]),
        _raw([[1]]),
        _raw([{"id": 1}]),
        "A" * 513,  # longer than any cursor the gateway makes
    ],
)
def test_a_malformed_cursor_is_refused_as_invalid(cursor: str) -> None:
    error = _refusal(cursor, 1)
    assert error.code is ErrorCode.INVALID_CURSOR


@pytest.mark.parametrize("value", [[1, 2], [], {"id": 1}, 1, "1"])
def test_a_cursor_of_another_shape_does_not_belong_to_this_list(value: object) -> None:
    error = _refusal(_raw(value), 1)
    assert error.code is ErrorCode.INVALID_CURSOR
    assert "does not belong" in error.message


def test_page_size_defaults_and_bounds() -> None:
    assert check_page_size(None) == DEFAULT_PAGE_SIZE
    assert check_page_size(None, maximum=5) == 5
    assert check_page_size(1) == 1
    assert check_page_size(MAX_PAGE_SIZE) == MAX_PAGE_SIZE
    for wrong in (0, -1, MAX_PAGE_SIZE + 1):
        with pytest.raises(GatewayError) as caught:
            check_page_size(wrong)
        assert caught.value.code is ErrorCode.INVALID_PAGE_SIZE
        assert caught.value.extensions == {"maximum": MAX_PAGE_SIZE}


def test_global_ids_round_trip_and_refuse_garbage() -> None:
    global_id = to_global_id("Course", 42)
    assert from_global_id(global_id) == ("Course", 42)
    assert to_global_id("Course", 42) != to_global_id("Partner", 42)
    for wrong in ("%%%", base64.urlsafe_b64encode(b"Course:x").decode()):
        with pytest.raises(GatewayError) as caught:
            from_global_id(wrong)
        assert caught.value.code is ErrorCode.BAD_USER_INPUT


def test_a_course_keyset_accepts_only_its_own_order() -> None:
    assert Keyset.from_cursor(CourseOrder.CATALOG, None) == Keyset(CourseOrder.CATALOG)
    assert Keyset.from_cursor(CourseOrder.CATALOG, [17]).after_id == 17
    price = Keyset.from_cursor(CourseOrder.PRICE_ASC, ["PRICE_ASC", 450000, 9])
    assert (price.key, price.after_id) == (450000, 9)
    for order, parts in [
        (CourseOrder.PRICE_ASC, ["NEWEST", 450000, 9]),  # another order's cursor
        (CourseOrder.PRICE_ASC, [9]),
        (CourseOrder.CATALOG, ["PRICE_ASC", 450000, 9]),
        (CourseOrder.CATALOG, ["9"]),  # ids are integers
        (CourseOrder.CATALOG, [True]),
        (CourseOrder.PRICE_ASC, ["PRICE_ASC", 1.5, 9]),
    ]:
        with pytest.raises(GatewayError) as caught:
            Keyset.from_cursor(order, parts)
        assert caught.value.code is ErrorCode.INVALID_CURSOR, (order, parts)
