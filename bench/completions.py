"""submitCompletions in 500-item calls, one worker, end to end through the ASGI app.

    .venv/bin/python -m bench.completions \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        [--participants 3000] [--statements] [--profile]

A scratch database (migrated, seeded with ``participants``, dropped at the end) gets a
purchase of one provider's course for each participant, redeemed and post-tested (written
directly in SQL: this measures completions, not purchases). One app (the same one
``prakerja-gateway serve`` runs, in this process: one worker) answers ``submitCompletions``
over httpx's ASGI transport, 500 items a call with an Idempotency-Key, one call after
another. The machine is shared, so besides completions/s of wall time it reports the CPU
time per completion of the worker (this process) and of PostgreSQL (the database's client
backends, read from /proc: run it on the database's machine); the first call, which also
makes the credential key, is not counted. ``--statements`` sums SQL wall time per
statement, ``--profile`` runs cProfile over the counted calls. Then the CPU cost of issuing
one credential alone (the signature; what submitCompletions does per item; the long way;
joserfc), and the time of ``GET /certificates/{number}`` (JWT and HTML) and
``POST /certificates/verify``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import io
import os
import pstats
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
from cryptography.hazmat.primitives.hashes import SHA256
from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy import event

from auth.admin import create_client
from bench._setup import ORIGIN
from core.db import migrate
from core.db.database import Database
from core.db.urls import with_database
from core.enums import LearningMethod
from core.settings import Settings
from gateway.app import create_app
from gateway.seed import seed_database
from resolvers.certificates.credentials import (
    CourseFacts,
    CredentialTemplate,
    Issuer,
    build_credential,
    identity_hash,
    new_certificate_number,
    sign,
    sign_payload,
)
from resolvers.certificates.keys import CredentialKeys, SigningKey

SUBMIT = """mutation S($input: SubmitCompletionsInput!) { submitCompletions(input: $input) {
  results { certificate { number } errors { code } } } }"""
ITEMS = 500
_HEADER = {"alg": "ES256", "typ": "vc+jwt", "cty": "vc", "kid": "bench"}
_TICK = os.sysconf("SC_CLK_TCK")


class _BackendClock:
    """CPU seconds the database's server processes spent for this database (Linux /proc,
    the server on this machine): the other half of a completion's cost."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.seen: dict[int, float] = {}

    async def spent(self) -> float:
        """CPU seconds since the last call (the first call only starts the clock)."""
        pids = await self.connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        total = 0.0
        for (pid,) in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()  # noqa: ASYNC240 - procfs, instant
                fields = stat.rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            now = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
            total += now - self.seen.get(pid, now if not self.seen else 0.0)
            self.seen[pid] = now
        return total


async def _prepare(url: str, count: int) -> tuple[str, list[str]]:
    connection = await asyncpg.connect(url)
    try:
        course = await connection.fetchrow(
            "SELECT c.id, c.price, p.code FROM courses c JOIN partners p ON p.id = c.provider_id"
            " WHERE c.status = 'APPROVED' AND p.status = 'ACTIVE' ORDER BY c.id LIMIT 1"
        )
        platform = await connection.fetchval("SELECT id FROM partners WHERE code = 'DP-001'")
        now = datetime.now(UTC)
        schedule = await connection.fetchval(
            "INSERT INTO schedules (code, course_id, starts_at, ends_at, quota, remaining)"
            " VALUES ($1, $2, $3, $4, 1000000, 1000000) RETURNING id",
            f"SCH-B-{uuid.uuid4().hex[:8]}",
            course["id"],
            now - timedelta(days=2),
            now + timedelta(days=20),
        )
        participants = await connection.fetch(
            "SELECT id FROM participants ORDER BY id LIMIT $1", count
        )
        codes = [f"BENCH{n:07d}" for n in range(count)]
        await connection.executemany(
            "WITH p AS (INSERT INTO purchases (platform_id, participant_id, course_id,"
            " schedule_id, platform_user_id, invoice_code, amount, status, transaction_code,"
            " redeem_code, otp_attempts, authorized_at, redeemed_at)"
            " VALUES ($1, $2, $3, $4, $5, $5, $6, 'SUCCESS', $5, $5, 1, $7, $7) RETURNING id)"
            " INSERT INTO attendances (purchase_id, sequence, score, attended_at)"
            " SELECT id, 1, NULL, $7 FROM p UNION ALL SELECT id, 999, 85, $7 FROM p",
            [
                (
                    platform,
                    row["id"],
                    course["id"],
                    schedule,
                    code,
                    course["price"],
                    now - timedelta(days=1),
                )
                for row, code in zip(participants, codes, strict=False)
            ],
        )
        return course["code"], codes[: len(participants)]
    finally:
        await connection.close()


