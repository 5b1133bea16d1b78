"""End-to-end purchases per second: startPurchase, the OTP, authorizePurchase, over real HTTP.

The target (enrollment issue): with 32 platform clients buying concurrently for distinct
participants against one worker, at least 300 purchases/s with a p99 under 250 ms; and the
same against one hot schedule, to show what lock contention on its seat counter costs.

What the script does, all on one machine and on loopback only:

1. creates a scratch database ``bench_purchases_<random>`` on the server named by
   ``--database-url``, migrates it and seeds ``--participants`` (about 80% of them stay
   REGISTERED); every REGISTERED participant becomes a recipient able to buy (balance
   3,500,000, deadline in 15 days, the latest wave), one recipient per purchase;
2. "spread": a new running schedule (quota 1,000,000) for every approved course without an
   age or education rule, of an active provider, listed on DP-001..DP-007; each purchase
   picks one at random among those listed on the buying platform;
   "hot": one running schedule of one course, listed on all seven platforms (the missing
   listings are added), that every purchase buys: its ``remaining`` row is the hot spot;
3. one OAuth client per concurrent buyer, round robin over DP-001..DP-007, with the
   ``enrollment:write`` scope; tokens come from ``POST /oauth/token``;
4. starts ONE gateway worker (``prakerja-gateway serve``: one uvicorn process) on a free
   port of 127.0.0.1, with logging at WARNING;
5. per scenario, ``--concurrency`` buyers loop for ``--warmup`` + ``--seconds``: START,
   then the OTP read from ``notification_outbox`` with asyncpg (standing in for the
   participant's phone), then AUTHORIZE. Only purchases finishing after the warm-up count.

"purchase" latency is START + AUTHORIZE as the gateway serves them; "wall" adds the OTP
read. Errors are counted over the whole run, warm-up included, by step and code. CPU is
measured over the measured window, in % of one core, for the server process, this load
generator, PostgreSQL (the scratch database's backends and the background processes, and
whole, every backend that ended during the window: a connection the pool closed) and
everything else: on a small machine they share the cores, which the report shows, with the
server's CPU time per purchase (the figure that does not depend on what else runs). Lock
waits are sampled from pg_stat_activity. The scratch database is dropped at the end, also
on failure or Ctrl-C.

    .venv/bin/python -m bench.purchases \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        [--participants 60000] [--seconds 15] [--concurrency 32] [--py-spy DIR]

``--py-spy DIR`` records the server with py-spy (install it separately) during each
measured window, as collapsed stacks in DIR/<scenario>.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import math
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import psutil

from auth.admin import create_client
from bench._setup import ORIGIN, peak_rss_mb
from core.db import migrate
from core.db.actor import APP_ROLE
from core.db.database import Database
from core.db.urls import as_role, with_database
from gateway.seed import seed_database

T = TypeVar("T")

PLATFORMS = tuple(f"DP-{number:03d}" for number in range(1, 8))
BALANCE = 3_500_000
QUOTA = 1_000_000
TARGET_PER_SECOND = 300.0
TARGET_P99_MS = 250.0
MAX_SECONDS = 60.0

START = """
mutation Start($input: StartPurchaseInput!) {
  startPurchase(input: $input) { paymentToken expiresAt purchase { id invoiceCode status } }
}
"""
AUTHORIZE = """
mutation Authorize($input: AuthorizePurchaseInput!) {
  authorizePurchase(input: $input) { invoiceCode status transactionCode redeemCode }
}
"""

MAKE_RECIPIENTS = """
UPDATE participants
   SET status = 'RECIPIENT',
       wave_id = (SELECT id FROM waves ORDER BY number DESC LIMIT 1),
       training_balance = $1,
       first_purchase_deadline = now() + interval '15 days'
 WHERE status = 'REGISTERED'
RETURNING card_number
"""
SELLABLE_COURSES = """
SELECT c.id, c.code, c.price, array_agg(platform.code ORDER BY platform.code) AS platforms
  FROM courses c
  JOIN partners provider ON provider.id = c.provider_id
  JOIN course_listings listing ON listing.course_id = c.id
  JOIN partners platform ON platform.id = listing.platform_id
 WHERE c.status = 'APPROVED' AND provider.status = 'ACTIVE' AND platform.status = 'ACTIVE'
   AND c.min_age IS NULL AND c.max_age IS NULL AND c.min_education IS NULL
   AND c.price <= $1 AND platform.code = ANY($2::text[])
 GROUP BY c.id
 ORDER BY c.id
