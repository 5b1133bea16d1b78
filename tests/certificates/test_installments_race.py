"""A participant's installments are created once, even when two of their completions
arrive at the same instant in two transactions (committed, concurrent requests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from core.db import migrate
from core.db.database import Database
from gateway.seed import seed_database
from tests.support.certificates import SUBMIT, attend, item
from tests.support.databases import DatabaseFactory
from tests.support.enrollment import buy, open_sale, scalar
from tests.support.gateway import Tokens, make_client


@pytest.fixture(scope="module")
async def live_database(databases: DatabaseFactory) -> AsyncIterator[Database]:
    url = await databases.create("installments_race")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_database(url, participants=600)
    database = Database.connect(url, pool_size=10)
    yield database
    await database.dispose()


async def test_two_concurrent_first_completions_create_the_installments_once(
    live_database: Database,
) -> None:
    async with make_client(live_database) as http:
        tokens = Tokens(http, live_database)
        for _round in range(3):
            first_sale = await open_sale(live_database)
            card = first_sale.cards[0]
            second_sale = await open_sale(live_database, recipients=0)
            codes = []
            for sale in (first_sale, second_sale):
                async with live_database.sessionmaker() as session:
                    await session.execute(
                        text(
                            "UPDATE participants SET training_balance = 9000000 "
                            "WHERE card_number = :card"
                        ),
                        {"card": card},
                    )
                    await session.commit()
                purchase = await buy(tokens, live_database, sale, card)
                await attend(tokens, sale.provider_code, purchase["redeemCode"], 1)
                await attend(tokens, sale.provider_code, purchase["redeemCode"], 999, 90)
                codes.append((sale.provider_code, purchase["redeemCode"]))
            for provider, _ in codes:
                await tokens.issue(provider)
            bodies = await asyncio.gather(
                *(
                    tokens.graphql(provider, SUBMIT, {"input": {"items": [item(code)]}})
                    for provider, code in codes
                )
            )
            for body in bodies:
                result = body["data"]["submitCompletions"]["results"][0]
                assert result["certificate"] is not None, body
            participant = await scalar(
                live_database, "SELECT id FROM participants WHERE card_number = :c", c=card
            )
            certificates = await scalar(
                live_database,
                "SELECT count(*) FROM certificates WHERE participant_id = :p",
                p=participant,
            )
            assert certificates == 2
            per_key = await scalar(
                live_database,
                "SELECT max(n) FROM (SELECT count(*) AS n FROM incentive_installments "
                "WHERE participant_id = :p GROUP BY kind, sequence) counts",
                p=participant,
            )
            total = await scalar(
                live_database,
                "SELECT count(*) FROM incentive_installments WHERE participant_id = :p",
                p=participant,
            )
            assert per_key == 1 and total in (1 + 2, 4 + 3)
            audits = await scalar(
                live_database,
                "SELECT count(*) FROM audit_log WHERE action = 'incentive.installments_created'"
                " AND entity_id = :p",
                p=str(participant),
            )
            assert audits == 1