class _StatementClock:
    """Wall time of each SQL statement the worker sends, summed by its first words."""

    def __init__(self, database: Database) -> None:
        self.totals: dict[str, list[float]] = {}
        engine = database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        elapsed = time.perf_counter() - conn.info.pop("bench_started")
        name = " ".join(statement.split())[:70]
        count_and_total = self.totals.setdefault(name, [0, 0.0])
        count_and_total[0] += 1
        count_and_total[1] += elapsed

    def report(self, calls: int) -> None:
        print(f"SQL wall time over all {calls} calls (count, ms), largest first:")
        ranked = sorted(self.totals.items(), key=lambda kv: -kv[1][1])
        for name, (count, total) in ranked[:12]:
            print(f"  {count:5d} {total * 1000:8.1f}  {name}")


def _cpu_us_each(work: Callable[[int], object], count: int = 2000, repeats: int = 3) -> str:
    """CPU microseconds per call of ``work``, fastest and slowest of ``repeats`` runs."""
    runs = []
    for _ in range(repeats):
        started = time.process_time()
        for n in range(count):
            work(n)
        runs.append((time.process_time() - started) / count * 1e6)
    return f"{min(runs):.0f}-{max(runs):.0f} us"


def _signing_costs() -> None:
    """What issuing one credential costs this process, alone (no database, no GraphQL)."""
    issuer = Issuer("http://gateway", CredentialKeys(lambda: b"bench"))
    key = SigningKey(kid="bench", key=ECKey.generate_key("P-256", private=True))
    course = CourseFacts(
        "CRS-1", "A course", "About it " * 40, 20, LearningMethod.WEBINAR, "LP-0001", "A provider"
    )
    now = datetime.now(UTC)
    template = CredentialTemplate.of(issuer, course, now, 1)
    assert template is not None
    payload = template.render(
        number="CERT-2026-0000000000", digest="0" * 64, salt="0" * 16, index="1"
    )
    signing_input = key.header_segment + b"." + base64.urlsafe_b64encode(payload)

    def as_submit_completions_does(n: int) -> None:
        assert template is not None
        digest, salt = identity_hash("5000000000000000")
        number = new_certificate_number(2026)
        sign_payload(key, template.render(number=number, digest=digest, salt=salt, index=str(n)))

    def the_long_way(n: int) -> None:
        document = build_credential(
            issuer,
            number=new_certificate_number(2026),
            card_number="5000000000000000",
            course=course,
            issued_at=now,
            status_list=1,
            status_index=n,
        )
        sign(key, document)

    def signature_alone(n: int) -> None:
        key.private.sign(signing_input, ECDSA(SHA256()))

    def through_joserfc(n: int) -> None:
        jws.serialize_compact(_HEADER, payload, key.key, algorithms=["ES256"])

    print(
        f"issuing one credential, CPU ({len(payload)}-byte payload; fastest-slowest of 3 x "
        "2,000):\n"
        f"  ES256 signature alone: {_cpu_us_each(signature_alone)}\n"
        "  number, subject hash, template, signature (submitCompletions): "
        f"{_cpu_us_each(as_submit_completions_does)}\n"
        "  building the document and signing it (legacy credentials): "
        f"{_cpu_us_each(the_long_way)}\n"
        f"  the template's payload signed through joserfc (before): {_cpu_us_each(through_joserfc)}"
    )


@dataclass(frozen=True)
class _Call:
    wall: float
    worker_cpu: float
    database_cpu: float


