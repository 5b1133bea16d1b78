"""Documents and helpers shared by the catalog tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from core.db.database import Database
from tests.support.gateway import Tokens

PAGE = """
query Page($first: Int, $after: String, $filter: CourseFilter, $orderBy: CourseOrder) {
  courses(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    edges {
      cursor
      node {
        code title price learningMethod status category createdAt
        provider { code name }
        regency { code province { code } }
        schedules(first: 3) { code startsAt seatsLeft quota }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

COURSE = """
query One($code: String!) {
  course(code: $code) { code title status price reviewReason provider { code }
    listedOn { code } schedules(first: 20) { code quota seatsLeft } }
}
"""

CREATE_COURSE = """
mutation Create($input: CourseInput!) {
  createCourse(input: $input) { course { code status title price provider { code } } }
}
"""

UPDATE_COURSE = """
mutation Update($code: String!, $input: CourseChangesInput!) {
  updateCourse(code: $code, input: $input) { course { code status title price } }
}
"""

SUBMIT = "mutation($code: String!) { submitCourse(code: $code) { course { code status } } }"
WITHDRAW = "mutation($code: String!) { withdrawCourse(code: $code) { course { code status } } }"
APPROVE = "mutation($code: String!) { approveCourse(code: $code) { course { code status } } }"
REJECT = """
mutation($code: String!, $reason: String!) {
  rejectCourse(code: $code, reason: $reason) { course { code status reviewReason } }
}
"""
SET_LISTINGS = """
mutation($code: String!, $platforms: [String!]!) {
  setCourseListings(code: $code, platformCodes: $platforms) { course { code listedOn { code } } }
}
"""
CREATE_SCHEDULE = """
mutation($course: String!, $input: ScheduleInput!) {
  createSchedule(courseCode: $course, input: $input) { schedule { code quota seatsLeft } }
}
"""
UPDATE_SCHEDULE = """
mutation($code: String!, $input: ScheduleChangesInput!) {
  updateSchedule(code: $code, input: $input) { schedule { code quota seatsLeft startsAt } }
}
"""

PLATFORM = "DP-001"
PROVIDER = "LP-0001"
OTHER_PROVIDER = "LP-0002"
PMO = "PMO"

NEW_COURSE: dict[str, Any] = {
    "title": "Perawatan Sepeda Listrik untuk Pemula",
    "description": "Peserta belajar merawat dan memperbaiki sepeda listrik di bengkel.",
    "category": "Teknik dan Otomotif",
    "learningMethod": "WEBINAR",
    "price": "450000",
    "hours": 12,
}


def data(body: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a successful answer (failing the test with the errors otherwise)."""
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def page(
    tokens: Tokens, partner: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    connection: dict[str, Any] = data(await tokens.graphql(partner, PAGE, variables))["courses"]
    return connection


async def all_pages(
    tokens: Tokens, partner: str, variables: dict[str, Any] | None = None, first: int = 100
) -> list[dict[str, Any]]:
    """Every node of a connection, following endCursor to the end."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        connection = await page(
            tokens, partner, {**(variables or {}), "first": first, "after": after}
        )
        nodes += [edge["node"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]


async def create_course(tokens: Tokens, partner: str = PROVIDER, **changes: Any) -> str:
    body = await tokens.graphql(partner, CREATE_COURSE, {"input": {**NEW_COURSE, **changes}})
    code: str = data(body)["createCourse"]["course"]["code"]
    return code


async def approved_course(tokens: Tokens, partner: str = PROVIDER, **changes: Any) -> str:
    """A new course of ``partner``, submitted and approved by programme management."""
    code = await create_course(tokens, partner, **changes)
    data(await tokens.graphql(partner, SUBMIT, {"code": code}))
    data(await tokens.graphql(PMO, APPROVE, {"code": code}))
    return code


@contextmanager
def counting(database: Database) -> Iterator[list[str]]:
    """The SQL statements the engine sends while the block runs."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


# The catalog page the benchmarks call standard (bench/catalog_page.py), and every field of a
# course: the shapes the compiled reads and compiled documents are compared on.
STANDARD_PAGE = """
query Standard($first: Int, $after: String, $filter: CourseFilter, $orderBy: CourseOrder) {
  courses(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    edges { cursor node {
      code title price learningMethod
      provider { name }
      schedules(first: 3, withSeatsLeft: true) { code startsAt seatsLeft }
    } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

EVERY_COURSE_FIELD = """
query Every($filter: CourseFilter, $first: Int) {
  courses(first: $first, filter: $filter) {
    __typename
    edges { __typename cursor node {
      __typename id code title description category learningMethod price hours
      minAge maxAge minEducation status reviewReason createdAt updatedAt approvedAt
      provider { __typename id code name }
      schedules(first: 20) { __typename id code startsAt endsAt quota seatsLeft }
    } }
    pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
