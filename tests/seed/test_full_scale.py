"""The full-scale generator at a tiny fraction: the seed's figures in proportion, exact; the
invariants of the live system; the same hashing and card numbers as the live code."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from core.db import migrate
from core.identity import hash_nik
from gateway.seed import seed_full_database
from gateway.seed.full import FullScale, card_number_sql, hmac_pads, nik_hash_sql
from tests.support.databases import DatabaseFactory
from tests.support.seed_invariants import CHECKS, violations

FRACTION = 0.0005
pytestmark = pytest.mark.xdist_group("full_scale_seed")


@pytest.fixture(scope="module")
async def full_url(databases: DatabaseFactory) -> str:
    url = await databases.create("full_scale")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_full_database(url, fraction=FRACTION)
    return url


async def _row(url: str, sql: str, *args: object) -> asyncpg.Record:
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(sql, *args)
        assert row is not None
        return row
    finally:
        await connection.close()


async def test_the_figures_are_the_seeds_in_proportion(full_url: str) -> None:
    scale = FullScale.at(FRACTION)
    assert (scale.registrants, scale.recipients, scale.completers, scale.paid) == (
        7950,
        1500,
        425,
        305,
    )
    raw = await _row(
        full_url,
        """
        SELECT (SELECT count(*) FROM participants) AS registrants,
               (SELECT count(*) FROM participants WHERE status = 'RECIPIENT') AS recipients,
               (SELECT count(DISTINCT participant_id) FROM completions) AS completers,
               (SELECT count(DISTINCT s.participant_id) FROM disbursement_items i
                  JOIN incentive_installments s ON s.id = i.installment_id
                 WHERE i.status = 'PAID') AS paid,
               (SELECT count(*) FROM waves) AS waves,
               (SELECT count(*) FROM partners WHERE type = 'PLATFORM') AS platforms,
               (SELECT count(*) FROM partners WHERE type = 'PAYMENT_PARTNER') AS payment_partners,
               (SELECT count(*) FROM partners WHERE type = 'TRAINING_PROVIDER') AS providers,
               (SELECT count(*) FROM courses) AS courses
        """,
    )
    assert dict(raw) == {
        "registrants": scale.registrants,
        "recipients": scale.recipients,
        "completers": scale.completers,
        "paid": scale.paid,
        "waves": 6,
        "platforms": 7,
        "payment_partners": 4,
        "providers": 165,
        "courses": raw["courses"],
    }
    assert raw["courses"] > 2000
    # The maintained figures (rebuilt once after the load) say the same.
    figures = await _row(
        full_url,
        "SELECT sum(registrants) AS registrants, sum(recipients) AS recipients,"
        " sum(completions) AS completers, sum(incentives_paid) AS paid,"
        " sum(incentives_paid_amount) AS amount FROM programme_figures",
    )
    assert (figures["registrants"], figures["recipients"]) == (scale.registrants, scale.recipients)
    assert (figures["completers"], figures["paid"]) == (scale.completers, scale.paid)
    amount = await _row(
        full_url, "SELECT sum(amount) AS amount FROM disbursement_items WHERE status = 'PAID'"
    )
    assert figures["amount"] == amount["amount"]


async def test_offline_in_every_regency_and_recipients_in_every_province(full_url: str) -> None:
    row = await _row(
        full_url,
        """
        SELECT (SELECT count(*) FROM regencies) AS regencies,
               count(DISTINCT p.regency_id) FILTER (WHERE p.registration_channel = 'OFFLINE')
                   AS offline_regencies,
               count(DISTINCT r.province_id) FILTER (WHERE p.status = 'RECIPIENT')
                   AS recipient_provinces,
               count(*) FILTER (WHERE p.registration_channel = 'OFFLINE'
                                  AND p.registered_by_partner_id IS NULL) AS offline_without_office,
               count(*) FILTER (WHERE cardinality(p.disabilities) > 0) AS with_disability,
               count(*) FILTER (WHERE left(p.nik_masked, 4) <> r.code) AS nik_elsewhere,
               count(DISTINCT p.nik_hash) AS distinct_niks,
               count(*) AS registrants
          FROM participants p JOIN regencies r ON r.id = p.regency_id
        """,
    )
    assert row["offline_regencies"] == row["regencies"] == 514
    assert row["recipient_provinces"] == 34
    assert row["offline_without_office"] == 0
    assert row["with_disability"] > 0
    assert row["nik_elsewhere"] == 0
    assert row["distinct_niks"] == row["registrants"]


async def test_the_live_systems_invariants_hold(full_url: str) -> None:
    row = await _row(
        full_url,
        """
        SELECT
          (SELECT count(*) FROM schedules s WHERE s.remaining <> s.quota - (SELECT count(*)
             FROM purchases u WHERE u.schedule_id = s.id AND u.status = 'SUCCESS'))
             AS seats_off,
          (SELECT count(*) FROM participants p JOIN purchases u ON u.participant_id = p.id
            JOIN schemes sc ON sc.id = (SELECT scheme_id FROM waves w WHERE w.id = p.wave_id)
            WHERE p.training_balance <> sc.training_balance - u.amount) AS balance_off,
          (SELECT count(*) FROM (SELECT participant_id, count(*) AS n, sum(amount) AS total
             FROM incentive_installments GROUP BY participant_id) i
             WHERE (n, total) <> (7, 4 * 600000 + 3 * 50000)) AS plan_off,
          (SELECT count(*) FROM disbursement_batches b WHERE (b.item_count, b.control_sum) <>
             (SELECT count(*), coalesce(sum(amount), 0) FROM disbursement_items i
               WHERE i.batch_id = b.id)) AS headers_off,
          (SELECT count(*) FROM purchases u JOIN courses c ON c.id = u.course_id
            LEFT JOIN course_listings l ON l.course_id = c.id AND l.platform_id = u.platform_id
            WHERE l.course_id IS NULL OR c.status <> 'APPROVED' OR u.amount <> c.price)
            AS sales_off,
          (SELECT count(*) FROM purchases WHERE redeem_code !~ '^G[0-9]{4}-[0-9]{5}$'
              OR right(replace(redeem_code, '-', ''), 9)::bigint <> id) AS redeem_codes_off,
          (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D')
            AS triggers_left_disabled
        """,
    )
    assert dict(row) == {
        "seats_off": 0,
        "balance_off": 0,
        "plan_off": 0,
        "headers_off": 0,
        "sales_off": 0,
        "redeem_codes_off": 0,
        "triggers_left_disabled": 0,
    }


async def test_sql_hashes_and_card_numbers_are_the_live_ones(full_url: str) -> None:
    key = b"demo-master-key"
    inner, outer = hmac_pads(key)
    for nik in ("3273015505900001", "1101014101990042"):
        row = await _row(full_url, f"SELECT {nik_hash_sql('$3::text')} AS h", inner, outer, nik)
        assert bytes(row["h"]) == hash_nik(key, nik)
    long_key = bytes(range(100))  # longer than a block: hashed first, as hmac does
    inner, outer = hmac_pads(long_key)
    row = await _row(full_url, f"SELECT {nik_hash_sql('$3::text')} AS h", inner, outer, "x")
    assert bytes(row["h"]) == hash_nik(long_key, "x")
    differ = await _row(
        full_url,
        f"SELECT count(*) AS n FROM generate_series(1, 50000) AS n"
        f" WHERE {card_number_sql('n')} <> prakerja_card_number(n)",
    )
    assert differ["n"] == 0


async def test_every_invariant_of_the_live_system_holds(full_url: str) -> None:
    assert await violations(full_url) == dict.fromkeys(CHECKS, 0)
