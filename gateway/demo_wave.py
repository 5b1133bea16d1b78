"""A wave that is open today, so the demo can be walked through end to end.

The seeded programme is the deterministic one of 2020: every schedule in it has ended and
every deadline has passed. The demo adds, once, a wave of the 2023 scheme that opened
yesterday, makes some registrants its recipients, and gives each approved course a schedule
that is running now, so a person can buy, redeem and attend with the demo credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from core.enums import CourseStatus, ParticipantStatus, PartnerStatus

DEMO_RECIPIENTS = 500
LIVE_SCHEDULE_QUOTA = 100


@dataclass(frozen=True)
class DemoWave:
    number: int
    recipients: int
    schedules: int
    created: bool


async def open_demo_wave(url: str, now: datetime) -> DemoWave:
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            open_wave = await connection.fetchrow(
                "SELECT number FROM waves WHERE opens_at <= $1 AND closes_at > $1", now
            )
            if open_wave is not None:
                return DemoWave(open_wave["number"], 0, 0, created=False)
            scheme = await connection.fetchrow(
                "SELECT id, training_balance, purchase_deadline_days FROM schemes"
                " ORDER BY code DESC LIMIT 1"
            )
            opens_at = now - timedelta(days=1)
            number = await connection.fetchval(
                "INSERT INTO waves (id, number, scheme_id, opens_at, closes_at)"
                " SELECT coalesce(max(id), 0) + 1, coalesce(max(number), 0) + 1, $1, $2, $3"
                " FROM waves RETURNING number",
                scheme["id"],
                opens_at,
                opens_at + timedelta(days=30),
            )
            recipients = await connection.execute(
                """
                UPDATE participants SET status = $5,
                       wave_id = (SELECT id FROM waves WHERE number = $1),
                       training_balance = $2, first_purchase_deadline = $3
                 WHERE id IN (SELECT id FROM participants WHERE status = $6
                              ORDER BY id LIMIT $4)
                """,
                number,
                scheme["training_balance"],
                opens_at + timedelta(days=scheme["purchase_deadline_days"]),
                DEMO_RECIPIENTS,
                ParticipantStatus.RECIPIENT.value,
                ParticipantStatus.REGISTERED.value,
            )
            schedules = await connection.execute(
                """
                INSERT INTO schedules (code, course_id, starts_at, ends_at, quota, remaining)
                SELECT 'SCH-W' || $1 || '-' || c.id, c.id, $2, $3, $4, $4
                  FROM courses c WHERE c.status = $5
                """,
                str(number),
                now - timedelta(hours=1),
                now + timedelta(days=30),
                LIVE_SCHEDULE_QUOTA,
                CourseStatus.APPROVED.value,
            )
    finally:
        await connection.close()
    return DemoWave(
        number=number,
        recipients=int(recipients.split()[-1]),
        schedules=int(schedules.split()[-1]),
        created=True,
    )


@dataclass(frozen=True)
class DemoSale:
    """One ready example for the walkthrough: a recipient and a live schedule on DP-001."""

    card_number: str
    course_code: str
    schedule_code: str
    price: int
    provider_code: str


async def example_sale(url: str, wave_number: int, platform_code: str = "DP-001") -> DemoSale:
    """A course of LP-0001 (the demo provider client) where the platform sells one."""
    connection = await asyncpg.connect(url)
    try:
        card = await connection.fetchval(
            "SELECT p.card_number FROM participants p JOIN waves w ON w.id = p.wave_id"
            " WHERE w.number = $1 AND NOT EXISTS (SELECT 1 FROM purchases u"
            "  WHERE u.participant_id = p.id) ORDER BY p.id LIMIT 1",
            wave_number,
        )
        row = await connection.fetchrow(
            """
            SELECT c.code AS course, s.code AS schedule, c.price, v.code AS provider
              FROM courses c
              JOIN partners v ON v.id = c.provider_id
              JOIN schedules s ON s.course_id = c.id AND s.code LIKE 'SCH-W' || $1 || '-%'
              JOIN course_listings l ON l.course_id = c.id
              JOIN partners dp ON dp.id = l.platform_id AND dp.code = $2
             WHERE c.status = $3 AND v.status = $4 AND c.min_age IS NULL
               AND c.max_age IS NULL AND c.min_education IS NULL AND s.remaining > 0
             ORDER BY (v.code = 'LP-0001') DESC, c.id LIMIT 1
            """,
            str(wave_number),
            platform_code,
            CourseStatus.APPROVED.value,
            PartnerStatus.ACTIVE.value,
        )
    finally:
        await connection.close()
    return DemoSale(card, row["course"], row["schedule"], row["price"], row["provider"])
