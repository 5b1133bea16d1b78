"""Query cost: computed before execution, capped per document, reported in every answer,
and spent from a per-client bucket that every gateway process shares."""

from __future__ import annotations

from core.db.database import Database
from schema.cost import MAX_QUERY_COST
from tests.support.gateway import Tokens, make_client

COURSES = "{ courses(first: 20) { edges { node { code provider { name } } } } }"
# The document: 30 aliases of 100 courses with 20 schedules each.
EXPENSIVE = (
    "{ "
    + " ".join(
        f"a{i}: courses(first: 100) {{ edges {{ node {{ code schedules(first: 20) {{ code }} }} }} }}"  # noqa: E501
        for i in range(30)
    )
    + " }"
)


async def test_every_answer_reports_its_cost(tokens: Tokens) -> None:
    body = await tokens.graphql("PMO", COURSES)
    # 2 for the page, then 20 courses of 1 plus 1 for the provider.
    assert body["extensions"] == {"cost": {"requested": 42, "limit": MAX_QUERY_COST}}
    refused = await tokens.graphql("PMO", '{ course(code: "CRS-NOPE") { code } }')
    assert refused["extensions"] == {"cost": {"requested": 1, "limit": MAX_QUERY_COST}}


async def test_a_document_above_the_limit_is_refused_with_its_cost(tokens: Tokens) -> None:
    headers = await tokens.headers("PMO")
    response = await tokens.http.post("/graphql", json={"query": EXPENSIVE}, headers=headers)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["cost"] == 30 * (2 + 100 * (1 + 2 + 20))
    assert error["extensions"]["limit"] == MAX_QUERY_COST
    assert str(MAX_QUERY_COST) in error["message"]


async def test_page_size_variables_count(tokens: Tokens) -> None:
    query = "query($n: Int) { courses(first: $n) { edges { node { code } } } }"
    body = await tokens.graphql("PMO", query, {"n": 7})
    assert body["extensions"]["cost"]["requested"] == 2 + 7  # type: ignore[index]


async def test_the_bucket_is_shared_by_every_process(database: Database) -> None:
    """Two apps on one database (two gateway processes): one client, one allowance."""
    limits = {"rate_limit_points": 100, "rate_limit_points_per_second": 1}
    async with make_client(database, **limits) as first, make_client(database, **limits) as second:
        tokens = Tokens(first, database)
        headers = await tokens.headers("PMO")
        statuses = []
        for http in (first, second, first, second):
            response = await http.post("/graphql", json={"query": COURSES}, headers=headers)
            statuses.append(response.status_code)
            assert int(response.headers["ratelimit-limit"]) == 100
        # 42 points each from a bucket of 100: two fit, wherever they land.
        assert statuses == [200, 200, 429, 429]
        refused = response.json()["errors"][0]
        assert refused["extensions"]["code"] == "RATE_LIMITED"
        assert int(response.headers["retry-after"]) >= 1
        assert int(response.headers["ratelimit-remaining"]) < 42
        # Another client of the same partner has its own bucket.
        other = Tokens(second, database)
        other_headers = await other.headers("PMO", ["program:admin", "catalog:read"])
        response = await second.post("/graphql", json={"query": COURSES}, headers=other_headers)
        assert response.status_code == 200
