"""Schedules: a provider's own, with seats that are never given away twice."""

from __future__ import annotations

from sqlalchemy import update

from core.db.database import Database
from core.models import Schedule
from tests.support.catalog import (
    CREATE_SCHEDULE,
    OTHER_PROVIDER,
    PROVIDER,
    UPDATE_SCHEDULE,
    codes,
    create_course,
    data,
)
from tests.support.gateway import Tokens

WINDOW = {"startsAt": "2030-03-02T08:00:00+07:00", "endsAt": "2030-03-20T17:00:00+07:00"}


async def _schedule(tokens: Tokens, course: str, quota: int = 30) -> str:
    body = await tokens.graphql(
        PROVIDER, CREATE_SCHEDULE, {"course": course, "input": {**WINDOW, "quota": quota}}
    )
    schedule = data(body)["createSchedule"]["schedule"]
    assert schedule["quota"] == schedule["seatsLeft"] == quota
    code: str = schedule["code"]
    return code


async def test_quota_never_drops_below_the_seats_taken(tokens: Tokens, database: Database) -> None:
    course = await create_course(tokens)
    code = await _schedule(tokens, course, quota=30)
    # Twelve seats are sold (as purchases would take them).
    async with database.sessionmaker() as session:
        await session.execute(update(Schedule).where(Schedule.code == code).values(remaining=18))
        await session.commit()

    body = await tokens.graphql(PROVIDER, UPDATE_SCHEDULE, {"code": code, "input": {"quota": 11}})
    assert codes(body) == ["QUOTA_BELOW_TAKEN"]
    assert body["errors"][0]["extensions"]["taken"] == 12

    body = await tokens.graphql(PROVIDER, UPDATE_SCHEDULE, {"code": code, "input": {"quota": 12}})
    assert data(body)["updateSchedule"]["schedule"] | {} == {
        "code": code,
        "quota": 12,
        "seatsLeft": 0,
        "startsAt": "2030-03-02T01:00:00+00:00",
    }
    body = await tokens.graphql(PROVIDER, UPDATE_SCHEDULE, {"code": code, "input": {"quota": 40}})
    assert data(body)["updateSchedule"]["schedule"]["seatsLeft"] == 28


async def test_schedules_of_another_provider_are_not_found(tokens: Tokens) -> None:
    course = await create_course(tokens)
    code = await _schedule(tokens, course)
    body = await tokens.graphql(
        OTHER_PROVIDER, UPDATE_SCHEDULE, {"code": code, "input": {"quota": 5}}
    )
    assert codes(body) == ["NOT_FOUND"]
    body = await tokens.graphql(
        OTHER_PROVIDER, CREATE_SCHEDULE, {"course": course, "input": {**WINDOW, "quota": 5}}
    )
    assert codes(body) == ["NOT_FOUND"]


async def test_schedule_windows_and_quotas_are_checked(tokens: Tokens) -> None:
    course = await create_course(tokens)
    for window, quota, code in (
        ({"startsAt": WINDOW["endsAt"], "endsAt": WINDOW["startsAt"]}, 5, "INVALID_DATE_RANGE"),
        (
            {"startsAt": "1999-01-01T00:00:00Z", "endsAt": "1999-02-01T00:00:00Z"},
            5,
            "INVALID_DATE_RANGE",
        ),
        (
            {"startsAt": "2030-01-01T00:00:00Z", "endsAt": "2032-01-01T00:00:00Z"},
            5,
            "INVALID_DATE_RANGE",
        ),
        (WINDOW, 0, "BAD_USER_INPUT"),
        (WINDOW, 1_000_000, "BAD_USER_INPUT"),
    ):
        body = await tokens.graphql(
            PROVIDER, CREATE_SCHEDULE, {"course": course, "input": {**window, "quota": quota}}
        )
        assert codes(body) == [code], (window, quota, body)