"""
OPEN_SCHEDULES = """
INSERT INTO schedules (code, course_id, starts_at, ends_at, quota, remaining)
SELECT code, course_id, now() - interval '1 hour', now() + interval '30 days', $3, $3
  FROM unnest($1::text[], $2::bigint[]) AS opened(code, course_id)
"""
LIST_EVERYWHERE = """
INSERT INTO course_listings (course_id, platform_id)
SELECT $1, id FROM partners WHERE code = ANY($2::text[])
ON CONFLICT DO NOTHING
"""
# The outbox has no index on the purchase id: each buyer scans forward from its previous
# message (ids only grow, and its next message is written after its previous one).
READ_OTP = """
SELECT id, payload->>'otp' AS otp
  FROM notification_outbox
 WHERE id > $1 AND payload->>'purchaseId' = $2
 ORDER BY id
 LIMIT 1
"""
# PostgreSQL's work for this run: the scratch database's backends, and the shared background
# processes (WAL writer, checkpointer...); other databases' backends are others' load.
OUR_POSTGRES_PROCESSES = """
SELECT pid FROM pg_stat_activity
 WHERE datname = current_database() OR backend_type <> 'client backend'
"""
LOCK_WAITERS = """
SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting,
       count(*) FILTER (WHERE xact_start IS NOT NULL) AS in_transaction
  FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


@dataclass(frozen=True)
class Offer:
    course_code: str
    schedule_code: str
    price: int


@dataclass(frozen=True)
class SellableCourse:
    id: int
    code: str
    price: int
    platforms: tuple[str, ...]


@dataclass(frozen=True)
class BuyerClient:
    platform: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class Setup:
    cards: list[str]
    offers: dict[str, dict[str, list[Offer]]]  # scenario -> platform -> offers
    clients: list[BuyerClient]


@dataclass(frozen=True)
class Window:
    measure_from: float
    stop: float


@dataclass
class Samples:
    start: list[float] = field(default_factory=list)
    otp: list[float] = field(default_factory=list)
    authorize: list[float] = field(default_factory=list)
    purchase: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def merge(self, other: Samples) -> None:
        for name in ("start", "otp", "authorize", "purchase", "wall"):
            getattr(self, name).extend(getattr(other, name))
        self.errors.update(other.errors)

    def record(self, sent: float, started: float, otp_read: float, authorized: float) -> None:
        self.start.append(started - sent)
        self.otp.append(otp_read - started)
        self.authorize.append(authorized - otp_read)
        self.purchase.append((started - sent) + (authorized - otp_read))
        self.wall.append(authorized - sent)


@dataclass
class LockStats:
    samples: int = 0
    waiting_total: int = 0
    waiting_max: int = 0
    with_waiters: int = 0
    in_transaction_total: int = 0

    def add(self, waiting: int, in_transaction: int) -> None:
        self.samples += 1
        self.waiting_total += waiting
        self.waiting_max = max(self.waiting_max, waiting)
        self.with_waiters += waiting > 0
        self.in_transaction_total += in_transaction


@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    server: float
    generator: float
    postgres: dict[int, float]
    # What PostgreSQL's backends that have ended used, all of them (the postmaster's
    # children): a backend that lived less than the window is not among ``postgres``.
    postgres_ended: float
    machine_busy: float


@dataclass(frozen=True)
class Cpu:
    """CPU used over the measured window, in % of one core (machine: % of all cores)."""

    server: float
    generator: float
    postgres: float
    machine: float


@dataclass(frozen=True)
class Result:
    name: str
    seconds: float
    samples: Samples
    cpu: Cpu
    locks: LockStats


# --- the scratch database ---------------------------------------------------------------


async def create_database(server_url: str, name: str) -> None:
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def drop_database(server_url: str, name: str) -> None:
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def make_recipients(connection: asyncpg.Connection) -> list[str]:
    rows = await connection.fetch(MAKE_RECIPIENTS, BALANCE)
    return [row["card_number"] for row in rows]


async def sellable_courses(connection: asyncpg.Connection) -> list[SellableCourse]:
    rows = await connection.fetch(SELLABLE_COURSES, BALANCE, list(PLATFORMS))
    return [
        SellableCourse(row["id"], row["code"], row["price"], tuple(row["platforms"]))
        for row in rows
    ]


