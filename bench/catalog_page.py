"""Benchmark of the catalog's standard page and a search page, cache off and on.

One gateway worker process (``prakerja-gateway serve``: one uvicorn process) against the
demo data, 16 concurrent connections for a fixed time from ``wrk`` (loopback only), a
valid platform token. Prints requests/s, p50/p99 latency and the worker's memory after
each run. Not part of CI; see bench/README.md.

    .venv/bin/python bench/catalog_page.py [--duration 10] [--connections 16] [--reseed]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil

from auth.admin import create_client
from auth.audit import Origin
from bench._setup import peak_rss_mb
from core.db import migrate
from core.db.database import Database
from core.db.urls import with_database
from gateway.seed import seed_database

ROOT = Path(__file__).resolve().parent.parent
MASTER_KEY = "demo-master-key"  # the seed's default: its signing keys open with it
DATABASE = "prakerja_bench"

STANDARD_PAGE = """query CatalogPage {
  courses(first: 20) {
    edges { node {
      code title price learningMethod
      provider { name }
      schedules(first: 3, withSeatsLeft: true) { code startsAt seatsLeft }
    } }
    pageInfo { endCursor hasNextPage }
  }
}"""

SEARCH_PAGE = """query SearchPage {
  courses(first: 20, filter: {search: "pemograman piton", learningMethods: [WEBINAR, SELF_PACED],
          maxPrice: "1000000", withSeatsLeft: true}) {
    edges { node {
      code title price learningMethod
      provider { name }
      schedules(first: 3, withSeatsLeft: true) { code startsAt seatsLeft }
    } }
    pageInfo { endCursor hasNextPage }
  }
}"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""


@dataclass
class Result:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    rss_mb: float
    non_2xx: int
    cpu_ms: float  # the worker's CPU time per request: what a shared machine disturbs least


async def prepare(
    server_url: str, reseed: bool, participants: int, database: str = DATABASE
) -> str:
    url = with_database(server_url, database)
    connection = await asyncpg.connect(server_url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if exists and reseed:
            await connection.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            exists = None
        if not exists:
            await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
    if not exists:
        await asyncio.to_thread(migrate.upgrade, url)
        await seed_database(url, participants=participants)
    else:
        await asyncio.to_thread(migrate.upgrade, url)
    return url


async def platform_client(url: str) -> tuple[str, str]:
    database = Database.connect(url, pool_size=1)
    try:
        async with database.sessionmaker() as session:
            issued = await create_client(
                session,
                Origin(operator="bench"),
                partner_code="DP-001",
                scopes=["catalog:read"],
                master_key=MASTER_KEY.encode(),
                name="catalog benchmark",
            )
            await session.commit()
    finally:
        await database.dispose()
    assert issued.client_secret is not None
    return issued.client_id, issued.client_secret


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_worker(url: str, port: int, cache: bool) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PRAKERJA_DATABASE_URL": url,
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_MASTER_KEY": MASTER_KEY,
        "PRAKERJA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PRAKERJA_CATALOG_CACHE": "true" if cache else "false",
        "PRAKERJA_LOG_LEVEL": "WARNING",
        # Spent and refilled per request as always, but large enough that thousands of
        # requests a second from one client measure the page, not 429s.
        "PRAKERJA_RATE_LIMIT_POINTS": "10000000",
        "PRAKERJA_RATE_LIMIT_POINTS_PER_SECOND": "1000000",
    }
    command = [str(ROOT / ".venv" / "bin" / "prakerja-gateway"), "serve"]
    worker = subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603
    deadline = time.monotonic() + 90  # a loaded machine starts slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return worker
        except httpx.HTTPError:
            time.sleep(0.2)
    worker.kill()
    raise SystemExit("the worker did not start")


def token(port: int, client_id: str, secret: str) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "catalog:read"},
        auth=(client_id, secret),
    )
    response.raise_for_status()
    access: str = response.json()["access_token"]
    return access


def check_answer(port: int, access: str, query: str) -> int:
    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {access}"},
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    edges: int = len(body["data"]["courses"]["edges"])
    for _ in range(200):  # warm-up: prepared statements, plans, the cache
        httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {access}"},
        )
    return edges


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    port: int, access: str, query: str, duration: int, connections: int
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        body = json.dumps(json.dumps({"query": query}))
        script.write(WRK_SCRIPT.format(body=body, token=access))
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-s",
        script.name,
        f"http://127.0.0.1:{port}/graphql",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.MULTILINE))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = re.search(r"(\d+) requests in", output)

    def parse(text: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
        return _ms(number, unit)

    return {
        "rps": rps,
        "p50": parse(latency["50"]),
        "p99": parse(latency["99"]),
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
        "requests": float(requests.group(1)) if requests else 0.0,
    }


def scenario(
    url: str, client: tuple[str, str], cache: bool, duration: int, connections: int
) -> list[Result]:
    port = free_port()
    worker = start_worker(url, port, cache)
    results = []
    try:
        access = token(port, *client)
        for name, query in (("standard page", STANDARD_PAGE), ("search page", SEARCH_PAGE)):
            edges = check_answer(port, access, query)
            process = psutil.Process(worker.pid)
            before = process.cpu_times()
            figures = run_wrk(port, access, query, duration, connections)
            after = process.cpu_times()
            cpu_s = (after.user - before.user) + (after.system - before.system)
            rss = peak_rss_mb(worker.pid)  # the worker's peak so far (VmHWM)
            label = f"{name} ({edges} courses), cache {'on' if cache else 'off'}"
            results.append(
                Result(
                    label,
                    figures["rps"],
                    figures["p50"],
                    figures["p99"],
                    rss,
                    int(figures["non_2xx"]),
                    1000 * cpu_s / max(figures["requests"], 1.0),
                )
            )
    finally:
        worker.terminate()
        worker.wait(60)  # a loaded machine drains slowly
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "PRAKERJA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL server's maintenance database; the bench makes its own database",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (>= 10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--participants", type=int, default=10_000, help="demo data size")
    parser.add_argument("--reseed", action="store_true", help="rebuild the bench database")
    parser.add_argument("--database", default=DATABASE, help="the bench database's name")
    parser.add_argument("--only", choices=["off", "on"], help="run one cache setting only")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    url = asyncio.run(prepare(args.server_url, args.reseed, args.participants, args.database))
    client = asyncio.run(platform_client(url))
    results: list[Result] = []
    for cache in (False, True):
        if args.only and args.only != ("on" if cache else "off"):
            continue
        results += scenario(url, client, cache, args.duration, args.connections)
    print(
        f"\n{'run':48} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'peak RSS':>8} {'non-2xx':>8}"
        f" {'CPU ms/req':>10}"
    )
    for result in results:
        print(
            f"{result.name:48} {result.requests_per_second:9.0f} {result.p50_ms:8.2f} "
            f"{result.p99_ms:8.2f} {result.rss_mb:8.1f} {result.non_2xx:8d} {result.cpu_ms:10.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
