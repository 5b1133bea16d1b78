"""Catalog reads and purchases through HAProxy with 1 and with 3 gateway replicas.

    .venv/bin/python -m bench.scaleout [--seconds 8] [--purchases 120] [--concurrency 12]

Brings up the loopback cluster (deploy/local/cluster.py: primary, streaming replica,
PgBouncer in transaction mode, 3 gateways, HAProxy), then for 1 replica (gateways 1 and 2
stopped with SIGTERM: HAProxy drains them) and for 3:

- reads: ``--concurrency`` clients loop the catalog's first page for ``--seconds``
  (each process answers from its own response cache after its first miss);
- purchases: ``--purchases`` START + OTP + AUTHORIZE, each read back by its buyer at once
  (read-your-writes: primary or caught-up replica).

Reported: requests/s, p50/p99 in ms, and the gateways' CPU time per request (user + system
of every gateway process, read around the run): the figure that shows whether a request
costs more when there are more replicas. On a 2-core machine shared with PostgreSQL,
PgBouncer, HAProxy and this load generator, throughput does not scale with replicas; CPU
per request is what the capacity model (docs/capacity.md) uses. Loopback only; everything
started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil

from deploy.local.cluster import Cluster
from tests.support.scaleout import Shop, Tally, buy, open_shop, token_for

CATALOG = "{ courses(first: 20) { edges { node { code title price provider { name } } } } }"


@dataclass
class Run:
    label: str
    requests: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float
    rss_mib: float
    idle_cpu_per_second: float = 0.0
    primary_cpu_seconds: float = 0.0

    def primary_ms(self) -> float:
        return self.primary_cpu_seconds / max(self.requests, 1) * 1000

    def net_cpu_ms(self) -> float:
        """CPU per request less what the processes burn idle (listener, replica monitor)."""
        net = self.cpu_seconds - self.idle_cpu_per_second * self.seconds
        return net / max(self.requests, 1) * 1000

    def line(self) -> str:
        ordered = sorted(self.latencies) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"{self.label:34} {self.requests:6} req  {self.requests / self.seconds:7.1f}/s  "
            f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  "
            f"CPU/request {self.cpu_seconds / max(self.requests, 1) * 1000:6.2f} ms "
            f"(net of idle {self.net_cpu_ms():6.2f})  "
            f"max RSS {self.rss_mib:5.0f} MiB  "
            f"primary PostgreSQL CPU/request {self.primary_ms():6.2f} ms"
        )


def gateway_processes(cluster: Cluster, replicas: int) -> list[psutil.Process]:
    return [psutil.Process(cluster.pids[f"gateway{index}"]) for index in range(replicas)]


def cpu(processes: list[psutil.Process]) -> float:
    return sum(p.cpu_times().user + p.cpu_times().system for p in processes)


def postgres_cpu(cluster: Cluster) -> dict[int, float]:
    """CPU seconds of the primary's postmaster and every backend (PgBouncer keeps them)."""
    postmaster = psutil.Process(cluster.pids["primary"])
    seen = {}
    for process in [postmaster, *postmaster.children()]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seen[process.pid] = times.user + times.system
    return seen


def postgres_cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


async def reads(cluster: Cluster, shop: Shop, replicas: int, seconds: float, workers: int) -> Run:
    processes = gateway_processes(cluster, replicas)
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=cluster.lb_url, timeout=30) as http:
        tokens = [await token_for(http, client) for client in shop.clients[:workers]]
        for token in tokens:  # every process fills its cache before the measured run
            await http.post("/graphql", json={"query": CATALOG}, headers=_bearer(token))
        before, started = cpu(processes), time.perf_counter()
        pg_before = postgres_cpu(cluster)
        stop = started + seconds

        async def loop(token: str) -> None:
            while time.perf_counter() < stop:
                sent = time.perf_counter()
                answer = await http.post(
                    "/graphql", json={"query": CATALOG}, headers=_bearer(token)
                )
                assert answer.status_code == 200, answer.text
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(loop(token) for token in tokens))
        elapsed = time.perf_counter() - started
        pg_seconds = postgres_cpu_between(pg_before, postgres_cpu(cluster))
    return Run(
        f"catalog reads, {replicas} replica(s)",
        len(latencies),
        elapsed,
        latencies,
        cpu(processes) - before,
        max(p.memory_info().rss for p in processes) / 2**20,
        primary_cpu_seconds=pg_seconds,
    )


