"""The cost of checking an access token on every request, in process.

Three figures, each the mean over ``--rounds``:

* signature and claims only (ES256 with the cached public key, joserfc);
* the bearer check the GraphQL view runs: header parse, cached key, signature, claims, and
  the one indexed query for revocation and client/partner status (a session per check, as
  in a request);
* a whole ``{ viewer { code } }`` request through the ASGI app (no network), for scale.

    PRAKERJA_DATABASE_URL=postgresql://... PRAKERJA_MASTER_KEY=... \\
        .venv/bin/python -m bench.verify_token --rounds 2000
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from auth.runtime import AuthRuntime
from auth.tokens import live_principal
from bench._setup import bench_client, database_url, retire_client
from core.db.database import Database
from core.settings import Settings
from gateway.app import create_app


async def measure(url: str, rounds: int) -> None:
    settings = Settings(database_url=url)
    credentials = await bench_client(url, settings.resolved_master_key())
    assert credentials.client_secret is not None
    database = Database.connect(url, pool_size=4)
    app = create_app(settings, database=database)
    runtime: AuthRuntime = app.state.auth
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            response = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(credentials.client_id, credentials.client_secret),
            )
            token = response.json()["access_token"]
            async with database.sessionmaker() as session:
                verified = await runtime.verifier.verify_signature(session, token)
            key = await runtime.public_keys.get(session, verified.kid)
            assert key is not None

            started = time.perf_counter()
            for _ in range(rounds):
                runtime.verifier.check(token, key, verified.kid)
            signature_us = (time.perf_counter() - started) / rounds * 1e6

            started = time.perf_counter()
            for _ in range(rounds):
                async with database.sessionmaker() as session:
                    checked = await runtime.verifier.verify_signature(session, token)
                    await live_principal(session, checked)
            full_us = (time.perf_counter() - started) / rounds * 1e6

            headers = {"Authorization": f"Bearer {token}"}
            request_rounds = max(rounds // 4, 1)
            started = time.perf_counter()
            for _ in range(request_rounds):
                answer = await http.post(
                    "/graphql", json={"query": "{ viewer { code } }"}, headers=headers
                )
                assert answer.status_code == 200
            request_us = (time.perf_counter() - started) / request_rounds * 1e6
    finally:
        await database.dispose()
        await retire_client(url, credentials.client_id)
    print(f"signature + claims only:             {signature_us:8.1f} µs")
    print(f"bearer check (+ status query):       {full_us:8.1f} µs")
    print(f"whole {{ viewer {{ code }} }} request:     {request_us:8.1f} µs (ASGI, no network)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(measure(database_url(), args.rounds))


if __name__ == "__main__":
    main()
