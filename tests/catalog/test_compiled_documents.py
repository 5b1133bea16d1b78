"""Compiled documents (schema/compiled/documents.py): a query whose only root field the
compiled read answered is answered the next time without GraphQL, exactly as the normal
path answers it, with the caller's own tenancy and permissions on every request.

Each document goes twice to an app with compiled reads (the first answer records the
document, the second replays it) and once to an app with ``compiled_reads=False``; the
three bodies must be identical. Which path answered is read off the SQL (the compiled
read's statements carry ``COMPILED_READ_MARK``) and off ``FALLBACKS``, never off timings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.db.database import Database
from resolvers.compiled_reads import COMPILED_READ_MARK
from schema.compiled import FALLBACKS, FallbackReason
from tests.support.catalog import (
    EVERY_COURSE_FIELD,
    OTHER_PROVIDER,
    PLATFORM,
    PMO,
    PROVIDER,
    STANDARD_PAGE,
    create_course,
)
from tests.support.catalog import data as data_of
from tests.support.compiled import Apps, compiled_and_normal
from tests.support.credentials import SharedCredentials
from tests.support.gateway import graphql

SHAPES: list[tuple[str, dict[str, Any] | None]] = [
    (STANDARD_PAGE, {"first": 20}),
    (STANDARD_PAGE, {"first": 7, "orderBy": "PRICE_DESC"}),
    (STANDARD_PAGE, {"first": 5, "filter": {"search": "pemograman piton"}}),  # in a transaction
    (
        STANDARD_PAGE,
        {"first": 5, "filter": {"learningMethods": ["WEBINAR"], "withSeatsLeft": True}},
    ),
    (EVERY_COURSE_FIELD, {"first": 30}),
    ("{ courses { __typename } }", None),
    (
        """{ courses(first: 3) { edges { node { provider { ... on Node { id } ...P }
           schedules { ... on Schedule { id endsAt } } } } } }
           fragment P on Provider { code name }""",
        None,
    ),
    (
        """query($seats: Boolean = false) { courses(first: 8, orderBy: START_DATE) { edges {
           node { id schedules(first: 20, withSeatsLeft: $seats) { id code endsAt } } } } }""",
        None,
    ),
    ("""{ courses(first: 5, filter: {search: "zzqqxxjjvv"}) { edges { cursor } } }""", None),
]


@pytest.fixture
async def apps(database: Database, shared_credentials: SharedCredentials) -> AsyncIterator[Apps]:
    async with compiled_and_normal(database, shared_credentials, partner=PLATFORM) as both:
        yield both


def _page_statements(statements: list[str]) -> list[str]:
    # Besides the page: the rate limiter's statement, the token's client (when not yet
    # cached) and, here, the savepoints of the tests' outer transaction.
    return [item for item in statements if "FROM courses" in item]


@pytest.mark.parametrize(("query", "variables"), SHAPES)
async def test_a_replayed_document_answers_as_the_normal_path(
    apps: Apps, query: str, variables: dict[str, Any] | None
) -> None:
    _, statements = await apps.thrice(query, variables)
    assert any(COMPILED_READ_MARK in item for item in statements)


async def test_the_standard_page_replays_as_one_page_statement(apps: Apps) -> None:
    body, statements = await apps.thrice(STANDARD_PAGE, {"first": 20})
    assert len(data_of(body)["courses"]["edges"]) == 20
    page = _page_statements(statements)
    assert len(page) == 1 and COMPILED_READ_MARK in page[0]


async def test_each_provider_sees_its_own_drafts_through_a_shared_document(apps: Apps) -> None:
    """The document is kept per partner type, not per partner: tenancy is decided on every
    replay from the caller, so another provider never sees the first one's drafts."""
    mine = await create_course(apps.tokens, PROVIDER)
    theirs = await create_course(apps.tokens, OTHER_PROVIDER)
    drafts = {"first": 100, "filter": {"statuses": ["DRAFT"]}}
    own, _ = await apps.thrice(EVERY_COURSE_FIELD, drafts, partner=PROVIDER)
    own_codes = [edge["node"]["code"] for edge in data_of(own)["courses"]["edges"]]
    assert mine in own_codes and theirs not in own_codes
    # The same document and variables from the other provider: replayed, its own view.
    other, statements = await apps.thrice(EVERY_COURSE_FIELD, drafts, partner=OTHER_PROVIDER)
    other_codes = [edge["node"]["code"] for edge in data_of(other)["courses"]["edges"]]
    assert theirs in other_codes and mine not in other_codes
    assert any(COMPILED_READ_MARK in item for item in statements)
    platform, _ = await apps.thrice(EVERY_COURSE_FIELD, drafts, partner=PLATFORM)
    assert data_of(platform)["courses"]["edges"] == []
    everything, _ = await apps.thrice(EVERY_COURSE_FIELD, drafts, partner=PMO)
    all_codes = [edge["node"]["code"] for edge in data_of(everything)["courses"]["edges"]]
    assert mine in all_codes and theirs in all_codes


async def test_a_caller_without_the_scope_is_refused_after_a_document_was_kept(
    apps: Apps,
) -> None:
    await apps.thrice(STANDARD_PAGE, {"first": 20})
    token = await apps.tokens.issue(PLATFORM, ["enrollment:write"])
    refused = await graphql(apps.compiled, STANDARD_PAGE, {"first": 20}, token=token)
    normal = await graphql(apps.normal, STANDARD_PAGE, {"first": 20}, token=token)
    assert refused == normal
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_unknown_code_in_a_replayed_filter_gets_the_normal_error(apps: Apps) -> None:
    variables = {"first": 3, "filter": {"providerCode": "LP-9999"}}
    token = await apps.tokens.issue(PLATFORM)
    for _ in range(3):
        answer = await graphql(apps.compiled, STANDARD_PAGE, variables, token=token)
        assert answer == await graphql(apps.normal, STANDARD_PAGE, variables, token=token)
        assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_other_root_fields_beside_the_compiled_one_are_counted_and_not_kept(
    apps: Apps,
) -> None:
    document = "{ categories { name courseCount } courses(first: 3) { edges { node { code } } } }"
    before = FALLBACKS.count("Query.courses", FallbackReason.DOCUMENT)
    await apps.thrice(document)
    assert FALLBACKS.count("Query.courses", FallbackReason.DOCUMENT) == before + 2
