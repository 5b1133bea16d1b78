"""installment.due: written once per installment when its date passes, heard by the payment
partner that will pay it and by programme management, by nobody else (feed and webhook)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.db.database import Database
from gateway.webhooks import http_client
from gateway.worker import announce_due
from schema.common import to_global_id
from tests.support.certificates import item, submit, trained
from tests.support.credentials import SharedCredentials
from tests.support.disbursements import HISTORY, data, scalar
from tests.support.gateway import Tokens, make_client
from tests.support.webhooks import feed, receiving, subscribe, worker

PAYER = "PP-001"
OTHER_PAYER = "PP-002"
PLATFORM = "DP-001"
REGISTER = """
mutation Register($input: RegisterPaymentAccountInput!) {
  registerPaymentAccount(input: $input) { account { verified isPrimary } }
}
"""


@pytest.fixture
async def demo(database: Database, shared_credentials: SharedCredentials) -> AsyncIterator[Tokens]:
    async with make_client(database, demo=True) as http:
        yield Tokens(http, database, shared_credentials)


async def _due_events(tokens: Tokens, partner: str) -> list[dict[str, Any]]:
    return [e for e in await feed(tokens, partner) if e["type"] == "INSTALLMENT_DUE"]


async def test_installments_are_announced_once_to_their_payer_and_programme_management(
    demo: Tokens, database: Database
) -> None:
    sale, (redeem_code,) = await trained(demo, database)
    (card,) = sale.cards
    participant = await scalar(
        database, "SELECT id FROM participants WHERE card_number = :card", card=card
    )
    name = await scalar(
        database, "SELECT full_name FROM participants WHERE id = :id", id=participant
    )
    account = data(
        await demo.graphql(
            PAYER,
            REGISTER,
            {
                "input": {
                    "cardNumber": card,
                    "kind": "BANK",
                    "accountNumber": "1234567890",
                    "holderName": name,
                }
            },
        )
    )["registerPaymentAccount"]["account"]
    assert account == {"verified": True, "isPrimary": True}
    watchers = [PAYER, OTHER_PAYER, PLATFORM, sale.provider_code, "PMO"]
    before = {partner: len(await _due_events(demo, partner)) for partner in watchers}

    with (
        receiving() as payer_hook,
        receiving() as other_payer_hook,
        receiving() as platform_hook,
        receiving() as pmo_hook,
    ):
        await subscribe(demo, PAYER, payer_hook.url)
        await subscribe(demo, OTHER_PAYER, other_payer_hook.url)
        await subscribe(demo, PLATFORM, platform_hook.url)
        await subscribe(demo, "PMO", pmo_hook.url, ["INSTALLMENT_DUE"])

        # The first certificate makes the installments; the first is due at once, and is
        # announced in the certificate's own transaction.
        (result,) = await submit(demo, sale.provider_code, [item(redeem_code)])
        assert result["certificate"] is not None, result
        first = [e for e in await _due_events(demo, PAYER)][before[PAYER] :]
        assert [(e["data"]["kind"], e["data"]["sequence"]) for e in first] == [("TRAINING", 1)]

        # Nothing more is due today: the worker's announcer finds nothing, however often.
        now = datetime.now(UTC)
        assert await announce_due(database, now=now) == 0
        training = await scalar(
            database,
            "SELECT count(*) FROM incentive_installments"
            " WHERE participant_id = :id AND due_at IS NOT NULL",
            id=participant,
        )
        # A month later the second falls due; a second run, or a later one, adds nothing.
        assert await announce_due(database, now=now + timedelta(days=31)) == min(training - 1, 1)
        assert await announce_due(database, now=now + timedelta(days=31)) == 0
        assert await announce_due(database, now=now + timedelta(days=400)) == training - 2
        assert await announce_due(database, now=now + timedelta(days=400)) == 0

        async with http_client() as client:
            await worker(database, client).run_until_idle()

    announced = (await _due_events(demo, PAYER))[before[PAYER] :]
    assert [e["data"]["sequence"] for e in announced] == list(range(1, training + 1))
    assert len({e["subject"] for e in announced}) == training
    # Only the payer and programme management heard of them.
    for outsider in (OTHER_PAYER, PLATFORM, sale.provider_code):
        assert len(await _due_events(demo, outsider)) == before[outsider], outsider
    assert len(await _due_events(demo, "PMO")) == before["PMO"] + training
    assert payer_hook.types().count("installment.due") == training
    assert pmo_hook.types() == ["installment.due"] * training
    assert "installment.due" not in other_payer_hook.types()
    assert "installment.due" not in platform_hook.types()

    # The payload's id is the installment's GraphQL id, and names nothing else of the person.
    payload = announced[0]["data"]
    assert set(payload) == {"installmentId", "kind", "sequence", "amount", "dueAt"}
    installment_id = await scalar(
        database,
        "SELECT id FROM incentive_installments"
        " WHERE participant_id = :id AND kind = 'TRAINING' AND sequence = 1",
        id=participant,
    )
    assert payload["installmentId"] == to_global_id("Installment", installment_id)
    history = data(await demo.graphql("PMO", HISTORY, {"id": payload["installmentId"]}))
    assert history["installmentHistory"]["installmentId"] == payload["installmentId"]


async def test_a_second_event_for_one_installment_is_refused_by_the_database(
    demo: Tokens, database: Database
) -> None:
    subject = "installment:987654321"
    insert = text(
        "INSERT INTO events (type, version, subject, payload, audience)"
        " VALUES ('installment.due', 1, :subject, '{}', '{}')"
    )
    async with database.sessionmaker() as session:
        await session.execute(insert, {"subject": subject})
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await session.execute(insert, {"subject": subject})
        # Another type on the same subject is no duplicate.
        await session.execute(
            text(
                "INSERT INTO events (type, version, subject, payload, audience)"
                " VALUES ('webhook.test', 1, :subject, '{}', '{}')"
            ),
            {"subject": subject},
        )
