"""The statistics fields through the compiled read (``schema.compiled``): ``programStatistics``,
``programFigures`` and ``regencyFigures`` answer exactly as the normal executor, first
compiled and then replayed as a compiled document, with the caller's tenancy decided on
every request (a regional office its own regency, whichever office's request kept the
document) and the figures as fresh as the last commit.

Each document goes twice to an app with compiled reads (the first answer keeps the
document, the second replays it) and once to an app with ``compiled_reads=False``; the
three bodies must be identical. Which path answered is read off the SQL (a compiled read's
statement carries ``COMPILED_READ_MARK``) and off ``FALLBACKS``, never off timings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.db.database import Database
from resolvers.compiled_reads import COMPILED_READ_MARK
from schema.compiled import FALLBACKS, FallbackReason
from tests.support.compiled import Apps, compiled_and_normal
from tests.support.credentials import SharedCredentials
from tests.support.gateway import graphql
from tests.support.registration import (
    OFFICE,
    OFFICE_REGENCY,
    OTHER_OFFICE,
    OTHER_REGENCY,
    codes,
    form,
    register,
)
from tests.support.statistics import (
    BREAKDOWNS,
    PROGRAM_FIGURES,
    REGENCY_FIGURES,
    by_code,
    raw_figures,
)

PROGRAM_STATISTICS = """{ programStatistics { registrants recipients completions incentivesPaid
  incentivesPaidAmount platforms paymentPartners providers courses } }"""
NARROW = {"channel": "OFFLINE", "sex": "FEMALE", "withDisability": True, "provinceCode": "11"}
FILTERS: list[dict[str, Any] | None] = [
    None,
    NARROW,
    {"regencyCode": OTHER_REGENCY, "channel": "ONLINE"},
    {"wave": 1, "scheme": "2023", "sex": "MALE", "withDisability": False},
]
SHAPES = [
    # Aliases, the same key twice, a named fragment and an inline one, type names.
    """{ programFigures(breakdown: PROVINCE) { __typename c: code code ...M
         ... on FigureGroup { incentivesPaidAmount name } } }
       fragment M on FigureGroup { registrants recipients completions }""",
    """{ a: programStatistics { courses __typename } }""",
    """{ regencyFigures(regencyCode: "3171", breakdown: WAVE) { code registrantsOnline } }""",
]


@pytest.fixture
async def apps(database: Database, shared_credentials: SharedCredentials) -> AsyncIterator[Apps]:
    async with compiled_and_normal(database, shared_credentials, partner="PMO") as both:
        yield both


def _compiled(statements: list[str]) -> bool:
    return any(COMPILED_READ_MARK in statement for statement in statements)


@pytest.mark.parametrize("breakdown", BREAKDOWNS)
@pytest.mark.parametrize("figure_filter", FILTERS)
async def test_every_breakdown_and_filter_as_the_normal_path(
    apps: Apps, database: Database, breakdown: str | None, figure_filter: dict[str, Any] | None
) -> None:
    await register(apps.tokens, form(301, female=True, disabilities=["MENTAL"]))
    variables = {"breakdown": breakdown, "filter": figure_filter}
    body, statements = await apps.thrice(PROGRAM_FIGURES, variables)
    assert "errors" not in body, body
    assert _compiled(statements)
    if figure_filter is None:
        assert by_code(body["data"]["programFigures"]) == await raw_figures(database, breakdown)


async def test_program_statistics_as_the_normal_path(apps: Apps, database: Database) -> None:
    body, statements = await apps.thrice(PROGRAM_STATISTICS)
    assert _compiled(statements)
    total = (await raw_figures(database, None))[None]
    answer = body["data"]["programStatistics"]
    assert answer["registrants"] == total["registrants"]
    assert answer["incentivesPaidAmount"] == str(total["incentivesPaidAmount"])


@pytest.mark.parametrize("document", SHAPES)
async def test_more_selection_shapes(apps: Apps, document: str) -> None:
    body, statements = await apps.thrice(document)
    assert "errors" not in body, body
    assert _compiled(statements)


async def test_a_replayed_document_answers_the_figures_of_the_last_commit(apps: Apps) -> None:
    """A compiled document keeps the plan, never the answer: the read runs every time."""
    before, _ = await apps.thrice(PROGRAM_FIGURES, {"breakdown": "REGENCY"})
    body = await register(apps.tokens, form(302, female=True))
    assert "errors" not in body, body
    after, statements = await apps.thrice(PROGRAM_FIGURES, {"breakdown": "REGENCY"})
    assert _compiled(statements)
    was = by_code(before["data"]["programFigures"])[OFFICE_REGENCY]
    now = by_code(after["data"]["programFigures"])[OFFICE_REGENCY]
    assert now["registrants"] == was["registrants"] + 1
    assert now["registrantsFemale"] == was["registrantsFemale"] + 1
    assert now["registrantsOffline"] == was["registrantsOffline"] + 1


@pytest.mark.parametrize("breakdown", BREAKDOWNS)
async def test_each_office_reads_its_own_regency_through_one_kept_document(
    apps: Apps, database: Database, breakdown: str | None
) -> None:
    """The document is kept per partner type, not per office: the regency is decided on
    every replay from the caller."""
    await register(apps.tokens, form(303))
    variables = {"breakdown": breakdown}
    own, statements = await apps.thrice(REGENCY_FIGURES, variables, partner=OFFICE)
    assert _compiled(statements)
    other, statements = await apps.thrice(REGENCY_FIGURES, variables, partner=OTHER_OFFICE)
    assert _compiled(statements)
    assert by_code(own["data"]["regencyFigures"]) == await raw_figures(
        database, breakdown, OFFICE_REGENCY
    )
    assert by_code(other["data"]["regencyFigures"]) == await raw_figures(
        database, breakdown, OTHER_REGENCY
    )
    assert own != other


async def test_another_regency_is_refused_even_when_its_office_kept_the_document(
    apps: Apps,
) -> None:
    named = {"regency": OTHER_REGENCY, "breakdown": "WAVE"}
    kept, _ = await apps.thrice(REGENCY_FIGURES, named, partner=OTHER_OFFICE)
    assert "errors" not in kept, kept
    before = FALLBACKS.count("Query.regencyFigures", FallbackReason.REPLAY)
    token = await apps.tokens.issue(OFFICE)
    for _ in range(2):
        refused = await graphql(apps.compiled, REGENCY_FIGURES, named, token=token)
        assert refused == await graphql(apps.normal, REGENCY_FIGURES, named, token=token)
        assert codes(refused) == ["OUTSIDE_OWN_REGENCY"]
        assert refused["data"] is None
    # Each time the kept document was tried with this office, refused, and the normal
    # path answered with its own error.
    assert FALLBACKS.count("Query.regencyFigures", FallbackReason.REPLAY) == before + 2


async def test_an_office_filtering_on_another_regency_reads_nothing(apps: Apps) -> None:
    variables = {"breakdown": "REGENCY", "filter": {"regencyCode": OTHER_REGENCY}}
    body, _ = await apps.thrice(REGENCY_FIGURES, variables, partner=OFFICE)
    assert body["data"]["regencyFigures"] == []


@pytest.mark.parametrize("partner", [OFFICE, "DP-001", "LP-0001", "PP-001"])
async def test_the_programme_figures_stay_refused_after_a_document_was_kept(
    apps: Apps, partner: str
) -> None:
    await apps.thrice(PROGRAM_FIGURES, {"breakdown": "SCHEME"})
    await apps.thrice(PROGRAM_STATISTICS)
    token = await apps.tokens.issue(partner)
    for query, variables in (
        (PROGRAM_FIGURES, {"breakdown": "SCHEME"}),
        (PROGRAM_STATISTICS, None),
    ):
        refused = await graphql(apps.compiled, query, variables, token=token)
        assert refused == await graphql(apps.normal, query, variables, token=token)
        assert codes(refused) == ["FORBIDDEN"], partner
