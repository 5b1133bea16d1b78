"""CI runs examples/webhook_receiver.py against the app: a platform registers it, sells a
training, and the receiver verifies and keeps each event once, refusing forgeries."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from core.db.database import Database
from core.webhook_signing import new_secret, sign
from gateway.webhooks import http_client
from tests.support.certificates import attend
from tests.support.credentials import SharedCredentials
from tests.support.enrollment import buy, open_sale
from tests.support.gateway import Tokens, make_client
from tests.support.webhooks import subscribe, worker


@pytest.fixture
async def demo(database: Database, shared_credentials: SharedCredentials) -> AsyncIterator[Tokens]:
    async with make_client(database, demo=True) as http:
        yield Tokens(http, database, shared_credentials)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_the_example_receiver_verifies_and_deduplicates(
    demo: Tokens, database: Database, repo_root: Path, tmp_path: Path
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/hooks"
    endpoint, secret = await subscribe(demo, "DP-001", url)
    log = tmp_path / "events.jsonl"
    receiver = await asyncio.create_subprocess_exec(
        sys.executable,
        str(repo_root / "examples" / "webhook_receiver.py"),
        "--secret",
        secret,
        "--port",
        str(port),
        "--log",
        str(log),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + 20
            while True:
                try:
                    await http.get(url)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
            sale = await open_sale(database)
            purchase = await buy(demo, database, sale)
            await attend(demo, sale.provider_code, purchase["redeemCode"], 1)
            async with http_client() as client:
                await worker(database, client).run_until_idle()
                # Redelivered on request: the same webhook-id, ignored by the receiver.
                events = [json.loads(line) for line in log.read_text().splitlines()]
                body = await demo.graphql(
                    "DP-001",
                    "mutation($e: String!, $i: String!) { redeliverEvent("
                    "endpointId: $e, eventId: $i) { status } }",
                    {"e": endpoint, "i": events[0]["id"]},
                )
                assert body["data"]["redeliverEvent"]["status"] == "PENDING"
                await worker(database, client).run_until_idle()
            # A forgery (signed with another secret) and a replay of an old one are refused.
            forged = b'{"type": "purchase.succeeded"}'
            now = int(time.time())
            for key, stamp in ((new_secret(), now), (secret, now - 3600)):
                refused = await http.post(
                    url,
                    content=forged,
                    headers={
                        "webhook-id": "evt_forged",
                        "webhook-timestamp": str(stamp),
                        "webhook-signature": sign(key, "evt_forged", stamp, forged),
                    },
                )
                assert refused.status_code == 401
    finally:
        receiver.terminate()
        await receiver.wait()
    kept = [json.loads(line) for line in log.read_text().splitlines()]
    assert [event["type"] for event in kept] == ["purchase.succeeded", "purchase.redeemed"]
    assert kept[0]["data"]["courseCode"] == sale.course_code