async def open_spread(
    connection: asyncpg.Connection, courses: list[SellableCourse]
) -> dict[str, list[Offer]]:
    """A schedule per course; each platform gets the offers of the courses it lists."""
    codes = [f"BENCH-SPREAD-{course.id}" for course in courses]
    await connection.execute(OPEN_SCHEDULES, codes, [course.id for course in courses], QUOTA)
    offers: dict[str, list[Offer]] = {platform: [] for platform in PLATFORMS}
    for course, code in zip(courses, codes, strict=True):
        for platform in course.platforms:
            offers[platform].append(Offer(course.code, code, course.price))
    return offers


async def open_hot(
    connection: asyncpg.Connection, courses: list[SellableCourse]
) -> dict[str, list[Offer]]:
    """One schedule every platform sells: the course most widely listed, listed everywhere."""
    course = max(courses, key=lambda candidate: len(candidate.platforms))
    await connection.execute(LIST_EVERYWHERE, course.id, list(PLATFORMS))
    code = "BENCH-HOT"
    await connection.execute(OPEN_SCHEDULES, [code], [course.id], QUOTA)
    return {platform: [Offer(course.code, code, course.price)] for platform in PLATFORMS}


async def create_clients(url: str, count: int, master_key: str) -> list[BuyerClient]:
    database = Database.connect(url, pool_size=1)
    clients: list[BuyerClient] = []
    try:
        async with database.sessionmaker() as session:
            for number in range(count):
                platform = PLATFORMS[number % len(PLATFORMS)]
                credentials = await create_client(
                    session,
                    ORIGIN,
                    partner_code=platform,
                    scopes=["enrollment:write"],
                    master_key=master_key.encode(),
                    name=f"bench purchases {number}",
                )
                assert credentials.client_secret is not None
                clients.append(
                    BuyerClient(platform, credentials.client_id, credentials.client_secret)
                )
            await session.commit()
    finally:
        await database.dispose()
    return clients


async def prepare(url: str, participants: int, concurrency: int, master_key: str) -> Setup:
    began = time.perf_counter()
    await seed_database(url, participants=participants, master_key=master_key.encode())
    connection = await asyncpg.connect(url)
    try:
        cards = await make_recipients(connection)
        courses = await sellable_courses(connection)
        if not courses:
            raise SystemExit("the seed has no course the platforms can sell")
        offers = {
            "spread": await open_spread(connection, courses),
            "hot": await open_hot(connection, courses),
        }
        await connection.execute("ANALYZE participants, schedules, course_listings")
    finally:
        await connection.close()
    clients = await create_clients(url, concurrency, master_key)
    spread = sum(len(platform_offers) for platform_offers in offers["spread"].values())
    print(
        f"prepared in {time.perf_counter() - began:.0f} s: {len(cards):,} recipients, "
        f"{len(courses):,} spread schedules ({spread:,} platform offers), 1 hot schedule, "
        f"{len(clients)} clients"
    )
    return Setup(cards=cards, offers=offers, clients=clients)


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def serve_command() -> list[str]:
    script = Path(sys.executable).with_name("prakerja-gateway")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "gateway.cli", "serve"]


def start_server(
    url: str, port: int, master_key: str, pool_size: int | None, cprofile: Path | None = None
) -> subprocess.Popen[bytes]:
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("PRAKERJA_")}
    env = {
        **inherited,
        # The gateway serves as its own role, as deployed (the set-up ran as the owner).
        "PRAKERJA_DATABASE_URL": as_role(url, APP_ROLE),
        "PRAKERJA_HOST": "127.0.0.1",
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PRAKERJA_LOG_LEVEL": "WARNING",
        "PRAKERJA_MASTER_KEY": master_key,
    }
    if pool_size is not None:
        env["PRAKERJA_DB_POOL_SIZE"] = str(pool_size)
    command = serve_command()
    if cprofile is not None:
        command = [sys.executable, "-m", "bench.cpu_profiled_serve", str(cprofile)]
    # The command is this interpreter's own gateway script: no outside input.
    return subprocess.Popen(command, env=env)  # noqa: S603


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


async def wait_for_server(http: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the server did not come up within 30 s")


async def fetch_token(http: httpx.AsyncClient, client: BuyerClient) -> str:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "enrollment:write"},
        auth=(client.client_id, client.client_secret),
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


