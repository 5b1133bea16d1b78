"""The schema's shared input checks (``schema/common.py``): id cursors, codes, card numbers."""

from __future__ import annotations

import base64
import json

import pytest

from core.errors import ErrorCode, GatewayError
from core.limits import COURSE_CODE_LENGTH
from schema.common import check_card_number, check_code, encode_cursor, id_after


def _raw(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _code(call: object, *args: object) -> ErrorCode:
    with pytest.raises(GatewayError) as refused:
        call(*args)  # type: ignore[operator]
    return refused.value.code


def test_an_id_cursor_round_trips_and_none_starts_the_list() -> None:
    assert id_after(None) is None
    assert id_after(encode_cursor([42])) == 42
    assert id_after(encode_cursor([2**63 - 1])) == 2**63 - 1


@pytest.mark.parametrize("key", [[2**63], [10**30], [-1], ["42"], [1.5], [True]])
def test_an_id_cursor_outside_a_bigint_is_invalid(key: list[object]) -> None:
    assert _code(id_after, _raw(key)) is ErrorCode.INVALID_CURSOR


def test_codes_are_bounded_by_their_column_and_their_characters() -> None:
    assert check_code("LP0001-C0001", "courseCode", COURSE_CODE_LENGTH) == "LP0001-C0001"
    too_long = "x" * (COURSE_CODE_LENGTH + 1)
    for bad in (too_long, "", "A B", "A\x00", "kode\n", "\ud800"):  # no trailing newline either
        assert _code(check_code, bad, "courseCode", COURSE_CODE_LENGTH) is ErrorCode.BAD_USER_INPUT


def test_a_card_number_is_exactly_sixteen_digits() -> None:
    assert check_card_number("3171010101010001") == "3171010101010001"
    for bad in ("317101010101000", "31710101010100011", "3171010101010001\n", "317101010101000x"):
        assert _code(check_card_number, bad) is ErrorCode.BAD_USER_INPUT
