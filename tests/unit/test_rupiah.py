"""The ``Rupiah`` scalar's input parsing: whole numbers only, never a float, never too long."""

from __future__ import annotations

import pytest

from core.errors import ErrorCode, GatewayError
from schema.scalars import MAX_RUPIAH_DIGITS, RUPIAH_SCALAR

parse = RUPIAH_SCALAR.parse_value
serialize = RUPIAH_SCALAR.serialize


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        ("600000", 600_000),
        (600000, 600_000),
        ("0", 0),
        ("-5", -5),  # a sign is syntax; whether negatives are allowed is each field's rule
        ("9" * MAX_RUPIAH_DIGITS, int("9" * MAX_RUPIAH_DIGITS)),
        ("00042", 42),
        (2**40, 2**40),  # batch sums beyond 2^31
    ],
)
def test_whole_numbers_are_accepted(given: object, parsed: int) -> None:
    assert parse(given) == parsed


@pytest.mark.parametrize(
    "given",
    [
        "600000.0",
        "6e5",
        600000.0,
        " 600000",
        "600 000",
        "+600000",
        "",
        "-",
        "٣٤",  # Arabic-Indic digits: isdigit() says yes, the scalar says no
        True,
        None,
        [600000],
    ],
)
def test_anything_else_is_bad_input(given: object) -> None:
    with pytest.raises(GatewayError) as caught:
        parse(given)
    assert caught.value.code is ErrorCode.BAD_USER_INPUT


@pytest.mark.parametrize("given", ["1" + "0" * MAX_RUPIAH_DIGITS, "-" + "9" * 19])
def test_huge_amounts_are_refused_before_they_reach_a_bigint(given: str) -> None:
    with pytest.raises(GatewayError) as caught:
        parse(given)
    assert "too large" in caught.value.message


def test_amounts_go_out_as_decimal_strings_keeping_every_digit() -> None:
    assert serialize(600_000) == "600000"
    assert serialize(2**53 + 1) == str(2**53 + 1)
