"""Webhooks delivered per second by one worker to a local receiver.

Makes a fresh database on the server (``--server-url``, default
``$PRAKERJA_TEST_DATABASE_URL``), migrates and seeds it (small), registers one endpoint of
DP-001 at a receiver on 127.0.0.1, commits ``--events`` events on distinct subjects (the
trigger fans each out into a delivery), then times one ``DeliveryWorker`` delivering them
all, and prints deliveries/s with the CPU time each process spent per delivery.

The receiver runs in its own process: a bare asyncio HTTP/1.1 server (httptools' parser,
uvloop, keep-alive) that checks every signature and answers 204, so that it costs far less
per request than the worker and the figure is the worker's, not the receiver's.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
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


# --- the receiver (its own process) ------------------------------------------------------


class _ReceiverProtocol(asyncio.Protocol):
    """One keep-alive connection: parse requests, check each signature, answer at once."""

    def __init__(self, key: bytes, counts: dict[str, int]) -> None:
        import httptools

        self._key = key
        self._counts = counts
        self._parser = httptools.HttpRequestParser(self)
        self._headers: dict[bytes, bytes] = {}
        self._body: list[bytes] = []
        self._transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # uvloop's, an asyncio.Transport in all but class

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except Exception:  # a malformed request: the connection ends
            self._transport.close()

    def on_message_begin(self) -> None:
        self._headers = {}
        self._body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser.get_method() == b"POST":
            headers = self._headers
            signed = b".".join(
                (headers[b"webhook-id"], headers[b"webhook-timestamp"], b"".join(self._body))
            )
            digest = base64.b64encode(hmac.new(self._key, signed, hashlib.sha256).digest())
            ok = b"v1," + digest in headers[b"webhook-signature"].split(b" ")
            self._counts["ok" if ok else "bad"] += 1
            self._transport.write(
                b"HTTP/1.1 204 No Content\r\n\r\n"
                if ok
                else b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n"
            )
        else:
            answer = f"{self._counts['ok']} {self._counts['bad']}".encode()
            self._transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer)
            )


def run_receiver(port: int, secret: str) -> None:
    import uvloop

    key = base64.b64decode(secret.removeprefix("whsec_"))
    counts = {"ok": 0, "bad": 0}

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _ReceiverProtocol(key, counts), "127.0.0.1", port, backlog=1024
        )
        async with server:
            await server.serve_forever()

    uvloop.run(serve())


# --- preparation ----------------------------------------------------------------------------


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


# --- CPU accounting ---------------------------------------------------------------------------

# The bench database's backends (the worker's connections), and PostgreSQL's shared
# background processes (WAL writer, checkpointer...), which others' work uses too.
_BACKENDS = "SELECT pid FROM pg_stat_activity WHERE datname = $1"
_BACKGROUND = "SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'"


def _cpu(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


@dataclass
class Snapshot:
    backends: dict[int, float]
    background: dict[int, float]
    receiver: float

    @classmethod
    async def take(cls, server_url: str, name: str, receiver: int) -> Snapshot:
        connection = await asyncpg.connect(server_url)
        try:
            backends = [row["pid"] for row in await connection.fetch(_BACKENDS, name)]
            background = [row["pid"] for row in await connection.fetch(_BACKGROUND)]
        finally:
            await connection.close()
        return cls(
            backends={pid: _cpu(pid) for pid in backends},
            background={pid: _cpu(pid) for pid in background},
            receiver=_cpu(receiver),
        )


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    # A backend that appeared meanwhile counts from zero.
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


# --- the run -----------------------------------------------------------------------------------


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "PRAKERJA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="deliveries claimed per round")
    parser.add_argument(
        "--concurrency", type=int, default=64, help="requests (and connections) in flight at once"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds in flight at once")
    parser.add_argument("--port", type=int, default=0, help="the receiver's port (0: any free)")
    parser.add_argument(
        "--py-spy", type=Path, help="sample the worker with py-spy into DIR/webhooks.txt"
    )
    parser.add_argument("--serve-receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_receiver:
        run_receiver(arguments.serve_receiver, arguments.secret)
    else:
        asyncio.run(main(arguments))


async def main(arguments: argparse.Namespace) -> None:
    port = arguments.port or _free_port()
    receiver_url = f"http://127.0.0.1:{port}/hooks"
    name = f"prakerja_bench_webhooks_{uuid.uuid4().hex[:8]}"
    url, secret = await prepare(arguments.server_url, name, arguments.events, receiver_url)
    # The receiver in its own process: its CPU is not the worker's.
    receiver = subprocess.Popen(  # noqa: S603, ASYNC220 - our own module, before the timing
        [sys.executable, "-m", "bench.webhooks", "--serve-receiver", str(port), "--secret", secret]
    )
    sampler: subprocess.Popen[bytes] | None = None
    database = Database.connect(url, pool_size=2)
    try:
        # The receiver imports this module: on a loaded machine it takes a while to listen.
        async with httpx.AsyncClient() as probe:
            for _ in range(1200):
                try:
                    await probe.get(receiver_url)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise SystemExit("the receiver did not answer within 2 minutes")
        async with http_client() as client:
            delivering = DeliveryWorker(
                sessionmaker=database.sessionmaker,
                master_key=MASTER_KEY,
                client=client,
                allow_private=True,
                batch_size=arguments.batch,
                concurrency=arguments.concurrency,
                rounds_at_once=arguments.rounds,
            )
            # The pool's connections exist before the timing starts.
            async with database.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
            if arguments.py_spy:
                arguments.py_spy.mkdir(parents=True, exist_ok=True)
                sampler = subprocess.Popen(  # noqa: S603, ASYNC220 - a sampler, before the timing
                    [
                        str(Path(sys.executable).with_name("py-spy")),
                        "record",
                        "--pid",
                        str(os.getpid()),
                        "--rate",
                        "250",
                        "--nonblocking",
                        "--format",
                        "raw",
                        "--output",
                        str(arguments.py_spy / "webhooks.txt"),
                    ]
                )
            load_before = os.getloadavg()
            before = await Snapshot.take(arguments.server_url, name, receiver.pid)
            started = time.perf_counter()
            cpu = time.process_time()
            recorded = await delivering.run_until_idle()
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
            after = await Snapshot.take(arguments.server_url, name, receiver.pid)
            load_after = os.getloadavg()
        if sampler is not None:
            sampler.send_signal(2)  # SIGINT: py-spy writes what it has
            sampler.wait()
        async with database.sessionmaker() as session:
            succeeded = await session.scalar(
                text("SELECT count(*) FROM webhook_deliveries WHERE status = :s"),
                {"s": DeliveryStatus.SUCCEEDED.value},
            )
            failures = (
                await session.execute(
                    text(
                        "SELECT coalesce(error, CAST(status_code AS text)) AS what, count(*)"
                        " FROM webhook_attempts WHERE status_code IS DISTINCT FROM 204"
                        " GROUP BY 1 ORDER BY 2 DESC"
                    )
                )
            ).all()
        async with httpx.AsyncClient() as probe:
            counted = (await probe.get(receiver_url)).text
        delivered = max(recorded.succeeded, 1)
        postgres = _spent(before.backends, after.backends)
        background = _spent(before.background, after.background)
        receiver_cpu = after.receiver - before.receiver
        cores = psutil.cpu_count() or 1
        print(f"events                   {arguments.events:>10,}")
        print(
            f"batch / concurrency / rounds  {arguments.batch:,} / {arguments.concurrency}"
            f" / {arguments.rounds}"
        )
        print(f"delivered (worker)       {recorded.succeeded:>10,}   retried {recorded.retried}")
        print(f"succeeded (database)     {succeeded:>10,}")
        for what, count in failures:
            print(f"failed attempts          {count:>10,}   {what}")
        print(f"receiver ok / bad        {counted:>10}")
        print(f"seconds                  {seconds:>10.2f}")
        print(f"deliveries per second    {recorded.succeeded / seconds:>10,.0f}")
        print(f"worker CPU               {cpu:>10.2f} s  {cpu / delivered * 1e6:>7.0f} us/delivery")
        print(
            f"PostgreSQL CPU (backends){postgres:>10.2f} s  "
            f"{postgres / delivered * 1e6:>7.0f} us/delivery"
        )
        print(f"PostgreSQL background    {background:>10.2f} s  (shared with other databases)")
        print(
            f"receiver CPU             {receiver_cpu:>10.2f} s  "
            f"{receiver_cpu / delivered * 1e6:>7.0f} us/delivery"
        )
        print(
            f"one free core: worker    {1 / max(cpu / delivered, 1e-9):>10,.0f} deliveries/s"
            " (1 / worker CPU per delivery)"
        )
        print(
            "load average (1 min)     "
            f"{load_before[0]:.1f} before, {load_after[0]:.1f} after, {cores} cores"
        )
    finally:
        if sampler is not None and sampler.poll() is None:
            sampler.kill()
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
