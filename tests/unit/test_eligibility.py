"""Who may buy a course: status, deadline, balance, age, education.

The rules are `resolvers/enrollment/start.py` over `core/eligibility.py`.

The rules read one row of the offer statement; here that row is built by hand.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from core.eligibility import age_on
from core.enums import ParticipantStatus
from core.errors import ErrorCode, GatewayError
from resolvers.enrollment.start import _check_eligibility

NOW = datetime(2024, 6, 15, 10, 0, tzinfo=UTC)


def _offer(**changes: Any) -> Any:
    values: dict[str, Any] = {
        "participant_status": ParticipantStatus.RECIPIENT,
        "first_purchase_deadline": NOW + timedelta(days=1),
        "has_bought": False,
        "training_balance": 3_500_000,
        "birth_date": date(1990, 6, 15),
        "min_age": None,
        "max_age": None,
        "education": "SMA",
        "min_education": None,
    }
    values.update(changes)
    return SimpleNamespace(**values)


def _refusal(offer: Any, amount: int = 600_000) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        _check_eligibility(offer, amount, now=NOW)
    return caught.value


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(2000, 6, 15), date(2024, 6, 15), 24),  # the birthday itself counts
        (date(2000, 6, 16), date(2024, 6, 15), 23),
        (date(2000, 2, 29), date(2023, 2, 28), 22),  # leap-day births age on 1 March
        (date(2000, 2, 29), date(2023, 3, 1), 23),
        (date(2000, 12, 31), date(2001, 1, 1), 0),
    ],
)
def test_age_is_counted_in_whole_years_up_to_the_day(birth: date, day: date, age: int) -> None:
    assert age_on(birth, day) == age


def test_an_active_recipient_in_time_with_balance_may_buy() -> None:
    _check_eligibility(_offer(), 600_000, now=NOW)
    _check_eligibility(_offer(training_balance=600_000), 600_000, now=NOW)  # exactly enough


@pytest.mark.parametrize("status", [ParticipantStatus.REGISTERED, ParticipantStatus.REVOKED])
def test_only_an_active_recipient_may_buy(status: ParticipantStatus) -> None:
    assert _refusal(_offer(participant_status=status)).code is ErrorCode.NOT_ELIGIBLE


def test_the_first_purchase_deadline_binds_only_the_first_purchase() -> None:
    late = _offer(first_purchase_deadline=NOW - timedelta(seconds=1))
    assert _refusal(late).code is ErrorCode.PURCHASE_DEADLINE_PASSED
    _check_eligibility(_offer(first_purchase_deadline=NOW), 600_000, now=NOW)  # not yet past
    _check_eligibility(
        _offer(first_purchase_deadline=NOW - timedelta(days=9), has_bought=True), 1, now=NOW
    )


def test_the_balance_must_cover_the_amount() -> None:
    assert _refusal(_offer(training_balance=599_999)).code is ErrorCode.BALANCE_INSUFFICIENT


@pytest.mark.parametrize(
    ("min_age", "max_age", "allowed"),
    [
        (34, None, True),  # 34 today
        (35, None, False),
        (None, 34, True),
        (None, 33, False),
        (18, 64, True),
    ],
)
def test_the_course_age_rule_is_inclusive(
    min_age: int | None, max_age: int | None, allowed: bool
) -> None:
    offer = _offer(min_age=min_age, max_age=max_age)
    if allowed:
        _check_eligibility(offer, 600_000, now=NOW)
    else:
        error = _refusal(offer)
        assert error.code is ErrorCode.NOT_ELIGIBLE
        assert "age" in error.message


@pytest.mark.parametrize(
    ("education", "minimum", "allowed"),
    [("SMA", "SMA", True), ("S1", "SMA", True), ("SMP", "SMA", False), ("D3", "S1", False)],
)
def test_the_course_education_minimum(education: str, minimum: str, allowed: bool) -> None:
    offer = _offer(education=education, min_education=minimum)
    if allowed:
        _check_eligibility(offer, 600_000, now=NOW)
    else:
        error = _refusal(offer)
        assert error.code is ErrorCode.NOT_ELIGIBLE
        assert "education" in error.message
