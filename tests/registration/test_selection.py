"""A wave's draw: the family card's limit, the reserved shares, the seed, the explanation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from core.db.database import Database
from core.eligibility import FAMILY_CARD_RECIPIENTS_MAX
from gateway.seed import codes
from tests.support.gateway import Tokens
from tests.support.registration import form, register

OPEN = """
mutation($input: OpenWaveInput!) { openWave(input: $input) { number selectionSeed quota } }
"""
RUN = """
mutation($wave: Int!, $quota: Int) {
  runSelection(wave: $wave, quota: $quota) {
    considered selected familyCardLimited
    pools { pool reserved selected cutoffKey }
    wave { number selectedAt selected }
  }
}
"""
EXPLAIN = """
query($wave: Int!, $id: ID, $card: String) {
  selectionExplanation(wave: $wave, registrantId: $id, cardNumber: $card) {
    outcome pool drawKey familyAhead cutoffKey reason
  }
}
"""


async def test_the_draw_honours_family_cards_shares_and_its_seed(
    tokens: Tokens, database: Database
) -> None:
    # The disability pool holds only this test's registrants: the seed's registrants with a
    # disability (about 1%, 8% of offline ones) are set aside for this (rolled-back) test.
    async with database.sessionmaker() as session:
        await session.execute(
            text(
                "UPDATE participants SET disabilities = '{}'"
                " WHERE wave_id IS NULL AND cardinality(disabilities) > 0"
            )
        )
        await session.commit()
    family = "1101017777777777"
    ids = []
    for serial in range(70, 74):  # one family card, four members, all with a disability
        body = await register(tokens, form(serial, kk=family, disabilities=["PHYSICAL"]))
        ids.append(body["data"]["registerParticipant"]["id"])
    for serial in (74, 75):
        body = await register(tokens, form(serial, disabilities=["SENSORY"]))
        ids.append(body["data"]["registerParticipant"]["id"])

    now = datetime.now(UTC)
    opened = await tokens.graphql(
        "PMO",
        OPEN,
        {
            "input": {
                "scheme": "2023",
                "quota": 10,
                "reservedDisabilityShare": 0.5,
                "reservedOfflineShare": 0.3,
                "opensAt": now.isoformat(),
                "closesAt": (now + timedelta(days=4)).isoformat(),
            }
        },
    )
    assert opened.get("errors") is None, opened
    wave = opened["data"]["openWave"]["number"]
    seed = int(opened["data"]["openWave"]["selectionSeed"])

    body = await tokens.graphql("PMO", RUN, {"wave": wave})
    assert body.get("errors") is None, body
    result = body["data"]["runSelection"]
    pools = {pool["pool"]: pool for pool in result["pools"]}
    assert result["selected"] == 10
    assert result["familyCardLimited"] == 2
    assert pools["DISABILITY"] == {**pools["DISABILITY"], "reserved": 5, "selected": 4}
    assert pools["OFFLINE"]["reserved"] == 3 and pools["OFFLINE"]["selected"] == 3
    assert pools["GENERAL"]["selected"] == 3

    async with database.sessionmaker() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT p.id, p.status, p.card_number, p.training_balance,"
                    "       p.first_purchase_deadline, s.outcome, s.pool, s.draw_key,"
                    "       hashint8extended(p.id, :seed) AS key"
                    "  FROM wave_selections s JOIN participants p ON p.id = s.participant_id"
                    "  JOIN waves w ON w.id = s.wave_id WHERE w.number = :wave"
                ),
                {"seed": seed, "wave": wave},
            )
        ).all()
        # Everyone eligible and not drawn has a key after the general pool's cut-off.
        behind = await session.scalar(
            text(
                "SELECT count(*) FROM participants p WHERE p.status = 'REGISTERED'"
                " AND p.wave_id IS NULL AND hashint8extended(p.id, :seed) <= :cutoff"
                " AND NOT EXISTS (SELECT 1 FROM wave_selections s WHERE s.participant_id = p.id)"
            ),
            {"seed": seed, "cutoff": int(pools["GENERAL"]["cutoffKey"])},
        )
        kk_hash = await session.scalar(
            text(
                "SELECT kk_hash FROM participants WHERE full_name = 'Orang Uji 70'"
                " ORDER BY id DESC LIMIT 1"
            )
        )
        family_recipients = await session.scalar(
            text("SELECT count(*) FROM participants WHERE kk_hash = :k AND status = 'RECIPIENT'"),
            {"k": kk_hash},
        )
        outbox = await session.scalar(
            text("SELECT count(*) FROM notification_outbox WHERE template = 'wave_selected'")
        )
    assert behind == 0
    assert family_recipients == FAMILY_CARD_RECIPIENTS_MAX
    assert outbox >= 10
    selected = [row for row in rows if row.outcome == "SELECTED"]
    assert len(selected) == 10
    for row in selected:
        assert row.status == "RECIPIENT"
        assert row.card_number is not None and len(row.card_number) == 16
        assert row.training_balance == 3_500_000
        assert row.first_purchase_deadline is not None
        assert row.draw_key == row.key  # reproducible from the recorded seed
    for row in rows:
        if row.card_number and row.id < 10**6:
            # The SQL card number is the seed's formula.
            assert row.card_number == codes.card_number(row.id)

    # Per person: the limited family members and a selected one.
    for registrant_id in ids:
        body = await tokens.graphql("PMO", EXPLAIN, {"wave": wave, "id": registrant_id})
        assert body.get("errors") is None, body
        explanation = body["data"]["selectionExplanation"]
        assert explanation["outcome"] in ("SELECTED", "FAMILY_CARD_LIMIT")
        if explanation["outcome"] == "FAMILY_CARD_LIMIT":
            assert explanation["familyAhead"] >= FAMILY_CARD_RECIPIENTS_MAX
            assert "family card" in explanation["reason"]
        else:
            assert explanation["pool"] == "DISABILITY"
    card = selected[0].card_number
    body = await tokens.graphql("PMO", EXPLAIN, {"wave": wave, "card": card})
    assert body["data"]["selectionExplanation"]["outcome"] == "SELECTED"

    # Once only.
    again = await tokens.graphql("PMO", RUN, {"wave": wave})
    assert [e["extensions"]["code"] for e in again["errors"]] == ["WAVE_ALREADY_SELECTED"]
    # An office may not run or explain a draw.
    refused = await tokens.graphql("DISNAKER-1101", RUN, {"wave": wave})
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
