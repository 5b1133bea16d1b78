"""What must hold across gateway replicas, on the loopback cluster (deploy/local/cluster.py).

Each test sends one client's requests to different gateway processes (two started beside the
load balancer's three, reached directly, or through HAProxy) and checks the one answer the
whole deployment owes: one rate-limit bucket, the first answer for an idempotency key, each
webhook event delivered once and in order by several workers, the client's own write
visible to its next read wherever that read lands, even while the read replica lags, and a
catalog change or a revocation made through one process reaching every other one's caches.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.local.cluster import Cluster
from tests.support.scaleout import (
    CLUSTER_TEST_MARKS,
    RETRYABLE_STATUS,
    create_clients,
    token_for,
)
from tests.support.waiting import eventually
from tests.support.webhooks import CREATE_ENDPOINT, Receiver, receiving

pytestmark = CLUSTER_TEST_MARKS

# The two directly addressed gateways: a small bucket, so a test can spend it in a few
# requests; demo mode, so a webhook endpoint may point at this machine's receiver.
BUCKET_POINTS = 100
BUCKET_REFILL_PER_SECOND = 1
DIRECT_SETTINGS = {
    "PRAKERJA_RATE_LIMIT_POINTS": str(BUCKET_POINTS),
    "PRAKERJA_RATE_LIMIT_POINTS_PER_SECOND": str(BUCKET_REFILL_PER_SECOND),
    "PRAKERJA_DEMO": "true",
}
ENDPOINTS = "{ webhookEndpoints { id url } }"
SEND_TEST_EVENT = """
mutation Ping($endpoint: String!) { sendTestEvent(endpointId: $endpoint) { eventId } }
"""
WORKERS = 3
RETRIES = 100
ENDPOINT_COUNT = 4
EVENTS_PER_ENDPOINT = 8


@pytest.fixture(scope="module")
def direct(cluster: Cluster) -> Iterator[tuple[str, str]]:
    """The base URLs of two more gateways, A and B, outside the load balancer."""
    indexes = cluster.add_gateways(2, DIRECT_SETTINGS)
    try:
        yield cluster.gateway_url(indexes[0]), cluster.gateway_url(indexes[1])
    finally:
        cluster.stop_processes([f"gateway{index}" for index in indexes])


class Caller:
    """One client, one token, requests sent to whichever gateway a test names."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token

    async def post(
        self,
        base_url: str,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        key: str | None = None,
    ) -> httpx.Response:
        """Sent again, with the same key, while the load balancer has no gateway ready for
        it (a loaded machine's health checks time out): what a careful platform does."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        body = {"query": query, "variables": variables}
        for _ in range(RETRIES):
            try:
                answer = await self.http.post(base_url + "/graphql", json=body, headers=headers)
            except httpx.TransportError:
                await asyncio.sleep(0.2)
                continue
            if answer.status_code not in RETRYABLE_STATUS:
                return answer
            await asyncio.sleep(0.2)
        raise AssertionError(f"no answer from {base_url} after {RETRIES} attempts")

    async def data(
        self, base_url: str, query: str, *, key: str | None = None, **variables: Any
    ) -> dict[str, Any]:
        answer = await self.post(base_url, query, variables or None, key=key)
        body: dict[str, Any] = answer.json()
        assert answer.status_code == 200 and "errors" not in body, answer.text
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def new_caller(cluster: Cluster, http: httpx.AsyncClient, token_url: str) -> Caller:
    """A fresh OAuth client (its own bucket), of the first digital platform (DP-001)."""
    (client,) = await create_clients(cluster.primary_url, 1, cluster.master_key)
    async with httpx.AsyncClient(base_url=token_url, timeout=30) as token_http:
        token = await token_for(token_http, client)
    return Caller(http, token)


# Rate limits ----------------------------------------------------------------------------------
async def test_one_rate_limit_bucket_whichever_replica_answers(
    cluster: Cluster, direct: tuple[str, str], http: httpx.AsyncClient
) -> None:
    caller = await new_caller(cluster, http, direct[0])
    allowed = 0
    cost = 0
    started = time.monotonic()
    for number in range(4 * BUCKET_POINTS):
        answer = await caller.post(direct[number % 2], ENDPOINTS)
        if answer.status_code == 429:
            break
        body = answer.json()
        assert answer.status_code == 200 and "errors" not in body, answer.text
        cost = body["extensions"]["cost"]["requested"]
        allowed += 1
    else:
        raise AssertionError("never rate limited")
    elapsed = time.monotonic() - started
    refused = answer.json()["errors"][0]["extensions"]
    assert refused["code"] == "RATE_LIMITED", answer.text
    assert int(answer.headers["retry-after"]) >= 1
    assert cost > 0 and allowed >= 2, "both replicas answered before the refusal"
    # One bucket: what it held plus what it regained meanwhile, never that once per replica.
    one_bucket = (BUCKET_POINTS + BUCKET_REFILL_PER_SECOND * elapsed) // cost
    assert BUCKET_POINTS // cost <= allowed <= one_bucket, (allowed, cost, elapsed)
    assert allowed < 2 * (BUCKET_POINTS // cost)


# Idempotency keys -----------------------------------------------------------------------------
async def test_a_retry_on_another_replica_gets_the_first_answer(
    cluster: Cluster, direct: tuple[str, str], http: httpx.AsyncClient
) -> None:
    caller = await new_caller(cluster, http, direct[0])
    with receiving() as hook:
        variables = {"input": {"url": hook.url + "/retried", "eventTypes": []}}
        key = f"create-{secrets.token_hex(8)}"
        first = await caller.post(direct[0], CREATE_ENDPOINT, variables, key=key)
        again = await caller.post(direct[1], CREATE_ENDPOINT, variables, key=key)
        assert first.status_code == again.status_code == 200
        assert "errors" not in first.json(), first.text
        # The same endpoint and the same secret: the second replica ran nothing.
        assert again.json() == first.json()
        assert "idempotent-replayed" not in first.headers
        assert again.headers["idempotent-replayed"] == "true"

        # Both at once on two replicas: one runs, the other waits for its commit and replays.
        variables = {"input": {"url": hook.url + "/raced", "eventTypes": []}}
        key = f"create-{secrets.token_hex(8)}"
        raced = await asyncio.gather(
            *(caller.post(url, CREATE_ENDPOINT, variables, key=key) for url in direct)
        )
        assert raced[0].json() == raced[1].json()
        assert "errors" not in raced[0].json(), raced[0].text
        assert sorted(a.headers.get("idempotent-replayed", "") for a in raced) == ["", "true"]

        listed = (await caller.data(direct[1], ENDPOINTS))["webhookEndpoints"]
    urls = [endpoint["url"] for endpoint in listed]
    assert urls.count(hook.url + "/retried") == 1
    assert urls.count(hook.url + "/raced") == 1


# The webhook worker ---------------------------------------------------------------------------
async def test_several_workers_deliver_each_event_once_and_in_order(
    cluster: Cluster, direct: tuple[str, str], http: httpx.AsyncClient
) -> None:
    caller = await new_caller(cluster, http, cluster.lb_url)
    # Slow enough answers that the workers' rounds overlap while events keep arriving.
    with receiving(Receiver(delay=0.05)) as hook:
        endpoints: list[str] = []
        for number in range(ENDPOINT_COUNT):
            variables = {"input": {"url": f"{hook.url}/{number}", "eventTypes": []}}
            answer = await caller.post(direct[number % 2], CREATE_ENDPOINT, variables)
            assert "errors" not in answer.json(), answer.text
            endpoints.append(answer.json()["data"]["createWebhookEndpoint"]["endpoint"]["id"])
        for index in range(WORKERS):
            cluster.start_worker(index, {"PRAKERJA_DEMO": "true"})
        try:
            sent: dict[str, list[str]] = {endpoint: [] for endpoint in endpoints}
            for _ in range(EVENTS_PER_ENDPOINT):
                # Through the load balancer: the events are made on all three gateways.
                pings = await asyncio.gather(
                    *(
                        caller.data(
                            cluster.lb_url,
                            SEND_TEST_EVENT,
                            key=f"ping-{secrets.token_hex(8)}",
                            endpoint=endpoint,
                        )
                        for endpoint in endpoints
                    )
                )
                for endpoint, ping in zip(endpoints, pings, strict=True):
                    sent[endpoint].append(ping["sendTestEvent"]["eventId"])
            expected = ENDPOINT_COUNT * EVENTS_PER_ENDPOINT

            async def all_received() -> bool:
                return len(hook.received) >= expected

            await eventually(all_received, f"{expected} deliveries", within=90)
            # A duplicate would come late, after a worker's round ends: give it the time.
            await asyncio.sleep(2)
        finally:
            names = [f"worker{index}" for index in range(WORKERS)]
            await asyncio.to_thread(cluster.stop_processes, names)
    received = [item.message_id for item in hook.received]
    assert len(received) == len(set(received)) == expected, "an event sent twice or lost"
    assert hook.overlaps == [], "one event in flight twice at once"
    by_subject: dict[str, list[str]] = {}
    for item in hook.received:
        by_subject.setdefault(item.envelope["subject"], []).append(item.message_id)
    assert by_subject == {f"webhook_endpoint:{endpoint}": sent[endpoint] for endpoint in sent}


# Read-your-writes -----------------------------------------------------------------------------
async def _routed(http: httpx.AsyncClient, cluster: Cluster, base_url: str) -> dict[str, float]:
    """The gateway's own count of GraphQL sessions per database (its /metrics)."""
    answer = await http.get(
        base_url + "/metrics", headers={"Authorization": f"Bearer {cluster.metrics_token}"}
    )
    assert answer.status_code == 200, answer.text
    counts = {"primary": 0.0, "replica": 0.0}
    for line in answer.text.splitlines():
        if line.startswith("prakerja_db_routed_total{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels.split('"')[1]] = float(value)
    return counts


async def test_own_write_visible_on_another_replica_while_the_read_replica_lags(
    cluster: Cluster, direct: tuple[str, str], http: httpx.AsyncClient
) -> None:
    writer_a, reader_b = direct
    writer = await new_caller(cluster, http, writer_a)
    bystander = await new_caller(cluster, http, reader_b)  # same partner, no write pending
    # Both callers' reads go to the replica while it keeps up.
    before = await _routed(http, cluster, reader_b)
    await writer.data(reader_b, ENDPOINTS)
    await bystander.data(reader_b, ENDPOINTS)
    assert (await _routed(http, cluster, reader_b))["replica"] == before["replica"] + 2

    standby = await asyncpg.connect(cluster.replica_url)
    try:
        await standby.execute("SELECT pg_wal_replay_pause()")
        for _ in range(100):
            if await standby.fetchval("SELECT pg_get_wal_replay_pause_state()") == "paused":
                break
            await asyncio.sleep(0.05)
        with receiving() as hook:
            variables = {"input": {"url": hook.url + "/ryw", "eventTypes": []}}
            created = await writer.data(writer_a, CREATE_ENDPOINT, **variables)
            endpoint = created["createWebhookEndpoint"]["endpoint"]["id"]
            before = await _routed(http, cluster, reader_b)
            # The writer's next read, on the other gateway at once: it sees its write (the
            # primary served it: the replica has not replayed it).
            mine = (await writer.data(reader_b, ENDPOINTS))["webhookEndpoints"]
            assert endpoint in {item["id"] for item in mine}
            after_own = await _routed(http, cluster, reader_b)
            assert after_own["primary"] == before["primary"] + 1
            assert after_own["replica"] == before["replica"]
            # Another client with nothing pending still reads from the (lagging) replica:
            # the endpoint is not there yet, and the gateway counts a replica session.
            theirs = (await bystander.data(reader_b, ENDPOINTS))["webhookEndpoints"]
            assert endpoint not in {item["id"] for item in theirs}
            after_other = await _routed(http, cluster, reader_b)
            assert after_other["replica"] == after_own["replica"] + 1
            assert after_other["primary"] == after_own["primary"]
            replayed_nothing = await standby.fetchval(
                "SELECT count(*) FROM webhook_endpoints WHERE uid = $1", endpoint
            )
            assert replayed_nothing == 0
    finally:
        await standby.execute("SELECT pg_wal_replay_resume()")
        await standby.close()


# Invalidation across processes ----------------------------------------------------------------
# What one process learns from PostgreSQL's NOTIFY (a catalog change, a revocation) the others
# learn too, within the listener's delivery time; the bound below is generous for a loaded
# machine and is a deadline, not a measured figure.
INVALIDATION_DEADLINE_SECONDS = 15.0
COURSE_TITLE = "query Title($code: String!) { course(code: $code) { title } }"


async def test_a_catalog_change_empties_every_replicas_response_cache(
    cluster: Cluster, direct: tuple[str, str], http: httpx.AsyncClient
) -> None:
    caller = await new_caller(cluster, http, direct[0])
    primary = await asyncpg.connect(cluster.primary_url)
    try:
        code = await primary.fetchval(
            "SELECT c.code FROM courses c JOIN course_listings l ON l.course_id = c.id"
            " JOIN partners p ON p.id = l.platform_id"
            " WHERE c.status = 'APPROVED' AND p.code = 'DP-001' ORDER BY c.id LIMIT 1"
        )
        # Both replicas answer (and cache) the title as it is.
        before = {
            url: (await caller.data(url, COURSE_TITLE, code=code))["course"]["title"]
            for url in direct
        }
        assert len(set(before.values())) == 1
        title = f"Retitled {secrets.token_hex(4)}"
        # A change written straight to the primary: only its NOTIFY tells the replicas.
        await primary.execute("UPDATE courses SET title = $1 WHERE code = $2", title, code)
    finally:
        await primary.close()

    for url in direct:

        async def retitled(url: str = url) -> bool:
            data = await caller.data(url, COURSE_TITLE, code=code)
            return bool(data["course"]["title"] == title)

        await eventually(retitled, f"the new title on {url}", INVALIDATION_DEADLINE_SECONDS)


async def test_a_token_revoked_on_one_replica_is_refused_by_another(
    cluster: Cluster, direct: tuple[str, str], http: httpx.AsyncClient
) -> None:
    (client,) = await create_clients(cluster.primary_url, 1, cluster.master_key)
    async with httpx.AsyncClient(base_url=direct[0], timeout=30) as token_http:
        token = await token_for(token_http, client)
    caller = Caller(http, token)
    # Replica B knows the token (its principal cache holds it) before the revocation.
    assert (await caller.post(direct[1], ENDPOINTS)).status_code == 200

    revoked = await http.post(
        direct[0] + "/oauth/revoke",
        data={"token": token},
        auth=(client.client_id, client.client_secret),
    )
    assert revoked.status_code == 200, revoked.text

    async def refused() -> bool:
        answer = await http.post(
            direct[1] + "/graphql",
            json={"query": ENDPOINTS},
            headers={"Authorization": f"Bearer {token}"},
        )
        return answer.status_code == 401

    await eventually(refused, "the revocation on replica B", INVALIDATION_DEADLINE_SECONDS)
    # And through the load balancer, whichever replica answers.
    for _ in range(6):
        answer = await http.post(
            cluster.lb_url + "/graphql",
            json={"query": ENDPOINTS},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code in {401, *RETRYABLE_STATUS}, answer.text
