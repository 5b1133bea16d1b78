"""Tokens per second from POST /oauth/token (client_secret_basic), over real HTTP.

Makes a throw-away client of DP-001 (its secret stored in the keyed form, auth/secrets.py;
``--legacy`` stores it as the old scrypt hash instead, which the first token request
rewrites), starts ONE gateway worker (``prakerja-gateway serve``: one uvicorn process) on a
free loopback port, checks one answer, warms up, then drives ``wrk`` (one thread,
``--connections`` keep-alive connections, a Lua script posting the form with HTTP Basic
credentials) for ``--seconds``. Around the measured run it reads the CPU time of the
server, of the database's backends (pg_stat_activity of this database, sampled during the
run) and of wrk itself, and the server's peak resident memory (VmHWM). It prints
tokens/s, p50/p99, non-200 answers, CPU per token of each, and the load average.

    PRAKERJA_DATABASE_URL=postgresql://... PRAKERJA_MASTER_KEY=... \\
        .venv/bin/python -m bench.token_endpoint --seconds 10 --connections 16

``--py-spy FILE`` samples the server through the measured run (collapsed stacks; on a busy
machine these count time spent waiting for a core too); ``--cprofile FILE`` profiles its CPU
time instead (bench/cpu_profiled_serve.py). The worker's pool holds one connection per wrk
connection (``PRAKERJA_DB_POOL_SIZE``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import asyncpg
import httpx
import psutil

from auth.secrets import SecretHasher, scrypt_hash
from bench._setup import bench_client, database_url, peak_rss_mb, retire_client
from bench.catalog_page import free_port
from core.settings import Settings

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic {credentials}"
"""


def hash_costs(master_key: bytes, rounds: int = 2000) -> tuple[float, float]:
    """One check's CPU in microseconds: the keyed hash, and the legacy scrypt (20 rounds)."""
    hasher = SecretHasher(master_key)
    stored = hasher.hash("benchmark-secret")
    started = time.process_time()
    for _ in range(rounds):
        hasher.verify("benchmark-secret", stored)
    keyed = (time.process_time() - started) / rounds
    legacy = scrypt_hash("benchmark-secret")
    started = time.process_time()
    for _ in range(20):
        hasher.verify("benchmark-secret", legacy)
    return keyed * 1e6, (time.process_time() - started) / 20 * 1e6


async def use_legacy_hash(url: str, client_id: str, secret: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "UPDATE oauth_clients SET secret_hash = $2 WHERE client_id = $1",
            client_id,
            scrypt_hash(secret),
        )
    finally:
        await connection.close()


async def stored_hash(url: str, client_id: str) -> str:
    connection = await asyncpg.connect(url)
    try:
        value: str = await connection.fetchval(
            "SELECT secret_hash FROM oauth_clients WHERE client_id = $1", client_id
        )
        return value
    finally:
        await connection.close()


