"""Delivery through outages: order per subject, back-off, giving up, disabling, redelivery;
events only for changes that commit; every event type reaches only its audience."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import Actor
from core.db.database import Database
from core.enums import PartnerType
from core.models import Partner
from core.principal import Principal
from gateway.webhooks import http_client
from resolvers.catalog_writes import approve_course
from resolvers.deliveries import RetryPolicy
from tests.support.catalog import SUBMIT as SUBMIT_COURSE
from tests.support.catalog import approved_course, create_course
from tests.support.certificates import attend
from tests.support.credentials import SharedCredentials
from tests.support.enrollment import buy, open_sale
from tests.support.gateway import Tokens, make_client
from tests.support.webhooks import DELIVERIES, feed, later, receiving, subscribe, worker

PLATFORM = "DP-001"
PROVIDER = "LP-0001"


@pytest.fixture
async def demo(database: Database, shared_credentials: SharedCredentials) -> AsyncIterator[Tokens]:
    async with make_client(database, demo=True) as http:
        yield Tokens(http, database, shared_credentials)


async def _deliveries(tokens: Tokens, partner: str, endpoint: str) -> list[dict[str, Any]]:
    body = await tokens.graphql(partner, DELIVERIES, {"endpointId": endpoint})
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["webhookDeliveries"]["edges"]]


async def test_a_receiver_down_for_an_hour_then_gets_everything_in_order(
    demo: Tokens, database: Database
) -> None:
    with receiving() as hook:
        endpoint, secret = await subscribe(demo, PLATFORM, hook.url)
        sale = await open_sale(database, recipients=2)
        redeem_codes = [
            (await buy(demo, database, sale, card))["redeemCode"] for card in sale.cards
        ]
        for code in redeem_codes:
            for sequence in (1, 2, 3):
                await attend(demo, sale.provider_code, code, sequence)
        hook.status = 500
        clock = later(datetime.now(UTC))
        async with http_client() as client:
            delivering = worker(database, client, clock=clock)
            for _ in range(12):  # an hour of rounds, every 5 minutes
                await delivering.run_once()
                clock.now += timedelta(minutes=5)
            assert hook.received == []
            failing = await _deliveries(demo, PLATFORM, endpoint)
            # Only the head of each purchase's queue was tried: the rest wait behind it.
            tried = [d for d in failing if d["attemptCount"] > 0]
            assert {d["eventType"] for d in tried} == {"PURCHASE_SUCCEEDED"}
            assert all(d["attempts"][0]["statusCode"] == 500 for d in tried)
            assert all(d["attemptCount"] > 3 for d in tried)
            hook.status = 200
            for _ in range(200):
                clock.now += timedelta(minutes=30)
                await delivering.run_until_idle()
                if len(hook.received) == 8:
                    break
    assert hook.all_verify(secret)
    by_subject: dict[str, list[str]] = {}
    for item in hook.received:
        by_subject.setdefault(item.envelope["subject"], []).append(item.envelope["type"])
    assert (
        list(by_subject.values())
        == [
            [
                "purchase.succeeded",
                "purchase.redeemed",
                "attendance.recorded",
                "attendance.recorded",
            ]
        ]
        * 2
    )
    assert len({item.message_id for item in hook.received}) == 8
    assert {d["status"] for d in await _deliveries(demo, PLATFORM, endpoint)} == {"SUCCEEDED"}


async def test_retries_give_up_then_an_endpoint_is_disabled_and_redelivery_catches_up(
    demo: Tokens, database: Database
) -> None:
    policy = RetryPolicy(retry_period=timedelta(hours=1), disable_after=timedelta(hours=2))
    with receiving() as hook:
        endpoint, _ = await subscribe(demo, PLATFORM, hook.url)
        _, pmo_secret = await subscribe(demo, "PMO", hook.url, ["WEBHOOK_ENDPOINT_DISABLED"])
        # (An hour back: the test's one transaction began before the test did, and rows
        # take its start as their creation time.)
        since = datetime.now(UTC) - timedelta(hours=1)
        sale = await open_sale(database)
        purchase = await buy(demo, database, sale)
        hook.status = 503
        clock = later(datetime.now(UTC))
        async with http_client() as client:
            delivering = worker(database, client, policy=policy, clock=clock)

            async def rounds(minutes: int) -> None:
                for _ in range(minutes // 5):
                    await delivering.run_once()
                    clock.now += timedelta(minutes=5)

            await rounds(90)
            (delivery,) = await _deliveries(demo, PLATFORM, endpoint)
            assert delivery["status"] == "FAILED"  # retried for the whole retry period
            # A later event keeps failing too, until the endpoint has failed for 2 hours.
            await attend(demo, sale.provider_code, purchase["redeemCode"], 1)
            await rounds(60)
            listed = await demo.graphql(PLATFORM, "{ webhookEndpoints { id status } }")
            assert {"id": endpoint, "status": "DISABLED"} in listed["data"]["webhookEndpoints"]
            # Programme management heard of it (its own endpoint, its feed) and so did the owner.
            pmo_feed = await feed(demo, "PMO", types=["WEBHOOK_ENDPOINT_DISABLED"])
            assert endpoint in [event["data"]["endpointId"] for event in pmo_feed]
            owner_feed = await feed(demo, PLATFORM, types=["WEBHOOK_ENDPOINT_DISABLED"])
            assert [event["data"]["endpointId"] for event in owner_feed] == [endpoint]

            hook.status = 200
            await rounds(30)
            assert hook.types() == ["webhook_endpoint.disabled"]  # (the PMO endpoint's)
            enabled = await demo.graphql(
                PLATFORM,
                "mutation($id: String!) { setWebhookEndpointEnabled(id: $id, enabled: true)"
                " { status } }",
                {"id": endpoint},
            )
            assert enabled["data"]["setWebhookEndpointEnabled"]["status"] == "ENABLED"
            again = await demo.graphql(
                PLATFORM,
                "mutation($id: String!, $since: DateTime!) { redeliverFailedEvents("
                "endpointId: $id, since: $since) { count } }",
                {"id": endpoint, "since": since.isoformat()},
            )
            assert again["data"]["redeliverFailedEvents"]["count"] == 1
            await rounds(10)
        assert hook.types()[1:] == ["purchase.succeeded", "purchase.redeemed"]
    assert {d["status"] for d in await _deliveries(demo, PLATFORM, endpoint)} == {"SUCCEEDED"}
    assert pmo_secret


async def test_a_change_that_rolls_back_leaves_no_event(demo: Tokens, database: Database) -> None:
    code = await create_course(demo, PROVIDER)
    body = await demo.graphql(PROVIDER, SUBMIT_COURSE, {"code": code})
    assert "errors" not in body, body
    async with database.sessionmaker() as session:
        transaction = await session.begin()
        pmo = await session.scalar(select(Partner).where(Partner.code == "PMO"))
        assert pmo is not None
        actor = Actor(
            Principal(
                client_id="test",
                partner_id=pmo.id,
                partner_type=PartnerType.PROGRAM_MANAGEMENT,
                scopes=frozenset({"program:admin"}),
                token_id="test",
            )
        )
        await approve_course(session, actor, code)
        await transaction.rollback()
    subjects = [event["subject"] for event in await feed(demo, PROVIDER)]
    assert f"course:{code}" not in subjects
    # The same change committed has its one event.
    body = await demo.graphql(
        "PMO", "mutation($c: String!) { approveCourse(code: $c) { course { code } } }", {"c": code}
    )
    assert "errors" not in body, body
    events = [e for e in await feed(demo, PROVIDER) if e["subject"] == f"course:{code}"]
    assert [e["type"] for e in events] == ["COURSE_APPROVED"]


async def test_every_event_type_reaches_only_its_audience(demo: Tokens, database: Database) -> None:
    """Each family of events against a partner of the same type that is not its subject's,
    and against every other partner type."""
    sale = await open_sale(database)
    trainer = sale.provider_code
    assert trainer not in (PROVIDER, "LP-0002")
    watchers = ["DP-001", "DP-002", trainer, PROVIDER, "LP-0002", "PP-001", "PP-002", "PMO"]
    before = {partner: {e["id"] for e in await feed(demo, partner)} for partner in watchers}
    purchase = await buy(demo, database, sale)
    await attend(demo, trainer, purchase["redeemCode"], 1)
    course = await approved_course(demo, PROVIDER)
    new = {
        partner: [e for e in await feed(demo, partner) if e["id"] not in before[partner]]
        for partner in watchers
    }

    def types(partner: str) -> set[str]:
        return {event["type"] for event in new[partner]}

    sold = {"PURCHASE_SUCCEEDED", "PURCHASE_REDEEMED"}
    assert types(PLATFORM) == sold
    assert types(trainer) == sold
    assert types(PROVIDER) == {"COURSE_APPROVED"}
    assert types("PMO") == sold | {"COURSE_APPROVED"}
    for outsider in ("DP-002", "LP-0002", "PP-001", "PP-002"):
        assert new[outsider] == [], outsider
    (approved,) = new[PROVIDER]
    assert approved["data"]["courseCode"] == course