# --- the load -------------------------------------------------------------------------------


def purchase_pk(global_id: str) -> int:
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    type_name, _, pk = raw.partition(":")
    assert type_name == "Purchase", raw
    return int(pk)


def error_code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    if not errors:
        return None
    extensions = errors[0].get("extensions") or {}
    return str(extensions.get("code", "UNKNOWN"))


class Buyer:
    """One platform's client buying, one purchase after another, for fresh card holders."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        outbox: asyncpg.Pool,
        platform: str,
        token: str,
        offers: list[Offer],
        outbox_floor: int,
    ) -> None:
        self.http = http
        self.outbox = outbox
        self.headers = {"Authorization": f"Bearer {token}"}
        self.offers = offers
        self.outbox_floor = outbox_floor
        self.rng = random.Random(f"{platform}/{token[-12:]}")

    async def run(self, cards: Iterator[str], samples: Samples, window: Window) -> None:
        while time.perf_counter() < window.stop:
            card = next(cards, None)
            if card is None:
                samples.errors["recipients exhausted"] += 1
                return
            await self.buy(card, samples, window)

    async def buy(self, card: str, samples: Samples, window: Window) -> None:
        offer = self.rng.choice(self.offers)
        sent = time.perf_counter()
        started = await self.graphql(START, {"input": self.start_input(offer, card)})
        started_at = time.perf_counter()
        if self.refused("start", started, samples):
            return
        payload = started["data"]["startPurchase"]
        otp = await self.read_otp(purchase_pk(payload["purchase"]["id"]))
        otp_read = time.perf_counter()
        if otp is None:
            samples.errors["otp: not in the outbox"] += 1
            return
        variables = {"input": {"paymentToken": payload["paymentToken"], "otp": otp}}
        authorized = await self.graphql(AUTHORIZE, variables)
        authorized_at = time.perf_counter()
        if self.refused("authorize", authorized, samples):
            return
        status = authorized["data"]["authorizePurchase"]["status"]
        if status != "SUCCESS":
            samples.errors[f"authorize: status {status}"] += 1
        elif window.measure_from <= authorized_at <= window.stop:
            samples.record(sent, started_at, otp_read, authorized_at)

    @staticmethod
    def start_input(offer: Offer, card: str) -> dict[str, str]:
        return {
            "cardNumber": card,
            "courseCode": offer.course_code,
            "scheduleCode": offer.schedule_code,
            "platformUserId": f"bench-{card}",
            "invoiceCode": f"BENCH-{secrets.token_hex(10)}",
            "amount": str(offer.price),
        }

    @staticmethod
    def refused(step: str, body: dict[str, Any], samples: Samples) -> bool:
        code = error_code(body)
        if code is not None:
            samples.errors[f"{step}: {code}"] += 1
        return code is not None

    async def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self.http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=self.headers
            )
        except httpx.HTTPError as exc:
            return {"errors": [{"extensions": {"code": type(exc).__name__}}]}
        if response.status_code != 200:
            return {"errors": [{"extensions": {"code": f"HTTP {response.status_code}"}}]}
        body: dict[str, Any] = response.json()
        return body

    async def read_otp(self, pk: int) -> str | None:
        row = await self.outbox.fetchrow(READ_OTP, self.outbox_floor, str(pk))
        if row is None:
            return None
        self.outbox_floor = row["id"]
        otp: str = row["otp"]
        return otp


# --- what the machine does meanwhile ----------------------------------------------------------


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def processes_cpu(pids: list[int]) -> dict[int, float]:
    seconds: dict[int, float] = {}
    for pid in pids:
        try:
            seconds[pid] = cpu_seconds(psutil.Process(pid))
        except psutil.Error:
            continue  # a backend that ended meanwhile
    return seconds


def generator_cpu(server: psutil.Process) -> float:
    """This process and its buyer processes (not the server, not a profiler)."""
    me = psutil.Process()
    used = cpu_seconds(me)
    for child in me.children(recursive=True):
        try:
            if child.pid != server.pid and child.name() != "py-spy":
                used += cpu_seconds(child)
        except psutil.Error:
            continue
    return used


async def cpu_snapshot(server: psutil.Process, connection: asyncpg.Connection) -> CpuSnapshot:
    pids = [row["pid"] for row in await connection.fetch(OUR_POSTGRES_PROCESSES)]
    machine = psutil.cpu_times()
    idle = machine.idle + getattr(machine, "iowait", 0.0)
    return CpuSnapshot(
        at=time.perf_counter(),
        server=cpu_seconds(server),
        generator=generator_cpu(server),
        postgres=processes_cpu(pids),
        postgres_ended=ended_backends_cpu(connection),
        machine_busy=sum(machine) - idle,
    )


def ended_backends_cpu(connection: asyncpg.Connection) -> float:
    """The CPU of the postmaster's children that have ended (the kernel adds a child's
    times to its parent's when the parent reaps it); 0 where it cannot be read."""
    backend_pid = connection.get_server_pid()
    try:
        postmaster = psutil.Process(psutil.Process(backend_pid).ppid())
        times = postmaster.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.children_user + times.children_system)


