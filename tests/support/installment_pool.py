"""Test and benchmark set-up: many due installments at one payment partner, set-based.

Participants with a verified primary account and one DUE training installment each, made
by three INSERT ... SELECT statements: 100,000 take seconds. This stands in for issue 9's
rule that makes installments due; it is set-up, not the feature.
"""

from __future__ import annotations

import secrets

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import (
    Education,
    IncentiveKind,
    InstallmentStatus,
    ParticipantStatus,
    PaymentAccountKind,
    RegistrationChannel,
)

INCENTIVE = 600_000

_POOL = text(
    """
    WITH p AS (
        INSERT INTO participants (id, card_number, nik_hash, nik_masked, full_name, birth_date,
                                  education, regency_id, training_balance, status,
                                  registration_channel)
        SELECT n, prakerja_card_number(n),
               sha256(convert_to(:tag || '-' || n, 'UTF8')), '317101********01',
               'PESERTA UJI ' || n, date '1995-01-01', :education,
               (SELECT min(id) FROM regencies), 0, :registered, :online
          FROM (SELECT nextval(pg_get_serial_sequence('participants', 'id')) AS n
                  FROM generate_series(1, :count)) AS issued
        RETURNING id, full_name
    ), a AS (
        INSERT INTO payment_accounts (participant_id, payment_partner_id, kind,
                                      account_reference, account_number, account_masked,
                                      holder_name, name_matched, is_primary, verified_at)
        SELECT id, (SELECT id FROM partners WHERE code = :partner), :bank,
               'acct_pool_' || id, lpad(id::text, 12, '0'),
               '********' || right(lpad(id::text, 12, '0'), 4), full_name, true, true, now()
          FROM p
    )
    INSERT INTO incentive_installments (participant_id, kind, sequence, amount, due_at, status)
    SELECT id, :training, 1, :amount, now() - interval '1 day', :due FROM p
    """
)


async def add_due_installments(session: AsyncSession, partner_code: str, count: int) -> None:
    await session.execute(
        _POOL,
        {
            "tag": secrets.token_hex(8),
            "count": count,
            "partner": partner_code,
            "education": Education.SMA,
            "registered": ParticipantStatus.REGISTERED,
            "online": RegistrationChannel.ONLINE,
            "bank": PaymentAccountKind.BANK,
            "training": IncentiveKind.TRAINING,
            "amount": INCENTIVE,
            "due": InstallmentStatus.DUE,
        },
    )