class BackendCpu:
    """CPU seconds of this database's backends, sampled while the run lasts."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> BackendCpu:
        self._sample(self._first)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(self._last)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            self._sample(self._last)

    def _sample(self, into: dict[int, float]) -> None:
        for pid in asyncio.run(self._pids()):
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            into[pid] = times.user + times.system
            if into is self._last:
                self._first.setdefault(pid, into[pid])

    async def _pids(self) -> list[int]:
        connection = await asyncpg.connect(self._url)
        try:
            rows = await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
        finally:
            await connection.close()
        return [row["pid"] for row in rows]

    @property
    def seconds(self) -> float:
        return sum(self._last.get(pid, start) - start for pid, start in self._first.items())


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(base: str, credentials: str, seconds: float, connections: int) -> tuple[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(credentials=credentials))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s"]
    try:
        wrk = psutil.Popen([*command, script.name, f"{base}/oauth/token"], stdout=subprocess.PIPE)
        used = 0.0
        while wrk.poll() is None:
            try:
                used = cpu_seconds(wrk)  # read while it lives: afterwards it is gone
            except psutil.Error:
                break
            time.sleep(0.2)
        assert wrk.stdout is not None
        output = wrk.stdout.read().decode()
    finally:
        os.unlink(script.name)
    return output, used


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).with_name("py-spy")),
        "record",
        "--pid",
        str(pid),
        "--rate",
        "250",
        "--nonblocking",
    ]
    command += ["--format", "raw", "--duration", str(int(seconds)), "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603


def bench(args: argparse.Namespace) -> None:
    url = database_url()
    settings = Settings()
    master_key = settings.resolved_master_key()
    keyed, legacy = hash_costs(master_key)
    print(f"one secret check: keyed {keyed:.1f} us, legacy scrypt {legacy / 1000:.1f} ms (CPU)")
    credentials = asyncio.run(bench_client(url, master_key))
    assert credentials.client_secret is not None
    if args.legacy:
        asyncio.run(use_legacy_hash(url, credentials.client_id, credentials.client_secret))
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_PUBLIC_BASE_URL": base,
        "PRAKERJA_LOG_LEVEL": "WARNING",
        # A pooled connection per wrk connection: past the pool, each request would open
        # and close its own (a PostgreSQL backend started per token).
        "PRAKERJA_DB_POOL_SIZE": str(max(10, args.connections)),
    }
    if args.server_path is not None:  # another checkout's gateway (with --legacy: main's)
        env["PYTHONPATH"] = str(args.server_path.resolve())
    command = [sys.executable, "-m", "gateway.cli", "serve"]
    if args.cprofile:
        command = [sys.executable, "-m", "bench.cpu_profiled_serve", str(args.cprofile)]
    # ``-m`` puts the working directory first on the path: the other checkout's, if asked for.
    server = subprocess.Popen(command, env=env, cwd=args.server_path)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not come up")
            time.sleep(0.2)
        auth = (credentials.client_id, credentials.client_secret)
        answer = httpx.post(
            f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=auth
        )
        assert answer.status_code == 200, answer.text
        if args.legacy:
            now = asyncio.run(stored_hash(url, credentials.client_id))
            print(f"stored hash after the first token: {now.split('$')[0]}")
        basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        run_wrk(base, basic, 3, args.connections)  # warm-up: connections, plans, caches
        process = psutil.Process(server.pid)
        spy = profile(server.pid, args.seconds, args.py_spy) if args.py_spy else None
        if args.cprofile:
            server.send_signal(signal.SIGUSR1)
        load_before = os.getloadavg()[0]
        with BackendCpu(url) as backends:
            server_before = cpu_seconds(process)
            output, wrk_cpu = run_wrk(base, basic, args.seconds, args.connections)
            server_cpu = cpu_seconds(process) - server_before
        load_after = os.getloadavg()[0]
        if args.cprofile:
            server.send_signal(signal.SIGUSR2)
        if spy is not None:
            spy.wait(timeout=60)
        requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
        latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.MULTILINE))
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        errors = re.search(r"Socket errors: (.*)", output)
        per = 1000 / max(requests, 1)
        print(f"tokens:          {requests} in {args.seconds:g} s, {args.connections} connections")
        print(f"throughput:      {rate:.0f} tokens/s")
        print(f"latency p50/p99: {ms(latency['50']):.1f} / {ms(latency['99']):.1f} ms")
        print(f"non-200 answers: {bad.group(1) if bad else 0}")
        if errors:
            print(f"socket errors:   {errors.group(1)}")
        print(
            f"CPU per token:   gateway {server_cpu * per:.3f} ms, PostgreSQL backends "
            f"{backends.seconds * per:.3f} ms, wrk {wrk_cpu * per:.3f} ms"
        )
        print(
            f"CPU in % of a core: gateway {100 * server_cpu / args.seconds:.0f}, PostgreSQL "
            f"{100 * backends.seconds / args.seconds:.0f}, wrk {100 * wrk_cpu / args.seconds:.0f}"
        )
        print(f"one fully used core would serve {1000 / max(server_cpu * per, 1e-9):.0f} tokens/s")
        print(f"gateway peak RSS: {peak_rss_mb(server.pid):.0f} MB")
        print(f"load average (1 min): {load_before:.1f} before, {load_after:.1f} after")
        if args.verbose:
            print(output)
    finally:
        server.terminate()
        server.wait(timeout=30)
        asyncio.run(retire_client(url, credentials.client_id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--legacy", action="store_true", help="start from an scrypt hash")
    parser.add_argument("--py-spy", type=Path, default=None, help="collapsed stacks here")
    parser.add_argument(
        "--cprofile", type=Path, default=None, help="CPU-time cProfile stats of the server here"
    )
    parser.add_argument(
        "--server-path", type=Path, default=None, help="serve another checkout's code (compare)"
    )
    parser.add_argument("--verbose", action="store_true", help="print wrk's own report")
    args = parser.parse_args()
    if args.seconds > 60:
        raise SystemExit("--seconds is capped at 60")
    bench(args)


if __name__ == "__main__":
    main()