def cpu_between(first: CpuSnapshot, last: CpuSnapshot) -> Cpu:
    elapsed = last.at - first.at
    postgres = sum(seconds - first.postgres.get(pid, 0.0) for pid, seconds in last.postgres.items())
    postgres += last.postgres_ended - first.postgres_ended
    cores = psutil.cpu_count() or 1
    return Cpu(
        server=100 * (last.server - first.server) / elapsed,
        generator=100 * (last.generator - first.generator) / elapsed,
        postgres=100 * postgres / elapsed,
        machine=100 * (last.machine_busy - first.machine_busy) / elapsed / cores,
    )


async def sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.perf_counter()))


async def measure_cpu(url: str, server: psutil.Process, window: Window) -> Cpu:
    connection = await asyncpg.connect(url)
    try:
        await sleep_until(window.measure_from)
        first = await cpu_snapshot(server, connection)
        await sleep_until(window.stop)
        return cpu_between(first, await cpu_snapshot(server, connection))
    finally:
        await connection.close()


async def watch_locks(url: str, window: Window, every: float = 0.05) -> LockStats:
    """How many of the database's backends wait on a lock, sampled through the window."""
    stats = LockStats()
    connection = await asyncpg.connect(url)
    try:
        await sleep_until(window.measure_from)
        while time.perf_counter() < window.stop:
            row = await connection.fetchrow(LOCK_WAITERS)
            assert row is not None
            stats.add(row["waiting"], row["in_transaction"])
            await asyncio.sleep(every)
    finally:
        await connection.close()
    return stats


def start_profiler(pid: int, window: Window, out: Path) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("py-spy not found: no profile", file=sys.stderr)
        return None
    seconds = max(1, int(window.stop - window.measure_from))
    command = [py_spy, "record", "--pid", str(pid), "--duration", str(seconds)]
    command += ["--rate", "250", "--nonblocking", "--format", "raw", "--output", str(out)]
    quiet = subprocess.DEVNULL
    # py-spy from PATH or next to this interpreter, with arguments built here.
    return subprocess.Popen(command, stdout=quiet, stderr=quiet)  # noqa: S603


# --- one scenario ---------------------------------------------------------------------------


@dataclass
class Run:
    """What every scenario of one bench run shares."""

    base: str
    url: str
    tokens: list[tuple[str, str]]  # (platform, access token) per buyer
    cards: Iterator[str]
    server: psutil.Process
    warmup: float
    seconds: float
    profile_dir: Path | None
    cprofile_dir: Path | None
    # Buyers in other processes (--generator-processes): the executor and the cards each
    # scenario may use.
    executor: ProcessPoolExecutor | None = None
    processes: int = 1
    cards_per_scenario: int = 0


def buyers_in_process(
    base: str,
    url: str,
    tokens: list[tuple[str, str]],
    cards: list[str],
    offers: dict[str, list[Offer]],
    window: Window,
    floor: int,
) -> Samples:
    """Some of the buyers, in a process of their own (the time source is system-wide)."""
    return arun(_buyers(base, url, tokens, cards, offers, window, floor))


async def _buyers(
    base: str,
    url: str,
    tokens: list[tuple[str, str]],
    cards: list[str],
    offers: dict[str, list[Offer]],
    window: Window,
    floor: int,
) -> Samples:
    size = min(16, len(tokens))
    outbox = await asyncpg.create_pool(url, min_size=min(4, size), max_size=size)
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    samples = Samples()
    try:
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
            remaining = iter(cards)
            buyers = [
                Buyer(http, outbox, platform, token, offers[platform], floor)
                for platform, token in tokens
            ]
            await asyncio.gather(*(buyer.run(remaining, samples, window) for buyer in buyers))
    finally:
        await outbox.close()
    return samples


