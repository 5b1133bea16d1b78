"""The invariants the live system keeps, checked with SQL over a seeded database.

Each query counts the rows that break one rule; a seeded database must count none. The rules'
own definitions are read from where they live (``core.eligibility``, ``core.incentives``,
the schemes' rows), never restated as numbers here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from core.eligibility import MIN_REGISTRATION_AGE
from core.enums import (
    CertificateStatus,
    DisbursementItemStatus,
    Education,
    InstallmentStatus,
    ParticipantStatus,
    PartnerStatus,
    PurchaseStatus,
    RegistrationChannel,
)
from core.incentives import installment_plan

POST_TEST = 999  # the attendance sequence of the post-test (resolvers/enrollment)

# name -> SQL counting the violations; $n parameters are bound in ``violations``.
CHECKS: dict[str, str] = {
    # Seats: a schedule's taken seats are its successful purchases, never more than its quota.
    "seats_taken_differ_from_successful_purchases": """
        SELECT count(*) FROM schedules s
         WHERE s.remaining < 0 OR s.quota - s.remaining <> (SELECT count(*) FROM purchases u
                 WHERE u.schedule_id = s.id AND u.status = $1)""",
    # Balance: the scheme's balance less what the successful purchases spent.
    "balance_differs_from_scheme_less_purchases": """
        SELECT count(*) FROM participants p
          JOIN waves w ON w.id = p.wave_id JOIN schemes sc ON sc.id = w.scheme_id
         WHERE p.training_balance <> sc.training_balance - coalesce((SELECT sum(u.amount)
                 FROM purchases u WHERE u.participant_id = p.id AND u.status = $1), 0)""",
    "balance_without_wave": """
        SELECT count(*) FROM participants WHERE wave_id IS NULL AND training_balance <> 0""",
    # Only a recipient of a wave buys, its first purchase before the wave's deadline.
    "purchase_by_a_non_recipient": """
        SELECT count(*) FROM purchases u JOIN participants p ON p.id = u.participant_id
         WHERE p.status <> $2 OR p.wave_id IS NULL""",
    "first_purchase_after_the_deadline": """
        SELECT count(*) FROM participants p
         WHERE (SELECT min(u.created_at) FROM purchases u WHERE u.participant_id = p.id)
               > p.first_purchase_deadline""",
    "purchase_before_the_wave_opened": """
        SELECT count(*) FROM purchases u JOIN participants p ON p.id = u.participant_id
          JOIN waves w ON w.id = p.wave_id WHERE u.created_at < w.opens_at""",
    # What was sold: an approved course of an active provider, listed by the platform, at
    # its price, on one of its schedules not yet over, to someone its rules admit.
    "sale_not_on_offer": """
        SELECT count(*) FROM purchases u
          JOIN courses c ON c.id = u.course_id
          JOIN partners pr ON pr.id = c.provider_id
          JOIN schedules s ON s.id = u.schedule_id
          LEFT JOIN course_listings l ON l.course_id = c.id AND l.platform_id = u.platform_id
         WHERE l.course_id IS NULL OR c.status <> 'APPROVED' OR pr.status <> $3
            OR u.amount <> c.price OR s.course_id <> c.id OR s.ends_at <= u.created_at""",
    "sale_the_rules_refuse": """
        SELECT count(*) FROM purchases u
          JOIN courses c ON c.id = u.course_id JOIN participants p ON p.id = u.participant_id
          CROSS JOIN LATERAL (SELECT extract(year FROM age(u.created_at::date, p.birth_date))
                                  AS age) a
         WHERE (c.min_age IS NOT NULL AND a.age < c.min_age)
            OR (c.max_age IS NOT NULL AND a.age > c.max_age)
            OR array_position($4::text[], p.education)
               < array_position($4::text[], c.min_education)""",
    "registrant_under_age": f"""
        SELECT count(*) FROM participants
         WHERE birth_date > (created_at::date - interval '{MIN_REGISTRATION_AGE} years')""",
    "buyer_without_platform_account": """
        SELECT count(*) FROM purchases u WHERE NOT EXISTS (SELECT 1 FROM platform_accounts a
                 WHERE a.platform_id = u.platform_id AND a.participant_id = u.participant_id)""",
    # The purchase's way: authorized, then redeemed, then attended, then completed.
    "purchase_times_out_of_order": """
        SELECT count(*) FROM purchases
         WHERE authorized_at < created_at OR redeemed_at < authorized_at
            OR (redeemed_at IS NOT NULL AND status <> $1)""",
    "attendance_without_redemption": """
        SELECT count(*) FROM attendances a JOIN purchases u ON u.id = a.purchase_id
         WHERE u.redeemed_at IS NULL OR a.attended_at < u.redeemed_at""",
    "completion_without_post_test": """
        SELECT count(*) FROM completions c JOIN purchases u ON u.id = c.purchase_id
         WHERE u.redeemed_at IS NULL OR c.completed_at < u.redeemed_at
            OR c.participant_id <> u.participant_id
            OR NOT EXISTS (SELECT 1 FROM attendances a WHERE a.purchase_id = u.id
                             AND a.sequence = $5 AND a.attended_at <= c.completed_at)""",
    "completion_in_the_future": """
        SELECT count(*) FROM completions WHERE completed_at > $6""",
    # A certificate only for a completion (so only after redemption), of its own course.
    "certificate_without_completion": """
        SELECT count(*) FROM certificates ce
          LEFT JOIN completions c ON c.id = ce.completion_id
          LEFT JOIN purchases u ON u.id = c.purchase_id
         WHERE c.id IS NULL OR ce.participant_id <> c.participant_id
            OR ce.course_id <> u.course_id OR ce.issued_at < c.completed_at""",
    "completion_without_certificate": """
        SELECT count(*) FROM completions c
         WHERE NOT EXISTS (SELECT 1 FROM certificates ce WHERE ce.completion_id = c.id
                             AND ce.status = $7)""",
    # Installments: exactly the scheme's plan (core.incentives), only after a completion.
    "installments_not_the_schemes_plan": """
        SELECT count(*) FROM (
          SELECT i.participant_id AS id, array_agg(i.planned ORDER BY i.planned) AS plan
            FROM (SELECT participant_id, kind || ':' || sequence || ':' || amount AS planned
                    FROM incentive_installments) i
           GROUP BY i.participant_id) got
         WHERE got.plan <> $8::text[]
            OR NOT EXISTS (SELECT 1 FROM completions c WHERE c.participant_id = got.id)""",
    "completer_without_installments": """
        SELECT count(*) FROM completions c WHERE NOT EXISTS (SELECT 1
                 FROM incentive_installments i WHERE i.participant_id = c.participant_id)""",
    "installment_due_before_completion": """
        SELECT count(*) FROM incentive_installments i
         WHERE i.due_at < (SELECT min(c.completed_at) FROM completions c
                            WHERE c.participant_id = i.participant_id)""",
    # Paid: one PAID item per PAID installment, into a verified account of the payee.
    "paid_installment_without_one_paid_item": """
        SELECT count(*) FROM incentive_installments i
         WHERE (i.status = $9) <> EXISTS (SELECT 1 FROM disbursement_items d
                 WHERE d.installment_id = i.id AND d.status = $10)
            OR (SELECT count(*) FROM disbursement_items d
                 WHERE d.installment_id = i.id AND d.status = $10) > 1""",
    "paid_into_someone_elses_account": """
        SELECT count(*) FROM disbursement_items d
          JOIN incentive_installments i ON i.id = d.installment_id
          JOIN payment_accounts a ON a.id = d.payment_account_id
         WHERE a.participant_id <> i.participant_id OR a.verified_at IS NULL
            OR d.amount <> i.amount""",
    "batch_header_differs_from_items": """
        SELECT count(*) FROM disbursement_batches b
         WHERE (b.item_count, b.control_sum) <> (SELECT count(*), coalesce(sum(amount), 0)
                 FROM disbursement_items d WHERE d.batch_id = b.id)""",
    # Registration: the office of the registrant's regency for an offline registration.
    "offline_without_its_regencys_office": """
        SELECT count(*) FROM participants p
          LEFT JOIN partners o ON o.id = p.registered_by_partner_id
         WHERE p.registration_channel = $11
           AND (o.id IS NULL OR o.regency_id IS DISTINCT FROM p.regency_id)""",
    "national_id_in_clear": """
        SELECT count(*) FROM participants
         WHERE nik_masked !~ '^[0-9]{6}[*]{8}[0-9]{2}$' OR length(nik_hash) <> 32""",
    "card_number_not_the_live_one": """
        SELECT count(*) FROM participants WHERE card_number <> prakerja_card_number(id)""",
    # The maintained figures equal the rows they count.
    "figures_differ_from_rows": """
        SELECT count(*) FROM (SELECT
            (SELECT coalesce(sum(registrants), 0) FROM programme_figures)
                - (SELECT count(*) FROM participants) AS registrants,
            (SELECT coalesce(sum(recipients), 0) FROM programme_figures)
                - (SELECT count(*) FROM participants WHERE status = $2) AS recipients,
            (SELECT coalesce(sum(completions), 0) FROM programme_figures)
                - (SELECT count(DISTINCT participant_id) FROM completions) AS completions,
            (SELECT coalesce(sum(incentives_paid_amount), 0) FROM programme_figures)
                - (SELECT coalesce(sum(amount), 0) FROM disbursement_items WHERE status = $10)
                AS paid) f
         WHERE (registrants, recipients, completions, paid) <> (0, 0, 0, 0)""",
}


@dataclass(frozen=True)
class _Scheme:
    incentive_amount: int
    incentive_count: int
    survey_incentive_amount: int
    survey_count: int


def _parameters(row: asyncpg.Record) -> list[object]:
    scheme = _Scheme(
        row["incentive_amount"],
        row["incentive_count"],
        row["survey_incentive_amount"],
        row["survey_count"],
    )
    plan = installment_plan(scheme, datetime(2020, 1, 1, tzinfo=UTC))
    expected = sorted(f"{p.kind.value}:{p.sequence}:{p.amount}" for p in plan)
    return [
        PurchaseStatus.SUCCESS.value,
        ParticipantStatus.RECIPIENT.value,
        PartnerStatus.ACTIVE.value,
        [education.value for education in Education],  # in rank order
        POST_TEST,
        datetime.now(UTC),
        CertificateStatus.VALID.value,
        expected,
        InstallmentStatus.PAID.value,
        DisbursementItemStatus.PAID.value,
        RegistrationChannel.OFFLINE.value,
    ]


async def violations(url: str) -> dict[str, int]:
    """Every check's count of offending rows (all zero on a sound database)."""
    connection = await asyncpg.connect(url)
    try:
        schemes = await connection.fetch(
            "SELECT DISTINCT sc.* FROM schemes sc JOIN waves w ON w.scheme_id = sc.id"
        )
        assert len(schemes) == 1, "the seed's waves share one scheme"
        parameters = _parameters(schemes[0])
        found = {}
        for name, sql in CHECKS.items():
            # asyncpg binds exactly the parameters a statement uses: renumber them.
            used = sorted({int(number) for number in re.findall(r"\$(\d+)", sql)})
            position = {number: index for index, number in enumerate(used, start=1)}
            text = re.sub(r"\$(\d+)", lambda m, p=position: f"${p[int(m.group(1))]}", sql)
            found[name] = int(await connection.fetchval(text, *[parameters[n - 1] for n in used]))
        return found
    finally:
        await connection.close()
