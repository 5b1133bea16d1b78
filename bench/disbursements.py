"""Benchmark of a 100,000-item disbursement batch: GraphQL pages, JSONL export, results.

One gateway worker process (``prakerja-gateway serve``) against a database of its own
(``prakerja_bench_disb``, made, seeded small and dropped again). The batch is built with
set-based SQL (larger than the business limit of 10,000, as the issue allows). Then, as
payment partner PP-004 with its own token:

1. every item through GraphQL pages of 1,000 (target: at most 3 s in total);
2. the same items through ``GET /disbursements/batches/{code}/items.jsonl`` (target: at most
   0.5 s), sampling the worker's resident memory during it;
3. acknowledge, then results for every item in calls of 1,000 (target: at most 30 s).

    .venv/bin/python bench/disbursements.py [--items 100000] [--server-url URL] [--keep]
    .venv/bin/python bench/disbursements.py --reuse --pages-only --repeat 5   # pages only

The pages pass prints the wall time and the worker's CPU time (user + system, read from
``/proc`` before and after) per page: on a shared machine the CPU figure moves far less
than the wall time, so compare variants by it. ``--reuse`` takes the database a ``--keep``
run left behind; ``--repeat`` runs the pages pass that many times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from datetime import UTC, datetime

import asyncpg
import httpx
import psutil

from auth.admin import create_client
from auth.audit import Origin
from bench.catalog_page import MASTER_KEY, free_port, start_worker
from core.db import migrate
from core.db.database import Database
from core.db.urls import with_database
from core.enums import BatchStatus, DisbursementItemStatus, InstallmentStatus
from gateway.seed import seed_database
from tests.support.installment_pool import add_due_installments

DATABASE = "prakerja_bench_disb"
PARTNER = "PP-004"
PAGE = """query Page($code: String!, $after: String) {
  disbursementBatch(code: $code) {
    items(first: 1000, after: $after) {
      edges { node { endToEndId amount beneficiaryName accountNumber status } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
ACK = """mutation($c: String!, $n: Int!, $s: Rupiah!) {
  acknowledgeBatch(code: $c, itemCount: $n, controlSum: $s) { status } }"""
REPORT = """mutation($c: String!, $r: [DisbursementResultInput!]!) {
  reportDisbursementResults(code: $c, results: $r) { batch { status } results { outcome } } }"""


async def build(server_url: str, items: int, reuse: bool) -> tuple[str, str, str, str]:
    url = with_database(server_url, DATABASE)
    connection = await asyncpg.connect(server_url)
    try:
        exists = await connection.fetchval(
            "SELECT true FROM pg_database WHERE datname = $1", DATABASE
        )
        if not (reuse and exists):
            await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()
    if not (reuse and exists):
        await asyncio.to_thread(migrate.upgrade, url)
        await seed_database(url, participants=500)
        await _fill(url, items)
    database = Database.connect(url, pool_size=1)
    try:
        async with database.sessionmaker() as session:
            issued = await create_client(
                session,
                Origin(operator="bench"),
                partner_code=PARTNER,
                scopes=["disbursement:read", "disbursement:write"],
                master_key=MASTER_KEY.encode(),
                name="disbursement benchmark",
            )
            await session.commit()
    finally:
        await database.dispose()
    assert issued.client_secret is not None
    return url, issued.client_id, issued.client_secret, "BENCH-100K"


async def _fill(url: str, items: int) -> None:
    database = Database.connect(url, pool_size=1)
    started = time.perf_counter()
    try:
        async with database.sessionmaker() as session:
            await add_due_installments(session, PARTNER, items)
            await session.commit()
        connection = await asyncpg.connect(url)
        try:
            async with connection.transaction():
                batch_id = await connection.fetchval(
                    "INSERT INTO disbursement_batches (code, payment_partner_id, item_count,"
                    " control_sum, status) SELECT 'BENCH-100K', id, 0, 0, $2 FROM partners"
                    " WHERE code = $1 RETURNING id",
                    PARTNER,
                    BatchStatus.READY.value,
                )
                await connection.execute(
                    "INSERT INTO disbursement_items (batch_id, installment_id, payment_account_id,"
                    " end_to_end_id, amount, status)"
                    " SELECT $1, i.id, a.id, 'BENCH' || lpad(i.id::text, 14, '0'), i.amount, $2"
                    " FROM incentive_installments i JOIN payment_accounts a"
                    " ON a.participant_id = i.participant_id AND a.is_primary"
                    " JOIN partners p ON p.id = a.payment_partner_id AND p.code = $3"
                    " WHERE i.status = $4",
                    batch_id,
                    DisbursementItemStatus.PENDING.value,
                    PARTNER,
                    InstallmentStatus.DUE.value,
                )
                await connection.execute(
                    "UPDATE incentive_installments SET status = $2 WHERE id IN"
                    " (SELECT installment_id FROM disbursement_items WHERE batch_id = $1)",
                    batch_id,
                    InstallmentStatus.IN_BATCH.value,
                )
                await connection.execute(
                    "UPDATE disbursement_batches b SET (item_count, control_sum) ="
                    " (SELECT count(*), sum(amount) FROM disbursement_items WHERE batch_id = b.id)"
                    " WHERE id = $1",
                    batch_id,
                )
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
        print(f"built a batch of {items:,} items in {time.perf_counter() - started:.1f} s")
    finally:
        await database.dispose()


def _token(base: str, client_id: str, secret: str) -> str:
    response = httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "disbursement:read disbursement:write"},
        auth=(client_id, secret),
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def _cpu_s(worker: psutil.Process) -> float:
    times = worker.cpu_times()
    return float(times.user + times.system)


def pages(http: httpx.Client, worker: psutil.Process, code: str) -> list[str]:
    """Every item through GraphQL pages of 1,000; prints wall and worker CPU time."""
    cpu = _cpu_s(worker)
    started = time.perf_counter()
    after, ids, count = None, [], 0
    while True:
        body = http.post(
            "/graphql", json={"query": PAGE, "variables": {"code": code, "after": after}}
        ).json()
        connection = body["data"]["disbursementBatch"]["items"]
        ids += [edge["node"]["endToEndId"] for edge in connection["edges"]]
        count += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    graphql_s = time.perf_counter() - started
    cpu_ms = (_cpu_s(worker) - cpu) * 1000
    print(
        f"GraphQL pages of 1,000: {len(ids):,} items in {graphql_s:.2f} s (target 3 s); "
        f"{count} pages, {graphql_s * 1000 / count:.1f} ms wall and {cpu_ms / count:.1f} ms "
        f"worker CPU per page"
    )
    return ids


def run(
    base: str, worker: psutil.Process, token: str, code: str, *, repeat: int, pages_only: bool
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        header = http.post(
            "/graphql",
            json={"query": "query($c: String!) { disbursementBatch(code: $c) "
                  "{ itemCount controlSum } }", "variables": {"c": code}},
        ).json()["data"]["disbursementBatch"]  # fmt: skip
        http.post("/graphql", json={"query": PAGE, "variables": {"code": code}})  # warm-up
        for _ in range(repeat):
            ids = pages(http, worker, code)
        fetched = len(ids)
        assert fetched == header["itemCount"], (fetched, header)
        if pages_only:
            return

        rss_before = worker.memory_info().rss
        peak = [rss_before]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], worker.memory_info().rss)
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        lines = 0
        with http.stream("GET", f"/disbursements/batches/{code}/items.jsonl") as response:
            for chunk in response.iter_raw():
                lines += chunk.count(b"\n")
        export_s = time.perf_counter() - started
        done.set()
        sampler.join()
        assert lines == fetched
        print(
            f"JSONL export: {lines:,} lines in {export_s:.2f} s (target 0.5 s); worker RSS "
            f"{rss_before / 2**20:.0f} MiB before, peak {peak[0] / 2**20:.0f} MiB during"
        )

        started = time.perf_counter()
        acked = http.post(
            "/graphql",
            json={
                "query": ACK,
                "variables": {"c": code, "n": header["itemCount"], "s": header["controlSum"]},
            },
        ).json()
        assert acked["data"]["acknowledgeBatch"]["status"] == "ACKNOWLEDGED", acked
        print(f"acknowledge (all items SENT): {time.perf_counter() - started:.2f} s")

        now = datetime.now(UTC).isoformat()
        started = time.perf_counter()
        status = None
        for start in range(0, len(ids), 1000):
            results = [
                {"endToEndId": e2e, "status": "PAID", "partnerReference": f"T{e2e}"}
                | {"reportedAt": now}
                for e2e in ids[start : start + 1000]
            ]
            variables = {"c": code, "r": results}
            body = http.post("/graphql", json={"query": REPORT, "variables": variables}).json()
            payload = body["data"]["reportDisbursementResults"]
            assert {r["outcome"] for r in payload["results"]} == {"APPLIED"}, body
            status = payload["batch"]["status"]
        report_s = time.perf_counter() - started
        print(
            f"results: {len(ids):,} in calls of 1,000 in {report_s:.1f} s (target 30 s); "
            f"batch {status}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "PRAKERJA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="take a kept database as it is")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the pages pass")
    parser.add_argument(
        "--pages-only", action="store_true", help="no export, acknowledgement or results"
    )
    args = parser.parse_args()
    url, client_id, secret, code = asyncio.run(build(args.server_url, args.items, args.reuse))
    port = free_port()
    worker = start_worker(url, port, cache=False)
    try:
        base = f"http://127.0.0.1:{port}"
        run(
            base,
            psutil.Process(worker.pid),
            _token(base, client_id, secret),
            code,
            repeat=args.repeat,
            pages_only=args.pages_only,
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        if not (args.keep or args.reuse):
            asyncio.run(_drop(args.server_url))


async def _drop(server_url: str) -> None:
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