async def run_in_processes(
    run: Run, offers: dict[str, list[Offer]], window: Window, floor: int
) -> Samples:
    assert run.executor is not None
    parts = run.processes
    cards = list(itertools.islice(run.cards, run.cards_per_scenario))
    loop = asyncio.get_running_loop()
    futures = [
        loop.run_in_executor(
            run.executor,
            buyers_in_process,
            run.base,
            run.url,
            run.tokens[part::parts],
            cards[part::parts],
            offers,
            window,
            floor,
        )
        for part in range(parts)
    ]
    samples = Samples()
    for part in await asyncio.gather(*futures):
        samples.merge(part)
    return samples


async def run_scenario(run: Run, name: str, offers: dict[str, list[Offer]]) -> Result:
    if run.executor is not None:
        connection = await asyncpg.connect(run.url)
        try:
            floor = int(
                await connection.fetchval("SELECT coalesce(max(id), 0) FROM notification_outbox")
            )
        finally:
            await connection.close()
        now = time.perf_counter()
        window = Window(now + run.warmup, now + run.warmup + run.seconds)
        cpu = asyncio.create_task(measure_cpu(run.url, run.server, window))
        locks = asyncio.create_task(watch_locks(run.url, window))
        profiling = asyncio.create_task(profile(run, name, window))
        samples = await run_in_processes(run, offers, window, floor)
        result = Result(name, run.seconds, samples, await cpu, await locks)
        await profiling
        return result
    concurrency = len(run.tokens)
    size = min(16, concurrency)
    outbox = await asyncpg.create_pool(run.url, min_size=min(4, size), max_size=size)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    try:
        floor = int(await outbox.fetchval("SELECT coalesce(max(id), 0) FROM notification_outbox"))
        async with httpx.AsyncClient(base_url=run.base, limits=limits, timeout=60) as http:
            buyers = [
                Buyer(http, outbox, platform, token, offers[platform], floor)
                for platform, token in run.tokens
            ]
            now = time.perf_counter()
            window = Window(now + run.warmup, now + run.warmup + run.seconds)
            samples = Samples()
            cpu = asyncio.create_task(measure_cpu(run.url, run.server, window))
            locks = asyncio.create_task(watch_locks(run.url, window))
            profiling = asyncio.create_task(profile(run, name, window))
            await asyncio.gather(*(buyer.run(run.cards, samples, window) for buyer in buyers))
            result = Result(name, run.seconds, samples, await cpu, await locks)
            await profiling
    finally:
        await outbox.close()
    return result


async def profile(run: Run, name: str, window: Window) -> None:
    """py-spy (or cProfile of CPU time) on the server through the measured window only."""
    if run.cprofile_dir is not None:
        await sleep_until(window.measure_from)
        run.server.send_signal(signal.SIGUSR1)
        await sleep_until(window.stop)
        run.server.send_signal(signal.SIGUSR2)
        await asyncio.sleep(2)  # the dump
        (run.cprofile_dir / "server.prof").rename(run.cprofile_dir / f"{name}.prof")
        return
    if run.profile_dir is None:
        return
    run.profile_dir.mkdir(parents=True, exist_ok=True)
    await sleep_until(window.measure_from)
    profiler = start_profiler(run.server.pid, window, run.profile_dir / f"{name}.txt")
    if profiler is None:
        return
    try:
        await asyncio.to_thread(profiler.wait)
    finally:
        if profiler.poll() is None:  # interrupted: py-spy must not outlive the run
            profiler.terminate()


