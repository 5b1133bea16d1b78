"""The catalog fast path answers exactly as the normal path does, and does take over.

Every document runs through two apps on the same database: one with the fast path (the
default) and one with ``compiled_reads=False``. The JSON bodies must be identical;
whether the fast path answered is read off the SQL it ran (its statements carry
``FAST_PATH_MARK``), never off timings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.db.database import Database
from schema.compiled import FALLBACKS, FallbackReason
from tests.support.catalog import (
    EVERY_COURSE_FIELD,
    OTHER_PROVIDER,
    PLATFORM,
    PMO,
    PROVIDER,
    STANDARD_PAGE,
    counting,
    create_course,
    data,
)
from tests.support.compiled import Apps, compiled_and_normal
from tests.support.credentials import SharedCredentials
from tests.support.gateway import graphql

ALIASES = """
{
  page: courses(first: 4) {
    kind: __typename
    all: edges { at: cursor course: node { ref: id name: title costs: price
      by: provider { label: name ref: id }
      soon: schedules(first: 2) { when: startsAt left: seatsLeft } } }
    where: pageInfo { more: hasNextPage last: endCursor }
  }
  again: courses(first: 2, orderBy: NEWEST) { edges { node { code createdAt } } }
}
"""

FRAGMENTS = """
query Fragments($seats: Boolean!, $n: Int!) {
  courses(first: 6, orderBy: PRICE_DESC) {
    ...Page
    edges { node { ... on Course { hours provider { ...Named } } } }
  }
}
fragment Page on CourseConnection {
  edges { cursor node { ...Card ... on Node { id } } }
  pageInfo { ... on PageInfo { endCursor } }
}
fragment Card on Course {
  code title
  schedules(first: $n, withSeatsLeft: $seats) { ...Slot }
}
fragment Named on Provider { code name }
fragment Slot on Schedule { code quota ... { seatsLeft } }
"""

DEFAULTS = """
query Defaults($n: Int = 2, $seats: Boolean) {
  courses(first: 5) {
    edges { node { code
      a: schedules { code }
      a: schedules { startsAt }
    } }
  }
  more: courses(first: 3) { edges { node { code schedules(first: $n, withSeatsLeft: $seats) {
    code } } } }
}
"""

WITH_REGENCY = """
query { courses(first: 5) { edges { node { code regency { code } listedOn { code } } } } }
"""

WITH_DIRECTIVE = """
query($on: Boolean!) { courses(first: 5) { edges { node { code title @include(if: $on) } } } }
"""

TWO_SCHEDULE_ARGUMENTS = """
{ courses(first: 5) { edges { node { code
  soon: schedules(first: 1) { code }
  open: schedules(first: 3, withSeatsLeft: true) { code } } } } }
"""

WITH_OTHER_ROOT_FIELDS = """
{ categories { name courseCount }
  courses(first: 3) { edges { node { code category } } } }
