"""Prometheus metrics: behind a token on the main port, counting what was asked and answered."""

from __future__ import annotations

import re

from core.db.database import Database
from tests.support.gateway import Tokens, make_client

CATALOG = "query Catalog { courses(first: 2) { edges { node { code } } } }"


def _sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_metrics_count_requests_by_operation_partner_and_outcome(
    database: Database,
) -> None:
    async with make_client(database, metrics_token="scrape-me") as http:
        tokens = Tokens(http, database)
        refused = await http.get("/metrics")
        assert refused.status_code == 401
        before = (await http.get("/metrics", headers={"Authorization": "Bearer scrape-me"})).text
        for _ in range(3):
            answer = await tokens.graphql("DP-001", CATALOG)
            assert "errors" not in answer
        missing = await tokens.graphql(
            "DP-001", 'query Lookup { purchase(invoiceCode: "nope") { status } }'
        )
        assert missing.get("errors") or missing["data"]["purchase"] is None
        unauthenticated = await http.post("/graphql", json={"query": "query Anon { __typename }"})
        assert unauthenticated.status_code == 401
        scraped = await http.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert scraped.status_code == 200
    text = scraped.text
    labels = {"operation": "Catalog", "partner_type": "PLATFORM", "outcome": "ok"}
    assert (
        _sample(text, "prakerja_requests_total", **labels)
        - _sample(before, "prakerja_requests_total", **labels)
        == 3
    )
    assert _sample(text, "prakerja_request_duration_seconds_count", **labels) >= 3
    assert (
        _sample(
            text,
            "prakerja_requests_total",
            partner_type="none",
            outcome="unauthorized",
        )
        >= 1
    )
    assert re.search(r"^prakerja_outbox_backlog \d", text, re.M)
    assert re.search(r"^prakerja_outbox_oldest_age_seconds \d", text, re.M)
    assert "prakerja_db_pool_in_use" in text
    assert "# TYPE prakerja_cache_lookups_total counter" in text


async def test_a_body_sent_again_is_labelled_by_its_own_operation(database: Database) -> None:
    """A body the view refused before reading a GraphQL request from it (its variables are
    not an object) is labelled from its JSON; a body sent again keeps its label, and
    another body gets its own."""
    async with make_client(database, metrics_token="scrape-me") as http:
        token = await Tokens(http, database).issue("DP-001", ["catalog:read"])
        caller = {"Authorization": f"Bearer {token}"}
        scrape = {"Authorization": "Bearer scrape-me"}
        before = (await http.get("/metrics", headers=scrape)).text
        again = "query Again { __typename }"
        bodies = [{"query": again, "variables": "no"}] * 3 + [
            {"query": "query Once { __typename }", "variables": "no"},
            {"query": again, "operationName": "Named", "variables": "no"},
        ]
        for body in bodies:
            answer = await http.post("/graphql", json=body, headers=caller)
            assert answer.status_code == 400, answer.text
        text = (await http.get("/metrics", headers=scrape)).text

    def counted(operation: str) -> float:
        labels = {"operation": operation, "partner_type": "PLATFORM"}
        return _sample(text, "prakerja_requests_total", **labels) - _sample(
            before, "prakerja_requests_total", **labels
        )

    assert (counted("Again"), counted("Once"), counted("Named")) == (3, 1, 1)


async def test_graphql_errors_are_counted_by_code(tokens: Tokens, database: Database) -> None:
    async with make_client(database, metrics_token="scrape-me") as http:
        tokens = Tokens(http, database)
        headers = {"Authorization": "Bearer scrape-me"}
        before = _sample(
            (await http.get("/metrics", headers=headers)).text,
            "prakerja_graphql_errors_total",
            code="FORBIDDEN",
        )
        answer = await tokens.graphql("PP-001", CATALOG)
        assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        after = _sample(
            (await http.get("/metrics", headers=headers)).text,
            "prakerja_graphql_errors_total",
            code="FORBIDDEN",
        )
    assert after - before == 1


async def test_no_metrics_route_without_a_token(client: object) -> None:
    response = await client.get("/metrics")  # type: ignore[attr-defined]
    assert response.status_code == 404


async def test_query_cost_is_a_histogram_by_operation_and_partner_type(
    database: Database,
) -> None:
    async with make_client(database, metrics_token="scrape-me") as http:
        tokens = Tokens(http, database)
        scrape = {"Authorization": "Bearer scrape-me"}
        before = (await http.get("/metrics", headers=scrape)).text
        for _ in range(2):
            answer = await tokens.graphql("LP-0001", CATALOG)
            assert answer["extensions"]["cost"]["requested"] == 4  # type: ignore[index]
        text = (await http.get("/metrics", headers=scrape)).text
    labels = {"operation": "Catalog", "partner_type": "TRAINING_PROVIDER"}

    def grew(name: str, **extra: str) -> float:
        return _sample(text, name, **labels, **extra) - _sample(before, name, **labels, **extra)

    assert grew("prakerja_query_cost_count") == 2
    assert grew("prakerja_query_cost_sum") == 8
    # Cumulative buckets: both fall in le=5, none in le=1.
    assert grew("prakerja_query_cost_bucket", le="5.0") == 2
    assert grew("prakerja_query_cost_bucket", le="1.0") == 0
