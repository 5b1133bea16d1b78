"""submitCompletions in 500-item calls, one worker, end to end through the ASGI app.

    .venv/bin/python -m bench.completions \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres [--calls 6]

A scratch database (migrated, seeded with 3,000 participants, dropped at the end) gets
``calls`` x 500 purchases of one provider's course, redeemed and post-tested (written
directly in SQL: this measures completions, not purchases). One app (the same one
``prakerja-gateway serve`` runs, in this process: one worker) answers ``submitCompletions``
over httpx's ASGI transport, one call after another. Reports completions/s (first call,
which also makes the credential key, excluded), the signing cost per certificate (the
same ES256 signing, timed alone), and the time of ``GET /certificates/{number}`` (JWT and
HTML) and ``POST /certificates/verify``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from auth.admin import create_client
from bench._setup import ORIGIN
from core.db import migrate
from core.db.database import Database
from core.db.urls import with_database
from core.enums import LearningMethod
from core.settings import Settings
from gateway.app import create_app
from gateway.seed import seed_database
from resolvers.certificates.credentials import CourseFacts, Issuer, build_credential, sign
from resolvers.certificates.keys import CredentialKeys, SigningKey

SUBMIT = """mutation S($input: SubmitCompletionsInput!) { submitCompletions(input: $input) {
  results { certificate { number } errors { code } } } }"""
ITEMS = 500


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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--calls", type=int, default=6)
    args = parser.parse_args()
    name = f"bench_completions_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(args.database_url)
    await server.execute(f'CREATE DATABASE "{name}"')
    await server.close()
    url = with_database(args.database_url, name)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        await seed_database(url, participants=3_000)
        provider, codes = await _prepare(url, args.calls * ITEMS)
        database = Database.connect(url, pool_size=4)
        async with database.sessionmaker() as session:
            credentials = await create_client(
                session, ORIGIN, partner_code=provider, scopes=["completion:write"], name="bench"
            )
            await session.commit()
        settings = Settings(
            database_url=url, master_key="bench-master-key", public_rate_per_minute=1_000_000
        )
        app = create_app(settings, database=database)
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
            durations, numbers = [], []
            for call in range(len(codes) // ITEMS):
                chunk = codes[call * ITEMS : (call + 1) * ITEMS]
                items = [{"redeemCode": c, "completedAt": completed_at} for c in chunk]
                started = time.perf_counter()
                response = await http.post(
                    "/graphql",
                    json={"query": SUBMIT, "variables": {"input": {"items": items}}},
                    headers=headers,
                )
                durations.append(time.perf_counter() - started)
                results = response.json()["data"]["submitCompletions"]["results"]
                assert all(r["certificate"] for r in results), results[:2]
                numbers += [r["certificate"]["number"] for r in results]
            measured = durations[1:] or durations
            rate = ITEMS * len(measured) / sum(measured)
            print(
                f"submitCompletions: {len(durations)} calls of {ITEMS}; per call "
                f"{[round(d * 1000) for d in durations]} ms; {rate:,.0f} completions/s "
                "(first call excluded)"
            )

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

        issuer = Issuer("http://gateway", CredentialKeys(lambda: b"bench"))
        from joserfc.jwk import ECKey

        key = SigningKey(kid="bench", key=ECKey.generate_key("P-256", private=True))
        course = CourseFacts(
            "CRS-1", "A course", "About it", 20, LearningMethod.WEBINAR, "LP-0001", "A provider"
        )
        started = time.perf_counter()
        for n in range(2000):
            document = build_credential(
                issuer,
                number=f"CERT-2026-{n:010d}",
                card_number="5000000000000000",
                course=course,
                issued_at=datetime.now(UTC),
                status_list=1,
                status_index=n,
            )
            sign(key, document)
        per = (time.perf_counter() - started) / 2000 * 1e6
        print(f"building + ES256 signing one credential: {per:.0f} us")
    finally:
        server = await asyncpg.connect(args.database_url)
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()


if __name__ == "__main__":
    asyncio.run(main())
