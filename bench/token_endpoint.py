"""Tokens per second from POST /oauth/token (client_secret_basic), over real HTTP.

Starts ``prakerja-gateway serve`` (uvicorn, one process) on 127.0.0.1, then runs
``--concurrency`` httpx clients for ``--seconds`` and reports tokens/s and latencies.
Each request costs one scrypt verification (n=2**14, r=8, p=1), which bounds the figure:
see auth/secrets.py for the trade-off.

    PRAKERJA_DATABASE_URL=postgresql://... PRAKERJA_MASTER_KEY=... \\
        .venv/bin/python -m bench.token_endpoint --seconds 10 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time

import httpx

from auth.secrets import hash_secret, verify_secret
from bench._setup import bench_client, database_url, retire_client


async def wait_until_up(base: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the server did not come up")


async def hammer(base: str, auth: tuple[str, str], seconds: float, concurrency: int) -> None:
    latencies: list[float] = []
    failures = 0
    stop = time.monotonic() + seconds

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal failures
        while time.monotonic() < stop:
            started = time.perf_counter()
            response = await http.post(
                f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=auth
            )
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                failures += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        began = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    print(f"tokens issued:   {len(latencies)} in {elapsed:.1f} s ({failures} failures)")
    print(f"throughput:      {len(latencies) / elapsed:.1f} tokens/s (concurrency {concurrency})")
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"latency p50/p99: {statistics.median(latencies) * 1000:.1f} / {p99 * 1000:.1f} ms")


def scrypt_cost(rounds: int = 20) -> float:
    stored = hash_secret("benchmark-secret")
    started = time.perf_counter()
    for _ in range(rounds):
        verify_secret("benchmark-secret", stored)
    return (time.perf_counter() - started) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if args.seconds > 15:
        raise SystemExit("--seconds is capped at 15")
    url = database_url()
    base = f"http://127.0.0.1:{args.port}"
    print(f"scrypt verification alone: {scrypt_cost() * 1000:.1f} ms (one core)")
    credentials = asyncio.run(bench_client(url))
    assert credentials.client_secret is not None
    env = {
        **os.environ,
        "PRAKERJA_PORT": str(args.port),
        "PRAKERJA_PUBLIC_BASE_URL": base,
        "PRAKERJA_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve"], env=env)
    try:
        asyncio.run(wait_until_up(base))
        asyncio.run(
            hammer(
                base,
                (credentials.client_id, credentials.client_secret),
                args.seconds,
                args.concurrency,
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        asyncio.run(retire_client(url, credentials.client_id))


if __name__ == "__main__":
    main()
