"""A regional office registers residents of its own regency offline, alone and in bulk."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import text

from core.db.database import Database
from core.eligibility import FAMILY_CARD_RECIPIENTS_MAX
from tests.support.gateway import Tokens
from tests.support.registration import (
    OFFICE,
    OTHER_OFFICE,
    OTHER_REGENCY,
    REGISTER_MANY,
    codes,
    form,
    nik,
    open_wave,
    register,
    run_selection,
    set_aside_seeded_disabilities,
)


async def test_an_office_registers_a_resident_and_the_nik_is_never_kept_in_clear(
    tokens: Tokens, database: Database
) -> None:
    values = form(
        7,
        female=True,
        born=date(1995, 2, 3),
        phone="081234567890",
        disabilities=["PHYSICAL", "SENSORY"],
        accommodation="wheelchair access",
    )
    body = await register(tokens, values)
    assert body.get("errors") is None, body
    registrant = body["data"]["registerParticipant"]
    assert registrant["channel"] == "OFFLINE"
    assert registrant["status"] == "REGISTERED"
    assert registrant["cardNumber"] is None
    assert registrant["nikMasked"] == values["nik"][:6] + "********" + values["nik"][-2:]
    assert registrant["sex"] == "FEMALE"
    assert sorted(registrant["disabilities"]) == ["PHYSICAL", "SENSORY"]
    assert registrant["phoneMasked"] == "0812****7890"
    assert values["nik"] not in json.dumps(body)
    async with database.sessionmaker() as session:
        dumped = (
            await session.execute(
                text(
                    "SELECT row_to_json(p)::text"
                    " || coalesce((SELECT string_agg(row_to_json(a)::text, '') FROM audit_log a"
                    "    WHERE a.action = 'participant.registered'), '')"
                    " || coalesce((SELECT string_agg(payload::text, '')"
                    "    FROM notification_outbox), '')"
                    " || (SELECT row_to_json(c)::text FROM registration_consents c"
                    "      WHERE c.participant_id = p.id)"
                    " FROM participants p WHERE p.nik_masked = :masked"
                ),
                {"masked": registrant["nikMasked"]},
            )
        ).scalar_one()
        assert values["nik"] not in dumped and values["kk"] not in dumped
        notice = (
            await session.execute(
                text(
                    "SELECT channel, template, payload FROM notification_outbox"
                    " WHERE template = 'registration_received' ORDER BY id DESC LIMIT 1"
                )
            )
        ).one()
    assert notice.channel == "sms"
    assert notice.payload["to"] == {"phone": "081234567890"}


async def test_without_a_phone_the_office_is_notified(tokens: Tokens, database: Database) -> None:
    body = await register(tokens, form(8))
    assert body.get("errors") is None, body
    async with database.sessionmaker() as session:
        notice = (
            await session.execute(
                text(
                    "SELECT channel, payload FROM notification_outbox"
                    " WHERE template = 'registration_received' ORDER BY id DESC LIMIT 1"
                )
            )
        ).one()
    assert notice.channel == "office"
    assert notice.payload["to"]["officeCode"] == OFFICE


async def test_a_resident_of_another_regency_is_refused(tokens: Tokens) -> None:
    body = await register(tokens, form(9, regency=OTHER_REGENCY))
    assert codes(body) == ["OUTSIDE_OWN_REGENCY"]
    # ...even when only the stated residence is the office's.
    other = form(10, regency=OTHER_REGENCY)
    other["regencyCode"] = "1101"
    assert codes(await register(tokens, other)) == ["NIK_MISMATCH"]
    # The other regency's own office may register them.
    body = await register(tokens, form(9, regency=OTHER_REGENCY), office=OTHER_OFFICE)
    assert body.get("errors") is None, body


async def test_a_nik_registered_before_is_refused_saying_the_channel_only(tokens: Tokens) -> None:
    assert (await register(tokens, form(11))).get("errors") is None
    body = await register(tokens, form(11, fullName="Someone Else", kk="1101019999999999"))
    assert codes(body) == ["ALREADY_REGISTERED"]
    error = body["errors"][0]
    assert error["extensions"]["channel"] == "OFFLINE"
    assert "Orang Uji" not in json.dumps(body)


async def test_bad_nik_structure_and_disagreements_are_refused(tokens: Tokens) -> None:
    born = date(1990, 6, 15)
    cases = {
        "12345": "NIK_INVALID",
        "110101150690000A": "NIK_INVALID",
        "1101013206900001": "NIK_INVALID",  # day 32
        "1101011513900001": "NIK_INVALID",  # month 13
        nik("1101", date(1991, 6, 15)): "NIK_MISMATCH",  # another year
        nik("1101", born, female=True): "NIK_MISMATCH",  # a woman's day, a man stated
    }
    for value, code in cases.items():
        assert codes(await register(tokens, form(12, nik=value))) == [code], value
    unknown = form(12, regency="9999")
    assert codes(await register(tokens, unknown)) == ["NIK_REGENCY_UNKNOWN"]


async def test_under_18_is_refused(tokens: Tokens) -> None:
    today = date.today()
    young = date(today.year - 17, 1, 1)
    assert codes(await register(tokens, form(13, born=young))) == ["UNDER_AGE"]


async def test_consent_must_be_complete(tokens: Tokens) -> None:
    signed = form(14, consent={"method": "SIGNED_FORM", "officeUser": "petugas-1"})
    assert codes(await register(tokens, signed)) == ["CONSENT_INCOMPLETE"]
    signed["consent"]["reference"] = "FORM-2020-001"
    assert (await register(tokens, signed)).get("errors") is None


async def test_a_family_card_takes_members_until_it_has_its_two_recipients(
    tokens: Tokens, database: Database
) -> None:
    await set_aside_seeded_disabilities(database)
    # The programme limits recipients per card, not registrants: a third member registers.
    kk = "1101015555555555"
    for serial in range(20, 23):
        body = await register(tokens, form(serial, kk=kk, disabilities=["PHYSICAL"]))
        assert body.get("errors") is None, body
    # The demo programme has no other registrant with a disability: the wave's disability
    # pool draws from this card, which keeps two and holds the third back.
    wave = await open_wave(tokens, FAMILY_CARD_RECIPIENTS_MAX, disability=1.0)
    result = await run_selection(tokens, wave["number"])
    assert result["selected"] == FAMILY_CARD_RECIPIENTS_MAX
    assert result["familyCardLimited"] == 1
    body = await register(tokens, form(23, kk=kk))
    assert codes(body) == ["FAMILY_CARD_FULL"]
    assert str(FAMILY_CARD_RECIPIENTS_MAX) in body["errors"][0]["message"]
    # Another card is not affected.
    assert (await register(tokens, form(24, kk="1101015555555556"))).get("errors") is None


async def test_bulk_answers_each_item_in_order_and_keeps_the_successes(tokens: Tokens) -> None:
    items = [form(30), form(31, regency=OTHER_REGENCY), form(30), form(32, nik="123")]
    body = await tokens.graphql(OFFICE, REGISTER_MANY, {"items": items})
    assert body.get("errors") is None, body
    results = body["data"]["registerParticipants"]["results"]
    assert results[0]["registrant"]["channel"] == "OFFLINE" and results[0]["errors"] == []
    assert [r["errors"][0]["code"] for r in results[1:]] == [
        "OUTSIDE_OWN_REGENCY",
        "ALREADY_REGISTERED",
        "NIK_INVALID",
    ]
    assert results[3]["errors"][0]["field"] == "nik"
    # The success stands: registering it again is a duplicate.
    assert codes(await register(tokens, form(30))) == ["ALREADY_REGISTERED"]


async def test_bulk_is_capped_at_200(tokens: Tokens) -> None:
    items = [form(1000 + n) for n in range(201)]
    body = await tokens.graphql(OFFICE, REGISTER_MANY, {"items": items})
    assert codes(body) == ["TOO_MANY_ITEMS"]


async def test_a_bulk_retry_with_the_same_idempotency_key_replays_the_answer(
    tokens: Tokens,
) -> None:
    items = [form(40), form(41)]
    headers = {**await tokens.headers(OFFICE), "Idempotency-Key": "bulk-event-1"}
    payload = {"query": REGISTER_MANY, "variables": {"items": items}}
    first = await tokens.http.post("/graphql", json=payload, headers=headers)
    again = await tokens.http.post("/graphql", json=payload, headers=headers)
    assert first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    results = again.json()["data"]["registerParticipants"]["results"]
    assert all(result["errors"] == [] for result in results)


async def test_other_partner_types_cannot_register(tokens: Tokens) -> None:
    for partner in ("DP-001", "LP-0001", "PP-001", "PMO"):
        body = await tokens.graphql(
            partner,
            "mutation($input: RegisterParticipantInput!)"
            " { registerParticipant(input: $input) { id } }",
            {"input": form(50)},
        )
        assert codes(body) == ["FORBIDDEN"], partner
