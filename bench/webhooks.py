"""Webhooks delivered per second by one worker to a local receiver.

Makes a fresh database on the server (``--server-url``, default
``$PRAKERJA_TEST_DATABASE_URL``), migrates and seeds it (small), registers one endpoint of
DP-001 at a receiver on 127.0.0.1 (a bare ASGI app under uvicorn, in its own process, that
checks every signature), commits ``--events`` events on distinct subjects (the trigger fans
each out into a delivery), then times one ``DeliveryWorker`` delivering them all.

    .venv/bin/python -m bench.webhooks --events 10000 --batch 500
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select, text

from core.db import migrate
from core.db.database import Database
from core.db.urls import with_database
from core.enums import DeliveryStatus, WebhookEndpointStatus
from core.models import Partner, WebhookEndpoint
from core.webhook_signing import new_secret
from gateway.seed import seed_database
from gateway.webhooks import DeliveryWorker, http_client
from resolvers.webhooks import seal_secret

MASTER_KEY = b"bench-master-key"


def receiver_app(secret: str) -> Any:
    """An ASGI app: 204 for a verified webhook (counted), 401 otherwise; GET: the count."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    counts = {"ok": 0, "bad": 0}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status = 200
        answer = b""
        if scope["method"] == "POST":
            headers = dict(scope["headers"])
            signed = headers[b"webhook-id"] + b"." + headers[b"webhook-timestamp"] + b"." + body
            digest = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
            ok = b"v1," + digest in headers[b"webhook-signature"].split(b" ")
            counts["ok" if ok else "bad"] += 1
            status = 204 if ok else 401
        else:
            answer = f"{counts['ok']} {counts['bad']}".encode()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": answer})

    return app


def run_receiver(port: int, secret: str) -> None:
    import uvicorn

    uvicorn.run(
        receiver_app(secret), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def prepare(server_url: str, name: str, events: int, receiver_url: str) -> tuple[str, str]:
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = with_database(server_url, name)
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_database(url, participants=200)
    secret = new_secret()
    database = Database.connect(url, pool_size=2)
    try:
        async with database.sessionmaker() as session, session.begin():
            platform = await session.scalar(select(Partner.id).where(Partner.code == "DP-001"))
            uid = "ep_bench"
            session.add(
                WebhookEndpoint(
                    uid=uid,
                    partner_id=platform,
                    url=receiver_url,
                    event_types=[],
                    status=WebhookEndpointStatus.ENABLED,
                    secret_encrypted=seal_secret(MASTER_KEY, uid, secret),
                )
            )
            await session.flush()
            await session.execute(
                text(
                    "INSERT INTO events (type, version, subject, payload, audience)"
                    " SELECT 'purchase.succeeded', 1, 'bench:' || n,"
                    " jsonb_build_object('invoiceCode', 'INV-' || n, 'amount', '600000'),"
                    " ARRAY[CAST(:platform AS bigint)] FROM generate_series(1, :events) AS n"
                ),
                {"platform": platform, "events": events},
            )
    finally:
        await database.dispose()
    return url, secret


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "PRAKERJA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--receiver-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.receiver_port:
        run_receiver(arguments.receiver_port, arguments.secret)
    else:
        asyncio.run(main(arguments))


async def main(arguments: argparse.Namespace) -> None:

    port = _free_port()
    receiver_url = f"http://127.0.0.1:{port}/hooks"
    name = f"prakerja_bench_webhooks_{uuid.uuid4().hex[:8]}"
    url, secret = await prepare(arguments.server_url, name, arguments.events, receiver_url)
    # The receiver in its own process: its CPU is not the worker's.
    receiver = subprocess.Popen(  # noqa: S603, ASYNC220 - our own module, before the timing
        [sys.executable, "-m", "bench.webhooks", "--receiver-port", str(port), "--secret", secret]
    )
    database = Database.connect(url, pool_size=2)
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(100):
                try:
                    await probe.get(receiver_url)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        async with http_client() as client:
            delivering = DeliveryWorker(
                sessionmaker=database.sessionmaker,
                master_key=MASTER_KEY,
                client=client,
                allow_private=True,
                batch_size=arguments.batch,
            )
            started = time.perf_counter()
            cpu = time.process_time()
            recorded = await delivering.run_until_idle()
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
        async with database.sessionmaker() as session:
            succeeded = await session.scalar(
                text("SELECT count(*) FROM webhook_deliveries WHERE status = :s"),
                {"s": DeliveryStatus.SUCCEEDED.value},
            )
        async with httpx.AsyncClient() as probe:
            counted = (await probe.get(receiver_url)).text
        print(f"events                {arguments.events:>10,}")
        print(f"batch size            {arguments.batch:>10,}")
        print(f"delivered (worker)    {recorded.succeeded:>10,}   retried {recorded.retried}")
        print(f"succeeded (database)  {succeeded:>10,}")
        print(f"receiver ok / bad     {counted:>10}")
        print(f"seconds               {seconds:>10.2f}")
        print(f"deliveries per second {recorded.succeeded / seconds:>10,.0f}")
        print(f"worker CPU seconds    {cpu:>10.2f}")
    finally:
        receiver.terminate()
        receiver.wait()
        await database.dispose()
        connection = await asyncpg.connect(arguments.server_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


if __name__ == "__main__":
    cli()