async def load(
    base: str, url: str, setup: Setup, server: subprocess.Popen[bytes], args: argparse.Namespace
) -> list[Result]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await wait_for_server(http, server)
        tokens = [(client.platform, await fetch_token(http, client)) for client in setup.clients]
    run = Run(
        base=base,
        url=url,
        tokens=tokens,
        cards=iter(setup.cards),
        server=psutil.Process(server.pid),
        warmup=args.warmup,
        seconds=args.seconds,
        profile_dir=args.py_spy,
        cprofile_dir=args.cprofile,
    )
    if args.generator_processes > 1:
        # spawn, not fork: a fork of this process would inherit its running event loop.
        context = multiprocessing.get_context("spawn")
        run.executor = ProcessPoolExecutor(args.generator_processes, mp_context=context)
        run.processes = args.generator_processes
        run.cards_per_scenario = len(setup.cards) // 2
        # Started (and their imports done) before any window opens.
        await asyncio.gather(
            *(
                asyncio.get_running_loop().run_in_executor(run.executor, time.sleep, 0.5)
                for _ in range(args.generator_processes)
            )
        )
    results = []
    try:
        for name in ("spread", "hot"):
            print(f"{name}: {len(tokens)} buyers, {args.warmup:g} s warm-up + {args.seconds:g} s")
            results.append(await run_scenario(run, name, setup.offers[name]))
    finally:
        if run.executor is not None:
            run.executor.shutdown()
    return results


# --- the report -------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latencies(values: list[float]) -> str:
    if not values:
        return "-"
    return " / ".join(f"{percentile(values, share) * 1000:.1f}" for share in (0.5, 0.95, 0.99))


def throughput(result: Result) -> float:
    return len(result.samples.purchase) / result.seconds


def table_rows(results: list[Result]) -> list[tuple[str, list[str]]]:
    def each(cell: Callable[[Result], str]) -> list[str]:
        return [cell(result) for result in results]

    cores = psutil.cpu_count() or 1
    return [
        ("purchases/s", each(lambda r: f"{throughput(r):.1f}")),
        ("purchases measured", each(lambda r: f"{len(r.samples.purchase):,}")),
        ("ms p50/p95/p99: start", each(lambda r: latencies(r.samples.start))),
        ("  OTP read (outbox)", each(lambda r: latencies(r.samples.otp))),
        ("  authorize", each(lambda r: latencies(r.samples.authorize))),
        ("  purchase (start+auth)", each(lambda r: latencies(r.samples.purchase))),
        ("  wall (with OTP read)", each(lambda r: latencies(r.samples.wall))),
        ("errors (whole run)", each(lambda r: f"{sum(r.samples.errors.values()):,}")),
        ("CPU % of a core: server", each(lambda r: f"{r.cpu.server:.0f}")),
        ("  load generator", each(lambda r: f"{r.cpu.generator:.0f}")),
        ("  PostgreSQL", each(lambda r: f"{r.cpu.postgres:.0f}")),
        ("  other processes", each(lambda r: f"{others(r.cpu, cores):.0f}")),
        ("CPU ms per purchase: server", each(lambda r: per_purchase(r, r.cpu.server))),
        ("  PostgreSQL", each(lambda r: per_purchase(r, r.cpu.postgres))),
        (f"machine busy, % of {cores} cores", each(lambda r: f"{r.cpu.machine:.0f}")),
        ("lock waiters mean / max", each(lock_waiters)),
        ("  share of time any waits", each(lambda r: f"{lock_share(r.locks):.0f}%")),
        ("open transactions, mean", each(open_transactions)),
    ]


def per_purchase(result: Result, percent_of_core: float) -> str:
    """CPU time per measured purchase: what one core would allow, whatever else runs."""
    rate = throughput(result)
    return f"{percent_of_core * 10 / rate:.1f}" if rate else "-"


def others(cpu: Cpu, cores: int) -> float:
    """Whatever else ran on the machine meanwhile (other databases' backends among it)."""
    return max(0.0, cpu.machine * cores - cpu.server - cpu.generator - cpu.postgres)


def lock_waiters(result: Result) -> str:
    locks = result.locks
    mean = locks.waiting_total / locks.samples if locks.samples else 0.0
    return f"{mean:.2f} / {locks.waiting_max}"


def lock_share(locks: LockStats) -> float:
    return 100 * locks.with_waiters / locks.samples if locks.samples else 0.0


def open_transactions(result: Result) -> str:
    locks = result.locks
    return f"{locks.in_transaction_total / locks.samples:.1f}" if locks.samples else "-"


def verdict(result: Result) -> str:
    rate = throughput(result)
    p99 = percentile(result.samples.purchase, 0.99) * 1000 if result.samples.purchase else 0.0
    met = rate >= TARGET_PER_SECOND and 0 < p99 < TARGET_P99_MS and not result.samples.errors
    line = (
        f"{result.name}: {rate:.1f}/s (target {TARGET_PER_SECOND:g}), purchase p99 "
        f"{p99:.0f} ms (target < {TARGET_P99_MS:g}): {'met' if met else 'MISSED'}"
    )
    if rate and result.cpu.server:
        ceiling = 100 * rate / result.cpu.server
        line += f"; one server core at this cost: ~{ceiling:.0f}/s"
    return line


