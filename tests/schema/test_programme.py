"""programStatistics: every figure computed from the database, for programme management."""

from __future__ import annotations

from sqlalchemy import text

from core.db.database import Database
from tests.support.enrollment import scalar
from tests.support.gateway import Tokens

FIRST_QUERY = """
{ programStatistics { recipients completions incentivesPaid }
  courses(first: 5) { edges { node { code title provider { name } } } } }
"""


async def test_the_readme_first_query_answers_with_demo_data(tokens: Tokens) -> None:
    body = await tokens.graphql("PMO", FIRST_QUERY)
    assert "errors" not in body, body
    statistics = body["data"]["programStatistics"]
    assert statistics["recipients"] > statistics["completions"] > statistics["incentivesPaid"] > 0
    edges = body["data"]["courses"]["edges"]
    assert len(edges) == 5
    assert all(edge["node"]["provider"]["name"] for edge in edges)


async def test_figures_match_the_database(tokens: Tokens, database: Database) -> None:
    body = await tokens.graphql(
        "PMO",
        "{ programStatistics { registrants recipients completions incentivesPaid platforms"
        " paymentPartners providers courses } }",
    )
    figures = body["data"]["programStatistics"]
    expected = {
        "registrants": "SELECT count(*) FROM participants",
        "recipients": "SELECT count(*) FROM participants WHERE status = 'RECIPIENT'",
        "completions": "SELECT count(DISTINCT participant_id) FROM completions",
        "platforms": "SELECT count(*) FROM partners WHERE type = 'PLATFORM'",
        "paymentPartners": "SELECT count(*) FROM partners WHERE type = 'PAYMENT_PARTNER'",
        "providers": "SELECT count(*) FROM partners WHERE type = 'TRAINING_PROVIDER'",
        "courses": "SELECT count(*) FROM courses WHERE status = 'APPROVED'",
    }
    for name, sql in expected.items():
        assert figures[name] == await scalar(database, sql), name
    assert (figures["platforms"], figures["paymentPartners"], figures["providers"]) == (7, 4, 165)


async def test_a_recorded_completion_moves_the_figures(tokens: Tokens, database: Database) -> None:
    """Computed live, not cached: a new completion is counted on the next read."""
    query = "{ programStatistics { completions } }"
    before = (await tokens.graphql("PMO", query))["data"]["programStatistics"]["completions"]
    async with database.sessionmaker() as session:
        await session.execute(
            text(
                "INSERT INTO completions (purchase_id, participant_id, score, completed_at)"
                " SELECT p.id, p.participant_id, 80, now() FROM purchases p"
                " WHERE p.status = 'SUCCESS' AND NOT EXISTS (SELECT 1 FROM completions c"
                "  WHERE c.participant_id = p.participant_id) ORDER BY p.id LIMIT 1"
            )
        )
        await session.commit()
    after = (await tokens.graphql("PMO", query))["data"]["programStatistics"]["completions"]
    assert after == before + 1


async def test_statistics_are_for_programme_management_only(tokens: Tokens) -> None:
    for partner in ("DP-001", "LP-0001", "PP-001"):
        body = await tokens.graphql(partner, "{ programStatistics { recipients } }")
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
