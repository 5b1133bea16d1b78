"""The catalog filter's validation (``CourseSearch.checked``): what it accepts and refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.enums import LearningMethod
from core.errors import ErrorCode, GatewayError
from resolvers.catalog import (
    MAX_CODE_LENGTH,
    MAX_LIST_FILTER,
    MAX_PRICE,
    MAX_SEARCH_LENGTH,
    MIN_SEARCH_LENGTH,
    CourseSearch,
    check_date_range,
)


def _code(**values: object) -> ErrorCode:
    with pytest.raises(GatewayError) as caught:
        CourseSearch.checked(**values)
    return caught.value.code


def test_a_sensible_filter_is_accepted_as_given() -> None:
    search = CourseSearch.checked(
        text="  pemrograman python ",
        categories=("Bahasa",),
        learning_methods=(LearningMethod.OFFLINE,),
        provider_code="LP-0001",
        min_price=0,
        max_price=MAX_PRICE,
    )
    assert search.text == "  pemrograman python "  # folded by the database, not here
    assert search.provider_code == "LP-0001"


def test_search_text_length_is_counted_without_surrounding_blanks() -> None:
    CourseSearch.checked(text="x" * MIN_SEARCH_LENGTH)
    CourseSearch.checked(text="x" * MAX_SEARCH_LENGTH)
    assert _code(text="   ") is ErrorCode.SEARCH_TEXT_EMPTY
    assert _code(text="") is ErrorCode.SEARCH_TEXT_EMPTY
    assert _code(text=" " + "x" * (MIN_SEARCH_LENGTH - 1) + " ") is ErrorCode.SEARCH_TEXT_TOO_SHORT
    assert _code(text="x" * (MAX_SEARCH_LENGTH + 1)) is ErrorCode.SEARCH_TEXT_TOO_LONG


def test_search_text_too_long_reports_the_maximum() -> None:
    with pytest.raises(GatewayError) as caught:
        CourseSearch.checked(text="x" * (MAX_SEARCH_LENGTH + 1))
    assert caught.value.extensions == {"maximum": MAX_SEARCH_LENGTH}


@pytest.mark.parametrize("name", ["categories", "learning_methods"])
def test_list_filters_are_bounded(name: str) -> None:
    value = ("Bahasa",) if name == "categories" else (LearningMethod.OFFLINE,)
    CourseSearch.checked(**{name: value * MAX_LIST_FILTER})
    assert _code(**{name: value * (MAX_LIST_FILTER + 1)}) is ErrorCode.BAD_USER_INPUT


@pytest.mark.parametrize("category", ["", "x" * 81])
def test_a_category_is_1_to_80_characters(category: str) -> None:
    assert _code(categories=(category,)) is ErrorCode.BAD_USER_INPUT


@pytest.mark.parametrize(
    "name", ["provider_code", "platform_code", "province_code", "regency_code"]
)
def test_codes_are_bounded(name: str) -> None:
    CourseSearch.checked(**{name: "x" * MAX_CODE_LENGTH})
    assert _code(**{name: ""}) is ErrorCode.BAD_USER_INPUT
    assert _code(**{name: "x" * (MAX_CODE_LENGTH + 1)}) is ErrorCode.BAD_USER_INPUT


def test_prices_must_lie_in_range_and_in_order() -> None:
    assert _code(min_price=-1) is ErrorCode.INVALID_PRICE_RANGE
    assert _code(max_price=MAX_PRICE + 1) is ErrorCode.INVALID_PRICE_RANGE
    assert _code(min_price=500, max_price=499) is ErrorCode.INVALID_PRICE_RANGE
    CourseSearch.checked(min_price=500, max_price=500)


def test_dates_need_a_zone_a_sane_year_and_an_order() -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    check_date_range(now, now + timedelta(seconds=1))
    check_date_range(None, None)
    for start, end in [
        (datetime(2024, 5, 1), None),  # naive
        (datetime(1999, 12, 31, tzinfo=UTC), None),
        (None, datetime(2100, 1, 1, tzinfo=UTC)),
        (now, now),
        (now, now - timedelta(days=1)),
    ]:
        with pytest.raises(GatewayError) as caught:
            check_date_range(start, end)
        assert caught.value.code is ErrorCode.INVALID_DATE_RANGE, (start, end)
    assert _code(starts_from=now, starts_before=now) is ErrorCode.INVALID_DATE_RANGE
