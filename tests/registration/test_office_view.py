"""An office sees its own regency's registrants and their journeys, never another's."""

from __future__ import annotations

from core.db.database import Database
from schema.common import to_global_id
from tests.support.enrollment import scalar
from tests.support.gateway import Tokens
from tests.support.registration import (
    OFFICE,
    OFFICE_REGENCY,
    OTHER_OFFICE,
    OTHER_REGENCY,
    form,
    register,
)

PAGE = """
query($after: String, $channel: RegistrationChannel, $disability: DisabilityCategory) {
  registrants(first: 100, after: $after, channel: $channel, disability: $disability) {
    edges { node { id regencyCode channel disabilities fullName } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

ONE = """
query($id: ID!) {
  registrant(id: $id) {
    fullName status
    journey { registeredAt waveNumber purchases completions incentivesPaid incentivesPaidAmount }
  }
}
"""


async def _all(tokens: Tokens, office: str, **variables: object) -> list[dict[str, object]]:
    nodes: list[dict[str, object]] = []
    after = None
    while True:
        body = await tokens.graphql(office, PAGE, {**variables, "after": after})
        assert body.get("errors") is None, body
        page = body["data"]["registrants"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def test_each_office_sees_only_its_own_regency(tokens: Tokens) -> None:
    own = (await register(tokens, form(60, disabilities=["MENTAL"])))["data"]
    other = (await register(tokens, form(61, regency=OTHER_REGENCY), office=OTHER_OFFICE))["data"]
    own_id = own["registerParticipant"]["id"]
    other_id = other["registerParticipant"]["id"]

    mine = await _all(tokens, OFFICE)
    assert mine and {node["regencyCode"] for node in mine} == {OFFICE_REGENCY}
    assert own_id in {node["id"] for node in mine}
    assert other_id not in {node["id"] for node in mine}

    offline = await _all(tokens, OFFICE, channel="OFFLINE", disability="MENTAL")
    assert [node["id"] for node in offline] == [own_id]

    body = await tokens.graphql(OFFICE, ONE, {"id": other_id})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["REGISTRANT_NOT_FOUND"]
    body = await tokens.graphql(OTHER_OFFICE, ONE, {"id": own_id})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["REGISTRANT_NOT_FOUND"]

    body = await tokens.graphql(OFFICE, ONE, {"id": own_id})
    journey = body["data"]["registrant"]["journey"]
    assert journey["waveNumber"] is None
    assert journey["purchases"] == journey["completions"] == journey["incentivesPaid"] == 0
    assert journey["incentivesPaidAmount"] == "0"

    # Programme management reads every regency.
    body = await tokens.graphql("PMO", ONE, {"id": other_id})
    assert body["data"]["registrant"]["fullName"] == "Orang Uji 61"


async def test_a_seeded_recipients_journey_has_counts_and_dates(tokens: Tokens) -> None:
    body = await tokens.graphql(
        OFFICE,
        "{ registrants(first: 100, status: RECIPIENT) { edges { node { id } } } }",
    )
    nodes = body["data"]["registrants"]["edges"]
    if not nodes:
        return  # the small seed may have no recipient in this regency
    body = await tokens.graphql(OFFICE, ONE, {"id": nodes[0]["node"]["id"]})
    journey = body["data"]["registrant"]["journey"]
    assert journey["waveNumber"] is not None


async def test_an_office_counts_a_journey_across_platforms_and_providers(
    tokens: Tokens, database: Database
) -> None:
    """Sales, completions and payouts belong to partners row security hides from an office;
    the journey still counts them (counts and dates only)."""
    row = await scalar(
        database,
        "SELECT json_build_object('id', p.id, 'office', o.code) FROM participants p"
        " JOIN regencies r ON r.id = p.regency_id"
        " JOIN partners o ON o.code = 'DISNAKER-' || r.code"
        " WHERE EXISTS (SELECT 1 FROM certificates c WHERE c.participant_id = p.id)"
        " ORDER BY p.id LIMIT 1",
    )
    assert row is not None, "the seed has a certified person in a regency with an office"
    participant = row["id"]
    completions = await scalar(
        database, "SELECT count(*) FROM completions WHERE participant_id = :p", p=participant
    )
    body = await tokens.graphql(row["office"], ONE, {"id": to_global_id("Registrant", participant)})
    assert body.get("errors") is None, body
    journey = body["data"]["registrant"]["journey"]
    assert journey["completions"] == completions > 0
    assert journey["purchases"] >= completions
