"""Tenancy clauses (resolvers/tenancy.py) against the seeded programme: each partner sees
its own rows and nobody else's, programme management sees all, a type with no claim none."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db.database import Database
from core.enums import PartnerType
from core.models import Course, DisbursementBatch, Participant, Partner, Purchase
from core.principal import Principal
from resolvers.tenancy import (
    batches_visible_to,
    participants_visible_to,
    purchases_visible_to,
)


async def principal_of(database: Database, code: str) -> Principal:
    async with database.sessionmaker() as session:
        partner = await session.scalar(select(Partner).where(Partner.code == code))
    assert partner is not None, code
    return Principal(
        client_id=f"{code.lower()}-test",
        partner_id=partner.id,
        partner_type=partner.type,
        scopes=frozenset(),
        token_id="t",
        regency_id=partner.regency_id,
        partner_code=code,
    )


async def first_code(database: Database, partner_type: PartnerType, offset: int = 0) -> str:
    async with database.sessionmaker() as session:
        code = await session.scalar(
            select(Partner.code)
            .where(Partner.type == partner_type)
            .order_by(Partner.code)
            .offset(offset)
            .limit(1)
        )
    assert code is not None
    return code


async def test_platforms_see_their_own_purchases_only(database: Database) -> None:
    async with database.sessionmaker() as session:
        for code in ("DP-001", "DP-002"):
            me = await principal_of(database, code)
            rows = (await session.scalars(select(Purchase).where(purchases_visible_to(me)))).all()
            assert rows, f"the seed has no purchase of {code}"
            assert {row.platform_id for row in rows} == {me.partner_id}
            total = await session.scalar(
                select(func.count())
                .select_from(Purchase)
                .where(Purchase.platform_id == me.partner_id)
            )
            assert len(rows) == total


async def test_providers_see_purchases_of_their_own_courses_only(database: Database) -> None:
    async with database.sessionmaker() as session:
        visible_course_owners = set()
        for offset in range(2):
            me = await principal_of(
                database, await first_code(database, PartnerType.TRAINING_PROVIDER, offset)
            )
            owners = (
                await session.scalars(
                    select(Course.provider_id)
                    .join(Purchase, Purchase.course_id == Course.id)
                    .where(purchases_visible_to(me))
                    .distinct()
                )
            ).all()
            assert set(owners) <= {me.partner_id}
            visible_course_owners |= set(owners)
        assert visible_course_owners  # at least one of the two sold something


async def test_payment_partners_see_their_own_batches_only(database: Database) -> None:
    async with database.sessionmaker() as session:
        for code in ("PP-001", "PP-002"):
            me = await principal_of(database, code)
            owners = (
                await session.scalars(
                    select(DisbursementBatch.payment_partner_id).where(batches_visible_to(me))
                )
            ).all()
            assert set(owners) <= {me.partner_id}


async def test_regional_offices_see_their_own_regency_only(database: Database) -> None:
    async with database.sessionmaker() as session:
        me = await principal_of(database, await first_code(database, PartnerType.REGIONAL_OFFICE))
        regencies = (
            await session.scalars(
                select(Participant.regency_id).where(participants_visible_to(me)).distinct()
            )
        ).all()
        assert set(regencies) <= {me.regency_id}


async def test_programme_management_sees_all_and_others_see_nothing_foreign(
    database: Database,
) -> None:
    async with database.sessionmaker() as session:
        pmo = await principal_of(database, "PMO")
        everything = await session.scalar(select(func.count()).select_from(Purchase))
        assert (
            await session.scalar(
                select(func.count()).select_from(Purchase).where(purchases_visible_to(pmo))
            )
            == everything
        )
        bank = await principal_of(database, "PP-001")
        platform = await principal_of(database, "DP-001")
        for clause in (purchases_visible_to(bank), purchases_visible_to(None)):
            assert (
                await session.scalar(select(func.count()).select_from(Purchase).where(clause)) == 0
            )
        assert (
            await session.scalar(
                select(func.count())
                .select_from(DisbursementBatch)
                .where(batches_visible_to(platform))
            )
            == 0
        )
        assert (
            await session.scalar(
                select(func.count())
                .select_from(Participant)
                .where(participants_visible_to(platform))
            )
            == 0
        )