def notes(result: Result) -> list[str]:
    """What makes the figures less than a clean measurement of the server."""
    cores = psutil.cpu_count() or 1
    found = []
    if (other := others(result.cpu, cores)) > 20:
        found.append(f"other processes used {other:.0f}% of a core: the machine was not quiet")
    if result.cpu.generator > 50:
        found.append(f"the load generator used {result.cpu.generator:.0f}% of a core")
    if result.cpu.machine > 90:
        found.append(f"the machine was saturated ({result.cpu.machine:.0f}% busy)")
    return [f"{result.name} note: {note}" for note in found]


def report(results: list[Result], server_rss: int, args: argparse.Namespace) -> None:
    rows = table_rows(results)
    width = max(len(label) for label, _ in rows)
    cell = max(16, *(len(value) for _, values in rows for value in values))
    print()
    print(" " * width, *(result.name.rjust(cell) for result in results))
    for label, values in rows:
        print(label.ljust(width), *(value.rjust(cell) for value in values))
    print()
    for result in results:
        for code, count in sorted(result.samples.errors.items()):
            print(f"{result.name} error {code}: {count:,}")
        print(verdict(result))
        for note in notes(result):
            print(note)
    pool = args.pool_size if args.pool_size is not None else "default"
    print(f"server peak RSS (VmHWM): {server_rss / 2**20:.0f} MiB (one worker, DB pool {pool})")


# --- main -------------------------------------------------------------------------------------


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop, as the server uses (uvicorn[standard] brings it, except on Windows)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def arun(coroutine: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coroutine)


def bench(args: argparse.Namespace, url: str, master_key: str) -> None:
    migrate.upgrade(url)
    setup = arun(prepare(url, args.participants, args.concurrency, master_key))
    port = free_port()
    if args.cprofile is not None:
        args.cprofile.mkdir(parents=True, exist_ok=True)
    profile_to = args.cprofile / "server.prof" if args.cprofile is not None else None
    server = start_server(url, port, master_key, args.pool_size, profile_to)
    try:
        results = arun(load(f"http://127.0.0.1:{port}", url, setup, server, args))
        server_rss = int(peak_rss_mb(server.pid) * 2**20)
    finally:
        stop_server(server)
    report(results, server_rss, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--database-url", required=True, help="a server's maintenance database")
    parser.add_argument(
        "--participants", type=int, default=60_000, help="seeded; the ~80%% left REGISTERED buy"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="measured, per scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="not measured, per scenario")
    parser.add_argument("--concurrency", type=int, default=32, help="buyers, one client each")
    parser.add_argument("--pool-size", type=int, help="the server's PRAKERJA_DB_POOL_SIZE")
    parser.add_argument("--py-spy", type=Path, metavar="DIR", help="profile the server")
    parser.add_argument(
        "--generator-processes",
        type=int,
        default=1,
        help="buyers spread over this many processes (the load generator's CPU is their sum)",
    )
    parser.add_argument(
        "--cprofile", type=Path, metavar="DIR", help="CPU-time cProfile of the server, per scenario"
    )
    parser.add_argument(
        "--name-prefix", default="bench_purchases", help="of the scratch database's name"
    )
    args = parser.parse_args()
    if not 0 < args.seconds <= MAX_SECONDS or not 0 <= args.warmup <= MAX_SECONDS:
        parser.error(f"--seconds and --warmup are capped at {MAX_SECONDS:g}")
    if not 1 <= args.concurrency <= 256:
        parser.error("--concurrency is 1 to 256")
    if args.participants < 1_000:
        parser.error("--participants: at least 1,000")
    return args


def main() -> None:
    args = parse_args()
    name = f"{args.name_prefix}_{secrets.token_hex(4)}"
    master_key = secrets.token_urlsafe(32)
    arun(create_database(args.database_url, name))
    print(f"scratch database {name}")
    try:
        bench(args, with_database(args.database_url, name), master_key)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        arun(drop_database(args.database_url, name))
        print(f"dropped {name}")


if __name__ == "__main__":
    main()
