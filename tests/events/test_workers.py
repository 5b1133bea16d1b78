"""Workers on one committed database: two at once never hold one delivery together, and a
worker killed mid-delivery loses nothing (what it was sending is sent again)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from core.db.actor import APP_ROLE
from core.db.database import Database
from core.db.urls import as_role
from core.enums import DeliveryStatus, EventType, WebhookEndpointStatus
from core.models import Partner, WebhookDelivery, WebhookEndpoint
from gateway.webhooks import http_client
from resolvers.events import record_event
from resolvers.webhooks import seal_secret
from tests.support.databases import DatabaseFactory
from tests.support.gateway import TEST_MASTER_KEY
from tests.support.webhooks import Receiver, receiving, worker

pytestmark = pytest.mark.xdist_group("event_workers")

SUBJECTS = 30
PER_SUBJECT = 3
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(scope="module")
async def live_database(databases: DatabaseFactory) -> AsyncIterator[Database]:
    url = await databases.seeded("event_workers", participants=200)
    database = Database.connect(url, pool_size=10)
    yield database
    await database.dispose()


async def _subscribe_and_emit(database: Database, receiver: Receiver, label: str) -> int:
    """An endpoint of DP-001 at the receiver, and SUBJECTS x PER_SUBJECT committed events."""
    async with database.sessionmaker() as session, session.begin():
        platform = await session.scalar(select(Partner.id).where(Partner.code == "DP-001"))
        assert platform is not None
        # Earlier tests' endpoints stop receiving: each test counts its own deliveries.
        await session.execute(
            WebhookEndpoint.__table__.update().values(status=WebhookEndpointStatus.DISABLED)
        )
        uid = f"ep_{label}"
        endpoint = WebhookEndpoint(
            uid=uid,
            partner_id=platform,
            url=receiver.url,
            event_types=[],
            status=WebhookEndpointStatus.ENABLED,
            secret_encrypted=seal_secret(TEST_MASTER_KEY.encode(), uid, SECRET),
        )
        session.add(endpoint)
        await session.flush()
        for round_ in range(PER_SUBJECT):
            for subject in range(SUBJECTS):
                await record_event(
                    session,
                    EventType.PURCHASE_SUCCEEDED,
                    f"test:{label}:{subject}",
                    {"round": round_},
                    [platform],
                )
        return endpoint.id


async def _statuses(database: Database, endpoint_id: int) -> dict[DeliveryStatus, int]:
    async with database.sessionmaker() as session:
        rows = await session.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .group_by(WebhookDelivery.status)
        )
        return {status: count for status, count in rows.all()}


def _in_order(receiver: Receiver) -> bool:
    rounds: dict[str, list[int]] = {}
    for item in receiver.accepted():
        rounds.setdefault(item.envelope["subject"], []).append(item.envelope["data"]["round"])
    return all(seen == sorted(seen) for seen in rounds.values()) and len(rounds) == SUBJECTS


async def test_two_workers_never_send_one_delivery_at_the_same_time(
    live_database: Database,
) -> None:
    with receiving(Receiver(delay=0.02)) as receiver:
        endpoint = await _subscribe_and_emit(live_database, receiver, "pair")
        async with http_client() as client:
            first = worker(live_database, client)
            second = worker(live_database, client)
            first.batch_size = second.batch_size = 7
            # Each runs two rounds at once, as `prakerja-gateway worker` does: four in all.
            first.rounds_at_once = second.rounds_at_once = 2
            await asyncio.gather(first.run_until_idle(), second.run_until_idle())
    assert receiver.overlaps == []
    assert len(receiver.received) == SUBJECTS * PER_SUBJECT
    assert len(receiver.accepted()) == SUBJECTS * PER_SUBJECT
    assert _in_order(receiver)
    assert receiver.all_verify(SECRET)
    assert await _statuses(live_database, endpoint) == {
        DeliveryStatus.SUCCEEDED: SUBJECTS * PER_SUBJECT
    }


async def test_a_worker_killed_mid_delivery_loses_nothing(live_database: Database) -> None:
    with receiving(Receiver(delay=1.5)) as receiver:
        endpoint = await _subscribe_and_emit(live_database, receiver, "killed")
        environment = {
            **os.environ,
            "PRAKERJA_DATABASE_URL": as_role(live_database.url, APP_ROLE),
            "PRAKERJA_MASTER_KEY": TEST_MASTER_KEY,
            "PRAKERJA_DEMO": "true",
            "PRAKERJA_LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.cli",
            "worker",
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not any(receiver.in_flight.values()):
                assert process.returncode is None
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        finally:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        # What it was sending counts as nothing delivered: still pending.
        assert await _statuses(live_database, endpoint) == {
            DeliveryStatus.PENDING: SUBJECTS * PER_SUBJECT
        }
        while any(receiver.in_flight.values()):  # noqa: ASYNC110 - the dead worker's requests end
            await asyncio.sleep(0.05)
        receiver.delay = 0
        async with http_client() as client:
            await worker(live_database, client).run_until_idle()
    assert receiver.overlaps == []
    # At least once: what the killed round had sent comes again (a receiver deduplicates
    # by webhook-id); what it had not finished sending comes once.
    assert len(receiver.accepted()) == SUBJECTS * PER_SUBJECT
    assert len(receiver.received) >= SUBJECTS * PER_SUBJECT
    assert _in_order(receiver)
    assert await _statuses(live_database, endpoint) == {
        DeliveryStatus.SUCCEEDED: SUBJECTS * PER_SUBJECT
    }
