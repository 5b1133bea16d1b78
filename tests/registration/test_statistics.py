"""Statistics: the maintained figures equal the raw tables after every kind of change made
through the API, in every breakdown; a regional office reads its own regency's only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from core.db.database import Database
from tests.support.certificates import item, submit, trained
from tests.support.disbursements import (
    PARTNER,
    acknowledge,
    all_items,
    batch_of,
    data,
    report,
    result,
)
from tests.support.gateway import Tokens
from tests.support.registration import OFFICE, OFFICE_REGENCY, OTHER_REGENCY, codes, form, register
from tests.support.statistics import (
    BREAKDOWNS,
    REGENCY_FIGURES,
    by_code,
    program_figures,
    raw_figures,
)

OPEN = "mutation($input: OpenWaveInput!) { openWave(input: $input) { number } }"
RUN = "mutation($wave: Int!, $quota: Int) { runSelection(wave: $wave, quota: $quota) { selected } }"


async def _assert_exact(tokens: Tokens, database: Database) -> None:
    for breakdown in BREAKDOWNS:
        assert await program_figures(tokens, breakdown) == await raw_figures(database, breakdown), (
            breakdown
        )


async def test_figures_equal_the_raw_tables_through_the_whole_journey(
    tokens: Tokens, database: Database
) -> None:
    await _assert_exact(tokens, database)
    before = (await program_figures(tokens, None))[None]

    # Registrations at the office, one of them a woman with a disability.
    for serial in range(201, 204):
        body = await register(
            tokens, form(serial, female=serial == 202, disabilities=["SENSORY"] * (serial == 202))
        )
        assert "errors" not in body, body
    after_registration = (await program_figures(tokens, None))[None]
    assert after_registration["registrants"] == before["registrants"] + 3
    assert after_registration["registrantsOffline"] == before["registrantsOffline"] + 3
    assert after_registration["registrantsFemale"] == before["registrantsFemale"] + 1
    await _assert_exact(tokens, database)

    # A wave's selection moves people to the wave, its scheme, and the recipients.
    now = datetime.now(UTC)
    opened = await tokens.graphql(
        "PMO",
        OPEN,
        {
            "input": {
                "scheme": "2023",
                "quota": 25,
                "reservedDisabilityShare": 0.2,
                "reservedOfflineShare": 0.2,
                "opensAt": now.isoformat(),
                "closesAt": (now + timedelta(days=4)).isoformat(),
            }
        },
    )
    assert "errors" not in opened, opened
    wave = opened["data"]["openWave"]["number"]
    ran = await tokens.graphql("PMO", RUN, {"wave": wave})
    assert ran["data"]["runSelection"]["selected"] == 25, ran
    waves = await program_figures(tokens, "WAVE")
    assert waves[str(wave)]["recipients"] == 25
    await _assert_exact(tokens, database)

    # Purchases (balances only: no figure moves), then completions.
    sale, redeem_codes = await trained(tokens, database, count=3)
    await _assert_exact(tokens, database)
    await submit(tokens, sale.provider_code, [item(code) for code in redeem_codes])
    after_completion = (await program_figures(tokens, None))[None]
    assert after_completion["completions"] == before["completions"] + 3
    await _assert_exact(tokens, database)

    # Payments: paid, failed and one paid then reversed.
    batch = await batch_of(tokens, PARTNER)
    data(await acknowledge(tokens, PARTNER, batch))
    ids = [node["endToEndId"] for node in await all_items(tokens, PARTNER, batch["code"])]
    failed, reversed_, *paid = ids
    results = [result(failed, "FAILED", reason="AC04"), result(reversed_, "PAID")]
    results += [result(e2e, "PAID") for e2e in paid]
    data(await report(tokens, PARTNER, batch["code"], results))
    await _assert_exact(tokens, database)
    data(await report(tokens, PARTNER, batch["code"], [result(reversed_, "REVERSED")]))
    await _assert_exact(tokens, database)

    # The programme's own answer agrees with the figures.
    statistics = await tokens.graphql(
        "PMO",
        "{ programStatistics { registrants recipients completions incentivesPaid "
        "incentivesPaidAmount } }",
    )
    total = (await raw_figures(database, None))[None]
    assert statistics["data"]["programStatistics"] == {
        "registrants": total["registrants"],
        "recipients": total["recipients"],
        "completions": total["completions"],
        "incentivesPaid": total["incentivesPaid"],
        "incentivesPaidAmount": str(total["incentivesPaidAmount"]),
    }


async def test_filters_narrow_every_figure(tokens: Tokens, database: Database) -> None:
    await register(tokens, form(211, female=True, disabilities=["PHYSICAL"]))
    narrowed = await program_figures(
        tokens, "REGENCY", channel="OFFLINE", sex="FEMALE", withDisability=True
    )
    assert narrowed[OFFICE_REGENCY]["registrants"] >= 1
    assert all(
        group["registrants"]
        == group["registrantsOffline"]
        == group["registrantsFemale"]
        == group["registrantsWithDisability"]
        for group in narrowed.values()
    )
    one = await program_figures(tokens, "REGENCY", regencyCode=OFFICE_REGENCY)
    assert list(one) == [OFFICE_REGENCY]
    assert await program_figures(tokens, None, regencyCode="0000") == {
        None: dict.fromkeys(
            [
                "registrants",
                "registrantsOnline",
                "registrantsOffline",
                "registrantsWithDisability",
                "registrantsFemale",
                "registrantsMale",
                "recipients",
                "completions",
                "incentivesPaid",
                "incentivesPaidAmount",
            ],
            0,
        )
    }


async def test_an_office_reads_its_own_regency_only(tokens: Tokens, database: Database) -> None:
    await register(tokens, form(221))
    own = await tokens.graphql(OFFICE, REGENCY_FIGURES, {})
    assert "errors" not in own, own
    assert by_code(own["data"]["regencyFigures"]) == await raw_figures(
        database, None, OFFICE_REGENCY
    )
    assert by_code(own["data"]["regencyFigures"])[None]["registrantsOffline"] >= 1
    by_wave = await tokens.graphql(OFFICE, REGENCY_FIGURES, {"breakdown": "WAVE"})
    assert by_code(by_wave["data"]["regencyFigures"]) == await raw_figures(
        database, "WAVE", OFFICE_REGENCY
    )
    # Naming its own regency is the same; another's is refused, however it is asked.
    named = await tokens.graphql(OFFICE, REGENCY_FIGURES, {"regency": OFFICE_REGENCY})
    assert named["data"] == own["data"]
    other = await tokens.graphql(OFFICE, REGENCY_FIGURES, {"regency": OTHER_REGENCY})
    assert codes(other) == ["OUTSIDE_OWN_REGENCY"]
    by_regency = await tokens.graphql(
        OFFICE, REGENCY_FIGURES, {"breakdown": "REGENCY", "filter": {"regencyCode": OTHER_REGENCY}}
    )
    assert by_code(by_regency["data"]["regencyFigures"]) == {}
    by_province = await tokens.graphql(OFFICE, REGENCY_FIGURES, {"breakdown": "PROVINCE"})
    assert len(by_province["data"]["regencyFigures"]) == 1
    # The whole programme's figures are programme management's.
    assert codes(await tokens.graphql(OFFICE, "{ programFigures { registrants } }")) == [
        "FORBIDDEN"
    ]
    # Another office sees its own regency, not this one's.
    another = await tokens.graphql("DISNAKER-3171", REGENCY_FIGURES, {})
    assert by_code(another["data"]["regencyFigures"]) == await raw_figures(
        database, None, OTHER_REGENCY
    )


async def test_programme_management_names_a_regency(tokens: Tokens, database: Database) -> None:
    named = await tokens.graphql("PMO", REGENCY_FIGURES, {"regency": OTHER_REGENCY})
    assert by_code(named["data"]["regencyFigures"]) == await raw_figures(
        database, None, OTHER_REGENCY
    )
    assert codes(await tokens.graphql("PMO", REGENCY_FIGURES, {})) == ["BAD_USER_INPUT"]
    assert codes(await tokens.graphql("PMO", REGENCY_FIGURES, {"regency": "0000"})) == ["NOT_FOUND"]
    for partner in ("DP-001", "LP-0001", "PP-001"):
        body = await tokens.graphql(partner, REGENCY_FIGURES, {"regency": OFFICE_REGENCY})
        assert codes(body) == ["FORBIDDEN"], partner
        body = await tokens.graphql(partner, "{ programFigures { registrants } }")
        assert codes(body) == ["FORBIDDEN"], partner


async def test_a_bulk_move_carries_completions_and_payments(
    tokens: Tokens, database: Database
) -> None:
    """Moving people whose completions and paid incentives count (a correction of their
    regency, sex and disability in one statement, as a data fix would) moves those figures
    with them; an update of nothing the figures depend on moves nothing."""
    sale, redeem_codes = await trained(tokens, database, count=3)
    await submit(tokens, sale.provider_code, [item(code) for code in redeem_codes])
    batch = await batch_of(tokens, PARTNER)
    data(await acknowledge(tokens, PARTNER, batch))
    ids = [node["endToEndId"] for node in await all_items(tokens, PARTNER, batch["code"])]
    data(await report(tokens, PARTNER, batch["code"], [result(e2e, "PAID") for e2e in ids]))
    await _assert_exact(tokens, database)
    async with database.sessionmaker() as session:
        moved = await session.execute(
            text(
                "UPDATE participants p"
                "   SET regency_id = (SELECT max(id) FROM regencies WHERE id <> p.regency_id),"
                "       sex = CASE WHEN p.sex = 'MALE' THEN 'FEMALE' ELSE 'MALE' END,"
                "       disabilities = CASE WHEN cardinality(p.disabilities) > 0"
                "                           THEN '{}'::text[] ELSE ARRAY['PHYSICAL'] END"
                " WHERE p.id IN (SELECT participant_id FROM completions)"
                "    OR p.id IN (SELECT s.participant_id FROM incentive_installments s"
                "                  JOIN disbursement_items i ON i.installment_id = s.id"
                "                 WHERE i.status = 'PAID')"
                "    OR p.id = (SELECT min(id) FROM participants WHERE status = 'REGISTERED')"
            )
        )
        assert moved.rowcount >= 4
        await session.execute(
            text("UPDATE participants SET training_balance = training_balance WHERE id <= 50")
        )
        await session.commit()
    await _assert_exact(tokens, database)
    # The people moved were counted: the test moved completions and payments, not nothing.
    total = (await raw_figures(database, None))[None]
    assert total["completions"] >= 3 and total["incentivesPaid"] >= 1, total