def _report(calls: list[_Call]) -> None:
    if not calls:
        return
    done = ITEMS * len(calls)
    wall = sum(c.wall for c in calls)
    print(
        "  per call "
        f"{[round(c.wall * 1000) for c in calls]} ms wall, "
        f"{[round(c.worker_cpu * 1000) for c in calls]} ms worker CPU, "
        f"{[round(c.database_cpu * 1000) for c in calls]} ms PostgreSQL CPU\n"
        f"    {done / wall:,.0f} completions/s wall; per completion "
        f"{sum(c.worker_cpu for c in calls) / done * 1e6:.0f} us worker CPU + "
        f"{sum(c.database_cpu for c in calls) / done * 1e6:.0f} us PostgreSQL CPU"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument(
        "--participants", type=int, default=3_000, help="a call of 500 for each 500 (+1)"
    )
    parser.add_argument(
        "--statements", action="store_true", help="wall time per SQL statement (all calls)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the measured calls (slows them)"
    )
    args = parser.parse_args()
    name = f"bench_completions_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(args.database_url)
    await server.execute(f'CREATE DATABASE "{name}"')
    await server.close()
    url = with_database(args.database_url, name)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        await seed_database(url, participants=args.participants)
        provider, codes = await _prepare(url, args.participants)
        database = Database.connect(url, pool_size=4)
        async with database.sessionmaker() as session:
            credentials = await create_client(
                session,
                ORIGIN,
                partner_code=provider,
                scopes=["completion:write"],
                master_key=b"bench-master-key",
                name="bench",
            )
            await session.commit()
        settings = Settings(
            database_url=url, master_key="bench-master-key", public_rate_per_minute=1_000_000
        )
        app = create_app(settings, database=database)
        statements = _StatementClock(database) if args.statements else None
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=120
        ) as http:
            token = (
                await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(credentials.client_id, credentials.client_secret or ""),
                )
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            completed_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
            calls: list[_Call] = []
            numbers: list[str] = []
            profiler = cProfile.Profile() if args.profile else None
            backends = _BackendClock(await asyncpg.connect(url))
            await backends.spent()
            for call in range(len(codes) // ITEMS):
                chunk = codes[call * ITEMS : (call + 1) * ITEMS]
                items = [{"redeemCode": c, "completedAt": completed_at} for c in chunk]
                if profiler is not None and call > 0:
                    profiler.enable()
                started, started_cpu = time.perf_counter(), time.process_time()
                response = await http.post(
                    "/graphql",
                    json={"query": SUBMIT, "variables": {"input": {"items": items}}},
                    # as partners are told to: a retry must not complete anything twice
                    headers={**headers, "Idempotency-Key": f"bench-{uuid.uuid4()}"},
                )
                wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
                calls.append(_Call(wall, cpu, await backends.spent()))
                if profiler is not None:
                    profiler.disable()
                results = response.json()["data"]["submitCompletions"]["results"]
                assert all(r["certificate"] for r in results), results[:2]
                numbers += [r["certificate"]["number"] for r in results]
            print(f"submitCompletions, {len(calls)} calls of {ITEMS} (the first, a warm-up, not")
            print("counted); the worker's CPU includes httpx's client side, PostgreSQL's is its")
            print("client backends' (autovacuum not counted):")
            _report(calls[1:])
            await backends.connection.close()
            if statements is not None:
                statements.report(calls=len(calls))
            if profiler is not None:
                for order in ("tottime", "cumulative"):
                    report = io.StringIO()
                    pstats.Stats(profiler, stream=report).sort_stats(order).print_stats(30)
                    print(report.getvalue())

            async def timed(method: str, path: str, **kwargs: object) -> float:
                samples = []
                for number in numbers[:200]:
                    started = time.perf_counter()
                    response = await http.request(method, path.format(number=number), **kwargs)  # type: ignore[arg-type]
                    samples.append(time.perf_counter() - started)
                    assert response.status_code == 200
                return statistics.median(samples) * 1000

            jwt_ms = await timed(
                "GET", "/certificates/{number}", headers={"accept": "application/vc+jwt"}
            )
            html_ms = await timed("GET", "/certificates/{number}", headers={"accept": "text/html"})
            jwt = (
                await http.get(
                    f"/certificates/{numbers[0]}", headers={"accept": "application/vc+jwt"}
                )
            ).text
            verify_ms = await timed("POST", "/certificates/verify", json={"credential": jwt})
            print(
                f"GET /certificates/{{number}} median: {jwt_ms:.2f} ms (vc+jwt), "
                f"{html_ms:.2f} ms (HTML with QR); POST /certificates/verify median: "
                f"{verify_ms:.2f} ms"
            )
        await database.dispose()

        _signing_costs()
    finally:
        server = await asyncpg.connect(args.database_url)
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()


if __name__ == "__main__":
    asyncio.run(main())