"""

SCHEDULES_OUT_OF_RANGE = """
query($n: Int!) { courses(first: 2) { edges { node { code schedules(first: $n) { code } } } } }
"""


@pytest.fixture
async def apps(database: Database, shared_credentials: SharedCredentials) -> AsyncIterator[Apps]:
    # No response cache (compiled_and_normal): every answer is computed by the path under test.
    async with compiled_and_normal(database, shared_credentials, partner=PLATFORM) as both:
        yield both


async def _fast(apps: Apps, query: str, variables: dict[str, Any] | None = None, **how: Any) -> Any:
    body, took_fast_path = await apps.both(query, variables, **how)
    answer = data(body)
    assert took_fast_path, "the fast path should answer this document"
    return answer


async def _normal(
    apps: Apps, query: str, variables: dict[str, Any] | None = None, **how: Any
) -> Any:
    body, took_fast_path = await apps.both(query, variables, **how)
    assert not took_fast_path, "this document needs the normal path"
    return body


MORE_SHAPES = [
    # Fragments on the Node interface and spreads inside the provider and the schedules.
    """{ courses(first: 3) { edges { node { provider { ... on Node { id } ...P }
         schedules { ... on Schedule { id endsAt } ... on Node { id } } } } } }
       fragment P on Provider { code name }""",
    # Only the page's position, in a price order.
    """{ courses(first: 10, orderBy: PRICE_ASC) {
         pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }""",
    # Nothing but the type name, with every argument left to its default.
    "{ courses { __typename } }",
    # Literal arguments, a filter object written inline.
    """{ courses(first: 5, orderBy: NEWEST, filter: {learningMethods: [WEBINAR],
         withSeatsLeft: true, maxPrice: "2000000"}) {
         edges { cursor node { code price learningMethod createdAt } } } }""",
    # The same response keys selected several times: merged as graphql-core merges them.
    """{ courses(first: 3) { edges { node { code } }
         edges { cursor node { title provider { name } } node { provider { code } } } } }""",
    # Only type names below the node, and every schedules argument left to its default.
    """{ courses(first: 4) { edges { node { __typename provider { __typename }
         schedules { __typename quota } } } } }""",
    # The largest schedules page, written with a defaulted variable.
    """query($seats: Boolean = false) { courses(first: 8, orderBy: START_DATE) { edges {
         node { id schedules(first: 20, withSeatsLeft: $seats) { id code endsAt } } } } }""",
    # An empty page: no edges, null cursors.
    """{ courses(first: 5, filter: {search: "zzqqxxjjvv"}) {
         edges { cursor } pageInfo { hasNextPage startCursor endCursor } } }""",
]


@pytest.mark.parametrize("document", MORE_SHAPES)
async def test_more_selection_shapes(apps: Apps, document: str) -> None:
    await _fast(apps, document)


async def test_the_standard_page(apps: Apps) -> None:
    page = (await _fast(apps, STANDARD_PAGE, {"first": 20}))["courses"]
    assert len(page["edges"]) == 20
    assert page["edges"][0]["node"]["provider"]["name"]
    assert isinstance(page["edges"][0]["node"]["price"], str)


async def test_every_course_field_as_programme_management_sees_it(apps: Apps) -> None:
    await create_course(apps.tokens)  # a draft: null approvedAt, other status
    statuses = {"statuses": ["DRAFT", "IN_REVIEW", "APPROVED", "REJECTED", "WITHDRAWN"]}
    filter_ = {**statuses, "providerCode": PROVIDER}
    page = await _fast(apps, EVERY_COURSE_FIELD, {"first": 100, "filter": filter_}, partner=PMO)
    nodes = [edge["node"] for edge in page["courses"]["edges"]]
    assert any(node["approvedAt"] is None for node in nodes)
    assert any(node["schedules"] for node in nodes)


async def test_a_provider_sees_its_own_drafts(apps: Apps) -> None:
    code = await create_course(apps.tokens)
    filter_ = {"statuses": ["DRAFT"], "providerCode": PROVIDER}
    page = await _fast(apps, EVERY_COURSE_FIELD, {"first": 10, "filter": filter_}, partner=PROVIDER)
    assert code in [edge["node"]["code"] for edge in page["courses"]["edges"]]


async def test_a_statement_of_the_same_shape_keeps_each_providers_view(apps: Apps) -> None:
    """Page statements are kept per shape: one built for a provider never serves another."""
    code = await create_course(apps.tokens)
    drafts = {"first": 100, "filter": {"statuses": ["DRAFT"]}}
    own = await _fast(apps, EVERY_COURSE_FIELD, drafts, partner=PROVIDER)
    assert code in [edge["node"]["code"] for edge in own["courses"]["edges"]]
    other = await _fast(apps, EVERY_COURSE_FIELD, drafts, partner=OTHER_PROVIDER)
    assert code not in [edge["node"]["code"] for edge in other["courses"]["edges"]]
    platform = await _fast(apps, EVERY_COURSE_FIELD, drafts, partner=PLATFORM)
    assert platform["courses"]["edges"] == []


async def test_aliases_typename_and_two_courses_fields(apps: Apps) -> None:
    answer = await _fast(apps, ALIASES)
    assert answer["page"]["kind"] == "CourseConnection"
    assert list(answer["page"]["all"][0]["course"]) == ["ref", "name", "costs", "by", "soon"]


async def test_fragments_merge_in_the_normal_order(apps: Apps) -> None:
    answer = await _fast(apps, FRAGMENTS, {"seats": True, "n": 2})
    node = answer["courses"]["edges"][0]["node"]
    assert list(node) == ["code", "title", "schedules", "id", "hours", "provider"]


async def test_schedules_arguments_default_and_omitted_variables(apps: Apps) -> None:
    await _fast(apps, DEFAULTS)
    await _fast(apps, DEFAULTS, {"n": 4, "seats": True})


@pytest.mark.parametrize("order", ["CATALOG", "PRICE_ASC", "PRICE_DESC", "START_DATE", "NEWEST"])
async def test_every_order_pages_with_cursors_of_either_path(apps: Apps, order: str) -> None:
    await _cursors_interchange(apps, {"orderBy": order})


async def test_relevance_pages_with_cursors_of_either_path(apps: Apps) -> None:
    await _cursors_interchange(apps, {"orderBy": "RELEVANCE", "filter": {"search": "pelatihan"}})
    await _cursors_interchange(apps, {"filter": {"search": "pemograman piton"}})


async def _cursors_interchange(apps: Apps, variables: dict[str, Any]) -> None:
    """Three pages; the second from the fast path's cursor, the third from the normal one's."""
    token = await apps.tokens.issue(PLATFORM)
    first = await _fast(apps, STANDARD_PAGE, {**variables, "first": 7})
    cursor = first["courses"]["pageInfo"]["endCursor"]
    second = await _fast(apps, STANDARD_PAGE, {**variables, "first": 7, "after": cursor})
    assert second["courses"]["pageInfo"]["hasPreviousPage"] is True
    normal_second = await graphql(
        apps.normal, STANDARD_PAGE, {**variables, "first": 7, "after": cursor}, token=token
    )
    cursor = data(normal_second)["courses"]["pageInfo"]["endCursor"]
    await _fast(apps, STANDARD_PAGE, {**variables, "first": 7, "after": cursor})


async def _sample(apps: Apps) -> dict[str, Any]:
    """Codes and dates of the seed to filter by, read through the normal path."""
    token = await apps.tokens.issue(PLATFORM)
    query = """{ courses(first: 1, filter: {learningMethods: [OFFLINE]}) { edges { node {
      category price regency { code province { code } }
      schedules(first: 1) { startsAt endsAt } } } } }"""
    body = await graphql(apps.normal, query, token=token)
    node: dict[str, Any] = data(body)["courses"]["edges"][0]["node"]
    return node


async def test_every_filter(apps: Apps) -> None:
    sample = await _sample(apps)
    start = sample["schedules"][0]["startsAt"]
    filters: list[dict[str, Any]] = [
        {"categories": [sample["category"]]},
        {"learningMethods": ["OFFLINE", "WEBINAR"]},
        {"minPrice": sample["price"], "maxPrice": "5000000"},
        {"maxPrice": sample["price"]},
        {"providerCode": PROVIDER},
        {"platformCode": PLATFORM},
        {"provinceCode": sample["regency"]["province"]["code"]},
        {"regencyCode": sample["regency"]["code"]},
        {"startsFrom": start},
        {"startsBefore": sample["schedules"][0]["endsAt"], "withSeatsLeft": True},
        {"withSeatsLeft": True},
        {"search": "pemograman piton", "learningMethods": ["WEBINAR", "SELF_PACED"]},
        {"statuses": ["APPROVED"], "categories": [sample["category"]], "withSeatsLeft": True},
    ]
    found = []
    for filter_ in filters:
        await _fast(apps, STANDARD_PAGE, {"first": 20, "filter": filter_, "orderBy": "START_DATE"})
        answer = await _fast(apps, STANDARD_PAGE, {"first": 20, "filter": filter_})
        found.append(len(answer["courses"]["edges"]))
    assert all(found), found  # each filter selects something to compare


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"after": "not a cursor!"}, "INVALID_CURSOR"),
        ({"first": 5, "after": "WzFd", "orderBy": "PRICE_ASC"}, "INVALID_CURSOR"),
        ({"first": 0}, "INVALID_PAGE_SIZE"),
        ({"first": 101}, "INVALID_PAGE_SIZE"),
        ({"filter": {"search": " "}}, "SEARCH_TEXT_EMPTY"),
        ({"filter": {"providerCode": "LP-9999"}}, "NOT_FOUND"),
        ({"orderBy": "RELEVANCE"}, "BAD_USER_INPUT"),
        ({"filter": {"minPrice": "9", "maxPrice": "1"}}, "INVALID_PRICE_RANGE"),
    ],
)
async def test_refusals_are_the_same(apps: Apps, variables: dict[str, Any], code: str) -> None:
    body, _ = await apps.both(STANDARD_PAGE, variables)
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]
    assert body["errors"][0]["path"] == ["courses"]


async def test_without_the_scope_the_same_refusal(apps: Apps) -> None:
    body, took_fast_path = await apps.both(STANDARD_PAGE, {"first": 3}, scopes=["enrollment:read"])
    assert not took_fast_path
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]


async def test_selections_it_does_not_know_take_the_normal_path(apps: Apps) -> None:
    await _normal(apps, WITH_REGENCY)
    await _normal(apps, WITH_DIRECTIVE, {"on": True})
    await _normal(apps, TWO_SCHEDULE_ARGUMENTS)
    body = await _normal(apps, SCHEDULES_OUT_OF_RANGE, {"n": 21})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_PAGE_SIZE"


async def test_other_root_fields_alongside(apps: Apps) -> None:
    answer = await _fast(apps, WITH_OTHER_ROOT_FIELDS)
    assert list(answer) == ["categories", "courses"]


async def test_one_statement_whatever_the_page_size(apps: Apps) -> None:
    """No N+1: the standard page reads the catalog in one statement, for 5 courses as for 50
    (the normal path needs two: the page, then the schedules of its courses)."""
    token = await apps.tokens.issue(PLATFORM)
    counts: dict[str, list[int]] = {"fast": [], "normal": []}
    for first in (5, 50):
        for name, http in (("fast", apps.compiled), ("normal", apps.normal)):
            await graphql(http, STANDARD_PAGE, {"first": first}, token=token)  # warm
            with counting(apps.database) as statements:
                body = await graphql(http, STANDARD_PAGE, {"first": first}, token=token)
            assert len(data(body)["courses"]["edges"]) == first
            catalog = [text for text in statements if "courses" in text or "schedules" in text]
            counts[name].append(len(catalog))
    assert counts == {"fast": [1, 1], "normal": [2, 2]}


FIELD = "Query.courses"


@pytest.mark.parametrize(
    ("document", "variables", "reason"),
    [
        (WITH_REGENCY, None, FallbackReason.RESOLVER),
        (WITH_DIRECTIVE, {"on": True}, FallbackReason.DIRECTIVE),
        (TWO_SCHEDULE_ARGUMENTS, None, FallbackReason.ARGUMENT),
        (SCHEDULES_OUT_OF_RANGE, {"n": 21}, FallbackReason.ARGUMENT),
        (
            "query($s: Boolean) { courses(first: 2) { edges { node { "
            "schedules(withSeatsLeft: $s) { code } } } } }",
            {"s": None},
            FallbackReason.ARGUMENT,
        ),
    ],
)
async def test_each_fallback_is_counted_with_its_reason(
    apps: Apps, document: str, variables: dict[str, Any] | None, reason: str
) -> None:
    before = FALLBACKS.count(FIELD, reason)
    switched_off = FALLBACKS.count(FIELD, FallbackReason.DISABLED)
    await _normal(apps, document, variables)
    assert FALLBACKS.count(FIELD, reason) == before + 1
    # The comparison app runs with PRAKERJA_COMPILED_READS=false: counted as well.
    assert FALLBACKS.count(FIELD, FallbackReason.DISABLED) == switched_off + 1


async def test_a_compiled_answer_counts_no_fallback(apps: Apps) -> None:
    before = {key: count for key, count in FALLBACKS.snapshot().items() if key[1] != "disabled"}
    await _fast(apps, STANDARD_PAGE, {"first": 5})
    after = {key: count for key, count in FALLBACKS.snapshot().items() if key[1] != "disabled"}
    assert after == before