async def purchases(cluster: Cluster, shop: Shop, replicas: int, count: int, workers: int) -> Run:
    processes = gateway_processes(cluster, replicas)
    latencies: list[float] = []
    tally = Tally()
    outbox = await asyncpg.create_pool(cluster.primary_url, min_size=1, max_size=4)
    try:
        async with httpx.AsyncClient(base_url=cluster.lb_url, timeout=30) as http:
            tokens = [await token_for(http, client) for client in shop.clients[:workers]]
            cards = [shop.cards.pop() for _ in range(count)]
            before, started = cpu(processes), time.perf_counter()
            pg_before = postgres_cpu(cluster)

            async def loop(number: int) -> None:
                client = shop.clients[number]
                offers = shop.offers[client.platform]
                while cards:
                    card = cards.pop()
                    sent = time.perf_counter()
                    offer = offers[hash(card) % len(offers)]
                    await buy(http, outbox, tokens[number], offer, card, tally)
                    latencies.append(time.perf_counter() - sent)

            await asyncio.gather(*(loop(n) for n in range(len(tokens))))
            elapsed = time.perf_counter() - started
            pg_seconds = postgres_cpu_between(pg_before, postgres_cpu(cluster))
    finally:
        await outbox.close()
    assert tally.bought == count and not tally.retried, tally
    # Each purchase is three gateway requests: START, AUTHORIZE and the read-back.
    return Run(
        f"purchases (x3 requests), {replicas} replica(s)",
        count,
        elapsed,
        latencies,
        cpu(processes) - before,
        max(p.memory_info().rss for p in processes) / 2**20,
        primary_cpu_seconds=pg_seconds,
    )


async def idle_cpu(cluster: Cluster, replicas: int, seconds: float = 3.0) -> float:
    """CPU seconds per second all serving gateways spend with no request at all."""
    processes = gateway_processes(cluster, replicas)
    before = cpu(processes)
    await asyncio.sleep(seconds)
    return (cpu(processes) - before) / seconds


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def measure(cluster: Cluster, args: argparse.Namespace) -> list[Run]:
    shop = await open_shop(cluster.primary_url, args.concurrency, cluster.master_key)
    runs = []
    for index in (1, 2):  # one replica: the others drained and stopped
        cluster.signal_gateway(index, signal.SIGTERM)
        cluster.wait_gateway_exit(index)
    await asyncio.sleep(1)
    idle = await idle_cpu(cluster, 1)
    runs.append(await reads(cluster, shop, 1, args.seconds, args.concurrency))
    runs.append(await purchases(cluster, shop, 1, args.purchases, args.concurrency))
    for run in runs:
        run.idle_cpu_per_second = idle
    for index in (1, 2):
        cluster.start_gateway(index, wait=True)
    await asyncio.sleep(2)  # HAProxy: two good checks
    idle = await idle_cpu(cluster, 3)
    runs.append(await reads(cluster, shop, 3, args.seconds, args.concurrency))
    runs.append(await purchases(cluster, shop, 3, args.purchases, args.concurrency))
    for run in runs[2:]:
        run.idle_cpu_per_second = idle
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--purchases", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--participants", type=int, default=2000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="prakerja-bench-scaleout-"))
    cluster = Cluster(base, gateways=3, participants=args.participants)
    try:
        cluster.up()
        runs = asyncio.run(measure(cluster, args))
        for run in runs:
            print(run.line())
        print(f"idle CPU per gateway process: {runs[0].idle_cpu_per_second * 1000:.1f} ms/s")
    finally:
        cluster.down()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
