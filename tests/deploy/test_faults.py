"""Faults through the load balancer of the loopback cluster (deploy/local/cluster.py).

Three gateways behind HAProxy, PgBouncer in transaction mode before the primary, reads on a
streaming replica. Each test loads the cluster with a few purchases (every one read back at
once by its buyer: read-your-writes) while something breaks, then checks the database: no
recipient paid twice, every balance equals the opening one less what was paid. Short by
design (tens of purchases): CI runs it on every submission.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import asyncpg
import httpx
import pytest

from deploy.local.cluster import Cluster
from tests.support.scaleout import (
    CATALOG,
    CLUSTER_TEST_MARKS,
    Shop,
    Tally,
    buy_many,
    check_books,
    open_shop,
    token_for,
)

pytestmark = CLUSTER_TEST_MARKS

BUYERS = 4
REPLICA_COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"


@pytest.fixture(scope="module")
async def shop(cluster: Cluster) -> Shop:
    return await open_shop(cluster.primary_url, BUYERS, cluster.master_key)


async def _replica_commits(cluster: Cluster) -> int:
    connection = await asyncpg.connect(cluster.replica_url)
    try:
        return int(await connection.fetchval(REPLICA_COMMITS))
    finally:
        await connection.close()


async def test_purchases_and_reads_spread_over_replica(cluster: Cluster, shop: Shop) -> None:
    before = await _replica_commits(cluster)
    tally = Tally()
    cards = await buy_many(cluster.lb_url, cluster.primary_url, shop, 12, tally)
    assert tally.bought == 12, tally
    assert not tally.retried, tally
    assert await check_books(cluster.primary_url, cards) == 12
    # The read-backs that found the replica caught up were served there.
    assert await _replica_commits(cluster) > before


async def test_kill_9_one_gateway_during_purchases(cluster: Cluster, shop: Shop) -> None:
    tally = Tally()
    load = asyncio.create_task(buy_many(cluster.lb_url, cluster.primary_url, shop, 24, tally))
    await asyncio.sleep(0.6)
    cluster.signal_gateway(0, signal.SIGKILL)
    cards = await load
    await asyncio.to_thread(cluster.wait_gateway_exit, 0)
    # Every purchase was answered in the end (the buyers resend with their keys), none twice.
    assert tally.bought + sum(tally.refused.values()) == 24, tally
    assert not tally.refused, tally
    assert await check_books(cluster.primary_url, cards) == tally.bought
    await asyncio.to_thread(cluster.start_gateway, 0, wait=True)


async def test_rolling_restart_with_sigterm_fails_no_request(cluster: Cluster, shop: Shop) -> None:
    tally = Tally()
    await asyncio.sleep(1.5)  # the restarted gateway of the previous test marked up again
    stop = asyncio.Event()

    async def purchases() -> list[str]:
        cards: list[str] = []
        while not stop.is_set():
            cards += await buy_many(cluster.lb_url, cluster.primary_url, shop, 4, tally)
        return cards

    load = asyncio.create_task(purchases())
    for index in range(cluster.gateways):
        cluster.signal_gateway(index, signal.SIGTERM)
        # A clean exit after SIGTERM is 128 + 15 (gateway/cli.py turns the signal into SystemExit).
        assert await asyncio.to_thread(cluster.wait_gateway_exit, index) == 128 + signal.SIGTERM
        await asyncio.to_thread(cluster.start_gateway, index, wait=True)
        await asyncio.sleep(1.5)  # HAProxy's rise: two good checks before the next goes
    stop.set()
    cards = await load
    assert not tally.retried, f"requests failed during the rolling restart: {tally}"
    assert not tally.refused, tally
    assert await check_books(cluster.primary_url, cards) == tally.bought == len(cards)


async def test_reads_fall_back_when_the_replica_stops(cluster: Cluster, shop: Shop) -> None:
    await asyncio.to_thread(cluster.stop_postgres, "replica", "immediate")
    try:
        tally = Tally()
        cards = await buy_many(cluster.lb_url, cluster.primary_url, shop, 8, tally)
        async with httpx.AsyncClient(base_url=cluster.lb_url, timeout=10) as http:
            token = await token_for(http, shop.clients[0])
            for _ in range(10):
                answer = await http.post(
                    "/graphql",
                    json={"query": CATALOG},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        assert not tally.retried and not tally.refused, tally
        assert await check_books(cluster.primary_url, cards) == 8
    finally:
        await asyncio.to_thread(cluster.start_replica)
    # Back: reads reach the replica again, with no gateway restarted.
    before = await _replica_commits(cluster)
    deadline = time.monotonic() + 15
    tally = Tally()
    while await _replica_commits(cluster) <= before + 1 and time.monotonic() < deadline:
        await buy_many(cluster.lb_url, cluster.primary_url, shop, 2, tally)
        await asyncio.sleep(0.3)
    assert await _replica_commits(cluster) > before + 1


async def test_primary_restart_is_503_json_then_recovers(cluster: Cluster, shop: Shop) -> None:
    pids = {index: cluster.pids[f"gateway{index}"] for index in range(cluster.gateways)}
    async with httpx.AsyncClient(base_url=cluster.lb_url, timeout=30) as http:
        token = await token_for(http, shop.clients[1])
        headers = {"Authorization": f"Bearer {token}"}
        await asyncio.to_thread(cluster.stop_postgres, "primary", "fast")
        statuses: list[int] = []
        try:
            for _ in range(4):
                answer = await http.post("/graphql", json={"query": CATALOG}, headers=headers)
                statuses.append(answer.status_code)
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"].startswith("application/json")
                assert answer.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        finally:
            await asyncio.to_thread(cluster.start_primary)
        deadline = time.monotonic() + 30
        while True:
            answer = await http.post("/graphql", json={"query": CATALOG}, headers=headers)
            if answer.status_code == 200:
                break
            assert time.monotonic() < deadline, answer.text
            await asyncio.sleep(0.5)
    assert "errors" not in answer.json(), answer.text
    tally = Tally()
    cards = await buy_many(cluster.lb_url, cluster.primary_url, shop, 4, tally)
    assert await check_books(cluster.primary_url, cards) == tally.bought == 4
    assert {i: cluster.pids[f"gateway{i}"] for i in range(cluster.gateways)} == pids
    assert all(_alive(pid) for pid in pids.values())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
