"""A webhook receiver on 127.0.0.1 for tests, the worker over a test database, documents."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from core.db.database import Database
from core.webhook_signing import verify
from gateway.webhooks import DeliveryWorker
from resolvers.deliveries import RetryPolicy
from tests.support.gateway import TEST_MASTER_KEY, Tokens

CREATE_ENDPOINT = """
mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id url eventTypes status } }
}
"""
EVENTS = """
query Events($after: String, $types: [EventType!], $first: Int) {
  events(after: $after, types: $types, first: $first) {
    edges { cursor node { id type version timestamp subject data } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
DELIVERIES = """
query Deliveries($endpointId: String!, $status: DeliveryStatus) {
  webhookDeliveries(endpointId: $endpointId, status: $status, first: 100) {
    edges { node { eventId eventType status attemptCount
                   attempts { statusCode latencyMs responseExcerpt error } } }
  }
}
"""


@dataclass
class Received:
    message_id: str
    timestamp: int
    signature: str
    body: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


@dataclass
class Receiver:
    """Records every request; answers ``status`` (200 unless a test changes it)."""

    url: str = ""
    status: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def types(self) -> list[str]:
        return [item.envelope["type"] for item in self.received]

    def accepted(self) -> list[Received]:
        """What a deduplicating receiver keeps: the first of each webhook-id."""
        seen: set[str] = set()
        kept = []
        for item in self.received:
            if item.message_id not in seen:
                seen.add(item.message_id)
                kept.append(item)
        return kept

    def all_verify(self, secret: str) -> bool:
        return all(
            verify(secret, item.message_id, item.timestamp, item.body, item.signature)
            for item in self.received
        )


@contextmanager
def receiving(receiver: Receiver | None = None) -> Iterator[Receiver]:
    receiver = receiver or Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            message_id = self.headers["webhook-id"]
            with receiver.lock:
                if receiver.in_flight.get(message_id):
                    receiver.overlaps.append(message_id)
                receiver.in_flight[message_id] = receiver.in_flight.get(message_id, 0) + 1
            length = int(self.headers["content-length"])
            body = self.rfile.read(length)
            if receiver.delay:
                time.sleep(receiver.delay)
            with receiver.lock:
                receiver.in_flight[message_id] -= 1
                status = receiver.status
                if status == 200 and len(body) == length:  # (a cut request is none)
                    receiver.received.append(
                        Received(
                            message_id,
                            int(self.headers["webhook-timestamp"]),
                            self.headers["webhook-signature"],
                            body,
                        )
                    )
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # the worker opens many connections at once

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def worker(
    database: Database,
    client: httpx.AsyncClient,
    *,
    policy: RetryPolicy | None = None,
    clock: Any = None,
) -> DeliveryWorker:
    extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
    return DeliveryWorker(
        sessionmaker=database.sessionmaker,
        master_key=TEST_MASTER_KEY.encode(),
        client=client,
        allow_private=True,
        policy=policy or RetryPolicy(),
        **extra,
    )


async def subscribe(
    tokens: Tokens, partner: str, url: str, types: list[str] | None = None
) -> tuple[str, str]:
    """Creates an endpoint; returns its id and its secret."""
    body = await tokens.graphql(
        partner, CREATE_ENDPOINT, {"input": {"url": url, "eventTypes": types or []}}
    )
    assert "errors" not in body, body
    created = body["data"]["createWebhookEndpoint"]
    return created["endpoint"]["id"], created["secret"]


async def feed(tokens: Tokens, partner: str, **variables: Any) -> list[dict[str, Any]]:
    """Every event of the partner's feed, page by page."""
    events: list[dict[str, Any]] = []
    after = None
    while True:
        body = await tokens.graphql(partner, EVENTS, {"after": after, "first": 100, **variables})
        assert "errors" not in body, body
        page = body["data"]["events"]
        events += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return events
        after = page["pageInfo"]["endCursor"]


def later(start: datetime) -> Any:
    """A settable clock for the worker (retries are scheduled against it)."""

    class Clock:
        now = start

        def __call__(self) -> datetime:
            return self.now

    return Clock()
