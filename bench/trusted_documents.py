"""CPU per request of a call by document id against the same document sent ad hoc.

Starts one ``prakerja-gateway serve`` worker (catalog response cache off, so every request
executes) on a loopback port against ``--database-url`` (migrated and seeded already, e.g.
``prakerja-gateway seed --participants 200``), registers documents for a bench client of
DP-001, and sends ``--requests`` sequential requests per mode:

* ``adhoc``: ``{"query": ...}``;
* ``documentId``: ``{"documentId": "sha256:..."}``;
* ``apq``: Apollo's hash alone, ``extensions.persistedQuery``.

Twice: with one document repeated (the process's parse, validation and cost caches are
warm for the ad-hoc form too), and rotating through ``--distinct`` documents (more than the
256 the caches hold, so each ad-hoc request is parsed, validated and costed again, while a
registered one is validated and costed never and only parsed).

Figures per request: the gateway worker's CPU (user + system, psutil, over the run) and the
CPU of the PostgreSQL backends serving this database; wall time beside them. Compare by CPU.

    .venv/bin/python -m bench.trusted_documents \\
        --database-url postgresql://postgres@127.0.0.1:5432/prakerja_trusted_bench --port 19210
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench._setup import bench_client, retire_client
from core.db.database import Database
from resolvers.documents import register_document
from schema.root import schema
from schema.trusted import analyze

# A partner's catalog page: 20 courses with their provider and first schedules.
PAGE = """query Page%s {
  courses(first: 20) {
    edges { node { code title price learningMethod provider { name }
      schedules(first: 3) { code startsAt seatsLeft } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
MASTER_KEY = "bench-master-key"


def _postgres_backends(database: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if cmdline.startswith("postgres:") and f" {database} " in cmdline:
            found.append(process)
    return found


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def _run(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    payloads: Callable[[int], dict[str, Any]],
    requests: int,
    worker: psutil.Process,
    database: str,
) -> tuple[float, float, float]:
    backends = _postgres_backends(database)
    worker_before, pg_before = _cpu([worker]), _cpu(backends)
    started = time.perf_counter()
    for number in range(requests):
        answer = await http.post("/graphql", json=payloads(number), headers=headers)
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    wall = time.perf_counter() - started
    return (
        (_cpu([worker]) - worker_before) / requests * 1e6,
        (_cpu(backends) - pg_before) / requests * 1e6,
        wall / requests * 1e6,
    )


async def main(url: str, port: int, requests: int, distinct: int) -> None:
    credentials = await bench_client(url)
    assert credentials.client_secret is not None
    texts = [PAGE % ""] + [PAGE % f"V{number}" for number in range(distinct)]
    database = Database.connect(url, pool_size=1)
    ids: dict[str, str] = {}
    try:
        async with database.sessionmaker() as session:
            for text in texts:
                analysed = analyze(schema._schema, text)
                await register_document(
                    session, analysed, client_id=credentials.client_id, operator="bench"
                )
                ids[text] = analysed.sha256
            await session.commit()
    finally:
        await database.dispose()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRAKERJA_")},
        "PRAKERJA_DATABASE_URL": url,
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_MASTER_KEY": MASTER_KEY,
        "PRAKERJA_CATALOG_CACHE": "false",
        "PRAKERJA_LOG_LEVEL": "WARNING",
        "PRAKERJA_RATE_LIMIT_POINTS": "10000000",
        "PRAKERJA_RATE_LIMIT_POINTS_PER_SECOND": "1000000",
    }
    server = subprocess.Popen(  # noqa: ASYNC220, S603 (our own command, started once)
        [str(Path(sys.executable).parent / "prakerja-gateway"), "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    database_name = url.rsplit("/", 1)[1]
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for _ in range(3000):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    raise SystemExit("the gateway did not start (its log is above)")
                await asyncio.sleep(0.1)
            token = (
                await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(credentials.client_id, credentials.client_secret),
                )
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            worker = psutil.Process(server.pid)
            for label, pool in (("one document", texts[:1]), (f"{distinct} documents", texts[1:])):

                def adhoc(n: int, pool: list[str] = pool) -> dict[str, Any]:
                    return {"query": pool[n % len(pool)]}

                def by_id(n: int, pool: list[str] = pool) -> dict[str, Any]:
                    return {"documentId": "sha256:" + ids[pool[n % len(pool)]]}

                def apq(n: int, pool: list[str] = pool) -> dict[str, Any]:
                    digest = ids[pool[n % len(pool)]]
                    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}

                modes = {"adhoc": adhoc, "documentId": by_id, "apq": apq}
                # Warm-up: every document read once in each form (the registered ones into
                # the process's memory), then the modes alternate twice.
                for payloads in modes.values():
                    await _run(http, headers, payloads, len(pool), worker, database_name)
                results: dict[str, list[tuple[float, float, float]]] = {m: [] for m in modes}
                for _ in range(2):
                    for mode, payloads in modes.items():
                        results[mode].append(
                            await _run(http, headers, payloads, requests, worker, database_name)
                        )
                print(f"{label}: {requests} requests per run, 2 runs per mode, sequential")
                for mode, runs in results.items():
                    figures = "; ".join(
                        f"gateway {g:6.0f} µs, postgres {p:5.0f} µs, wall {w:6.0f} µs"
                        for g, p, w in runs
                    )
                    print(f"  {mode:10} {figures}")
    finally:
        server.terminate()
        server.wait(30)
        await retire_client(url, credentials.client_id)
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, default=19210)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--distinct", type=int, default=600)
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.database_url, arguments.port, arguments.requests, arguments.distinct)
    )
