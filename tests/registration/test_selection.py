"""A wave's draw: the family card's limit, the reserved shares, the seed, the explanation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from core.db.database import Database
from core.eligibility import FAMILY_CARD_RECIPIENTS_MAX
from gateway.seed import codes
from schema.common import from_global_id
from tests.support.credentials import SharedCredentials
from tests.support.gateway import Tokens, make_client
from tests.support.registration import (
    OFFICE,
    OTHER_OFFICE,
    OTHER_REGENCY,
    form,
    open_wave,
    register,
    run_selection,
    set_aside_seeded_disabilities,
)
from tests.support.webhooks import DELIVERIES, feed, subscribe

OFFICES = (OFFICE, OTHER_OFFICE)

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
    await set_aside_seeded_disabilities(database)
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


async def test_a_held_back_member_is_recorded_only_where_their_key_reached_a_cutoff(
    tokens: Tokens, database: Database
) -> None:
    # Three members of one card, no disability, one place in a general-only wave: the member
    # with the highest key is held back; recorded only if that key reached the cut-off.
    family = "1101018888888888"
    ids = []
    for serial in (80, 81, 82):
        body = await register(tokens, form(serial, kk=family))
        ids.append(body["data"]["registerParticipant"]["id"])
    wave = (await open_wave(tokens, 1))["number"]
    result = await run_selection(tokens, wave)
    assert result["selected"] == 1
    assert result["familyCardLimited"] >= 1
    cutoff = int(next(p for p in result["pools"] if p["pool"] == "GENERAL")["cutoffKey"])

    explained = []
    for registrant_id in ids:
        body = await tokens.graphql("PMO", EXPLAIN, {"wave": wave, "id": registrant_id})
        assert body.get("errors") is None, body
        explained.append(body["data"]["selectionExplanation"])
    last = max(explained, key=lambda e: int(e["drawKey"]))
    assert last["outcome"] != "SELECTED"
    for explanation in explained:
        key = int(explanation["drawKey"])
        if explanation["outcome"] == "FAMILY_CARD_LIMIT":
            assert key <= cutoff and explanation["familyAhead"] >= FAMILY_CARD_RECIPIENTS_MAX
        elif explanation["outcome"] is None:
            assert key > cutoff
            assert explanation["reason"].startswith("considered, not drawn")
    async with database.sessionmaker() as session:
        recorded = await session.scalar(
            text(
                "SELECT count(*) FROM wave_selections s JOIN waves w ON w.id = s.wave_id"
                " WHERE w.number = :wave AND s.outcome = 'FAMILY_CARD_LIMIT'"
            ),
            {"wave": wave},
        )
    assert recorded <= result["familyCardLimited"]


@pytest.fixture
async def demo(database: Database, shared_credentials: SharedCredentials) -> AsyncIterator[Tokens]:
    """Demo mode: a webhook endpoint may listen on the loopback."""
    async with make_client(database, demo=True) as http:
        yield Tokens(http, database, shared_credentials)


async def test_selection_notices_and_events_reach_the_person_or_their_own_office_only(
    demo: Tokens, database: Database
) -> None:
    tokens = demo
    await set_aside_seeded_disabilities(database)
    people = {
        "phone": await register(tokens, form(90, disabilities=["PHYSICAL"], phone="081234567890")),
        "no phone": await register(tokens, form(91, disabilities=["PHYSICAL"])),
        "other regency": await register(
            tokens,
            form(92, regency=OTHER_REGENCY, disabilities=["PHYSICAL"]),
            office=OTHER_OFFICE,
        ),
    }
    pks = {}
    for name, body in people.items():
        assert body.get("errors") is None, body
        pks[name] = from_global_id(body["data"]["registerParticipant"]["id"])[1]
    endpoint, _ = await subscribe(
        tokens, OFFICE, "http://127.0.0.1:9/hook", ["REGISTRANT_SELECTED"]
    )
    seen = {office: {e["id"] for e in await feed(tokens, office)} for office in OFFICES}

    # The demo programme has no other registrant with a disability: these three are drawn.
    wave = await open_wave(tokens, 3, disability=1.0)
    assert (await run_selection(tokens, wave["number"]))["selected"] == 3

    async with database.sessionmaker() as session:
        notices = {
            row.participant_id: row
            for row in await session.execute(
                text(
                    "SELECT participant_id, channel, payload FROM notification_outbox"
                    " WHERE template = 'wave_selected' AND participant_id = ANY(:ids)"
                ),
                {"ids": list(pks.values())},
            )
        }
        offices = {
            code: await session.scalar(text("SELECT id FROM partners WHERE code = :c"), {"c": code})
            for code in OFFICES
        }
    phone = notices[pks["phone"]]
    assert phone.channel == "sms" and phone.payload["to"] == {"participant": pks["phone"]}
    assert phone.payload["waveNumber"] == wave["number"]
    no_phone = notices[pks["no phone"]]
    assert no_phone.channel == "office"
    assert no_phone.payload["to"] == {"officeId": offices[OFFICE]}
    assert notices[pks["other regency"]].payload["to"] == {"officeId": offices[OTHER_OFFICE]}

    def selected(office: str, events: list[dict[str, Any]]) -> set[int]:
        return {
            event["data"]["registrantId"]
            for event in events
            if event["type"] == "REGISTRANT_SELECTED" and event["id"] not in seen[office]
        }

    own = selected(OFFICE, await feed(tokens, OFFICE))
    assert own & set(pks.values()) == {pks["phone"], pks["no phone"]}
    other = selected(OTHER_OFFICE, await feed(tokens, OTHER_OFFICE))
    assert other & set(pks.values()) == {pks["other regency"]}
    # One statement wrote the events; its trigger fanned them out to the subscribed endpoint.
    body = await tokens.graphql(OFFICE, DELIVERIES, {"endpointId": endpoint})
    assert "errors" not in body, body
    deliveries = body["data"]["webhookDeliveries"]["edges"]
    assert len(deliveries) == len(own)
    assert {edge["node"]["eventType"] for edge in deliveries} == {"REGISTRANT_SELECTED"}
