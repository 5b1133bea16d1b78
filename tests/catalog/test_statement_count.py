"""No N+1 by construction: the standard page issues as many statements for 5 courses as for 50."""

from __future__ import annotations

from typing import Any

from core.db.database import Database
from tests.support.catalog import PLATFORM, PROVIDER, counting, data
from tests.support.gateway import Tokens, graphql

STANDARD_PAGE = """
query Standard($first: Int!, $filter: CourseFilter) {
  courses(first: $first, filter: $filter) {
    edges { node {
      code title price learningMethod
      provider { name }
      schedules(first: 3, withSeatsLeft: true) { code startsAt seatsLeft }
      regency { name province { name } }
      listedOn { code }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def _statements(
    tokens: Tokens,
    database: Database,
    first: int,
    filter_: dict[str, Any] | None = None,
    *,
    partner: str = PLATFORM,
) -> list[str]:
    token = await tokens.issue(partner)  # the token is fetched outside the count
    variables = {"first": first, "filter": filter_}
    await graphql(tokens.http, STANDARD_PAGE, variables, token=token)  # warm: keys, plans
    with counting(database) as statements:
        body = await graphql(tokens.http, STANDARD_PAGE, variables, token=token)
    assert len(data(body)["courses"]["edges"]) == first
    return statements


async def test_the_standard_page_does_not_grow_with_its_size(
    tokens: Tokens, database: Database
) -> None:
    small = await _statements(tokens, database, 5)
    large = await _statements(tokens, database, 50)
    assert len(small) == len(large), (small, large)
    offline = {"learningMethods": ["OFFLINE"]}
    assert len(await _statements(tokens, database, 5, offline)) == len(
        await _statements(tokens, database, 50, offline)
    )


async def test_a_filtered_search_page_does_not_grow_either(
    tokens: Tokens, database: Database
) -> None:
    search = {"search": "pelatihan", "providerCode": None, "withSeatsLeft": True}
    small = await _statements(tokens, database, 5, search)
    large = await _statements(tokens, database, 20, search)
    assert len(small) == len(large), (small, large)
    # A provider's own pages (its drafts and courses in review too) are built the same way.
    own = {"providerCode": PROVIDER}
    small = await _statements(tokens, database, 2, own, partner=PROVIDER)
    large = await _statements(tokens, database, 6, own, partner=PROVIDER)
    assert len(small) == len(large), (small, large)


async def test_a_text_is_expanded_by_its_first_search_only(
    tokens: Tokens, database: Database
) -> None:
    token = await tokens.issue(PLATFORM)
    variables = {"first": 5, "filter": {"search": "pelatihan memasak rendang"}}
    searches = []
    for _ in range(2):
        with counting(database) as statements:
            data(await graphql(tokens.http, STANDARD_PAGE, variables, token=token))
        searches.append(statements)
    expands = ["prakerja_search_hits" in statement for statement in searches[0]]
    # The first reads the text's expansion, then gives it to the page statement; the second
    # gives the kept one (resolvers.search_expansions).
    assert expands.count(True) == 1, searches[0]
    assert not any("prakerja_search_hits" in statement for statement in searches[1])
