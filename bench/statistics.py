"""Statistics latency through GraphQL on a database loaded by ``seed`` (target: 50 ms each),
then the programme's figures checked against the seed's.

    .venv/bin/python -m bench.statistics \\
        --database-url postgresql://postgres@127.0.0.1:5432/prakerja_seed_full [--repeat 30]

It creates two OAuth clients in that database (programme management ``PMO`` with
``program:admin``; the regional office ``DISNAKER-1101`` with ``registration:read``, both
disabled again at the end), starts ONE gateway worker (``prakerja-gateway serve``, one uvicorn
process, on ``--port``), takes a token for each, and sends every statistics query
``--repeat`` times one after the other, after 3 warm-up requests: ``programStatistics``,
``programFigures`` without and with each breakdown (province, regency, wave, scheme), each
also with a narrow filter, and ``regencyFigures`` as the office (its own regency) without and
with each breakdown. It prints p50, p95 and the worst per query in milliseconds (wall time of
the HTTP request on loopback), and the worker's CPU time per request.

Then it checks what ``programStatistics`` and the breakdowns answer against the seed's own
figures (``FullScale`` at ``--fraction``, 1.0 for ``seed --scale full``): registrants,
recipients, first completions, people paid, 7 platforms, 4 payment partners, 165 providers,
over 2,000 courses, 6 waves, recipients in all 34 provinces, offline registrants in every
regency. The exit status is 1 when a figure differs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from auth.admin import create_client, disable_client
from auth.audit import Origin
from core.db.database import Database
from gateway.seed.full import FullScale

ROOT = Path(__file__).resolve().parent.parent
MASTER_KEY = "demo-master-key"  # the seed's default: its signing keys open with it
ORIGIN = Origin(operator="bench")
MEASURES = (
    "registrants registrantsOnline registrantsOffline registrantsWithDisability "
    "registrantsFemale registrantsMale recipients completions incentivesPaid "
    "incentivesPaidAmount"
)
PROGRAM_STATISTICS = """{ programStatistics { registrants recipients completions incentivesPaid
  incentivesPaidAmount platforms paymentPartners providers courses } }"""
PROGRAM_FIGURES = f"""query($breakdown: FigureBreakdown, $filter: FigureFilterInput) {{
  programFigures(breakdown: $breakdown, filter: $filter) {{ code name {MEASURES} }} }}"""
REGENCY_FIGURES = f"""query($breakdown: FigureBreakdown) {{
  regencyFigures(breakdown: $breakdown) {{ code name {MEASURES} }} }}"""
NARROW = {"channel": "OFFLINE", "sex": "FEMALE", "withDisability": True, "provinceCode": "32"}
BREAKDOWNS = (None, "PROVINCE", "REGENCY", "WAVE", "SCHEME")
CLIENTS = (("PMO", "program:admin"), ("DISNAKER-1101", "registration:read"))


async def _clients(url: str) -> dict[str, tuple[str, str]]:
    database = Database.connect(url, pool_size=1)
    issued = {}
    try:
        async with database.sessionmaker() as session:
            for partner, scope in (
                ("PMO", "program:admin"),
                ("DISNAKER-1101", "registration:read"),
            ):
                credentials = await create_client(
                    session,
                    ORIGIN,
                    partner_code=partner,
                    scopes=[scope],
                    name="statistics bench",
                    master_key=MASTER_KEY.encode(),
                )
                assert credentials.client_secret is not None
                issued[scope] = (credentials.client_id, credentials.client_secret)
            await session.commit()
    finally:
        await database.dispose()
    return issued


async def _retire(url: str, client_ids: list[str]) -> None:
    database = Database.connect(url, pool_size=1)
    try:
        async with database.sessionmaker() as session:
            for client_id in client_ids:
                await disable_client(session, ORIGIN, client_id)
            await session.commit()
    finally:
        await database.dispose()


async def _backends_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each backend serving the database (the worker's pool)."""
    connection = await asyncpg.connect(url)
    try:
        pids = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    found = {}
    for row in pids:
        try:
            times = psutil.Process(row["pid"]).cpu_times()
        except psutil.Error:
            continue
        found[row["pid"]] = times.user + times.system
    return found


def _start_worker(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PRAKERJA_DATABASE_URL": url,
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_MASTER_KEY": MASTER_KEY,
        "PRAKERJA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PRAKERJA_LOG_LEVEL": "WARNING",
    }
    command = [str(ROOT / ".venv" / "bin" / "prakerja-gateway"), "serve"]
    worker = subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return worker
        except httpx.HTTPError:
            time.sleep(0.3)
    worker.kill()
    raise SystemExit("the worker did not start")


def _token(client: httpx.Client, credentials: tuple[str, str], scope: str) -> str:
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=credentials
    )
    response.raise_for_status()
    access: str = response.json()["access_token"]
    return access


def _ask(client: httpx.Client, token: str, query: str, variables: dict[str, Any]) -> Any:
    response = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise SystemExit(f"{query[:40]}...: {body}")
    return body["data"]


def _cases(pmo: str, office: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    cases = [("programStatistics", pmo, PROGRAM_STATISTICS, {})]
    for breakdown in BREAKDOWNS:
        name = f"programFigures({breakdown or '-'})"
        cases.append((name, pmo, PROGRAM_FIGURES, {"breakdown": breakdown}))
        cases.append(
            (f"{name} narrow", pmo, PROGRAM_FIGURES, {"breakdown": breakdown, "filter": NARROW})
        )
    for breakdown in BREAKDOWNS:
        name = f"regencyFigures({breakdown or '-'}) office"
        cases.append((name, office, REGENCY_FIGURES, {"breakdown": breakdown}))
    return cases


def _check(client: httpx.Client, pmo: str, fraction: float) -> bool:
    scale = FullScale.at(fraction)
    answer = _ask(client, pmo, PROGRAM_STATISTICS, {})["programStatistics"]
    provinces = _ask(client, pmo, PROGRAM_FIGURES, {"breakdown": "PROVINCE"})["programFigures"]
    regencies = _ask(client, pmo, PROGRAM_FIGURES, {"breakdown": "REGENCY"})["programFigures"]
    waves = _ask(client, pmo, PROGRAM_FIGURES, {"breakdown": "WAVE"})["programFigures"]
    found = {
        "registrants": answer["registrants"],
        "recipients": answer["recipients"],
        "first completions": answer["completions"],
        "incentives paid (people)": answer["incentivesPaid"],
        "platforms": answer["platforms"],
        "payment partners": answer["paymentPartners"],
        "providers": answer["providers"],
        "courses over 2,000": answer["courses"] > 2000,
        "waves": len([group for group in waves if group["code"] is not None]),
        "provinces with recipients": len([g for g in provinces if g["recipients"] > 0]),
        "regencies with offline registrants": len(
            [group for group in regencies if group["registrantsOffline"] > 0]
        ),
    }
    expected = {
        "registrants": scale.registrants,
        "recipients": scale.recipients,
        "first completions": scale.completers,
        "incentives paid (people)": scale.paid,
        "platforms": 7,
        "payment partners": 4,
        "providers": 165,
        "courses over 2,000": True,
        "waves": 6,
        "provinces with recipients": 34,
        "regencies with offline registrants": 514,
    }
    print(f"\nprogrammeStatistics against the seed's figures (fraction {fraction}):")
    for name, want in expected.items():
        got = found[name]
        mark = "ok" if got == want else "DIFFERS"
        print(f"  {name:36} {got!s:>12} expected {want!s:>12}  {mark}")
    print(
        f"  {'courses':36} {answer['courses']:>12,}   "
        f"incentives paid {int(answer['incentivesPaidAmount']):,} Rupiah"
    )
    return found == expected


async def main(url: str, port: int, repeat: int, fraction: float) -> int:
    clients = await _clients(url)
    worker = _start_worker(url, port)
    process = psutil.Process(worker.pid)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            pmo = _token(client, clients["program:admin"], "program:admin")
            office = _token(client, clients["registration:read"], "registration:read")
            print(f"load average {os.getloadavg()[0]:.2f}; {repeat} requests per query, ms")
            print(f"{'query':40} {'p50':>7} {'p95':>7} {'max':>7} {'worker CPU':>11} {'PG CPU':>7}")
            worst = 0.0
            requests = 0
            cpu_before = sum(process.cpu_times()[:2])
            for name, token, query, variables in _cases(pmo, office):
                for _ in range(3):
                    _ask(client, token, query, variables)
                worker_before = sum(process.cpu_times()[:2])
                backends_before = await _backends_cpu(url)
                timings = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    _ask(client, token, query, variables)
                    timings.append((time.perf_counter() - started) * 1000)
                worker_cpu = (sum(process.cpu_times()[:2]) - worker_before) * 1000 / repeat
                backends = await _backends_cpu(url)
                database_cpu = (
                    sum(backends[pid] - backends_before.get(pid, 0.0) for pid in backends)
                    * 1000
                    / repeat
                )
                requests += repeat + 3
                timings.sort()
                p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
                worst = max(worst, timings[-1])
                print(
                    f"{name:40} {statistics.median(timings):7.1f} {p95:7.1f} {timings[-1]:7.1f}"
                    f" {worker_cpu:11.2f} {database_cpu:7.2f}"
                )
            cpu = sum(process.cpu_times()[:2]) - cpu_before
            print(
                f"worst {worst:.1f} ms; worker CPU {cpu * 1000 / requests:.2f} ms per request; "
                f"load average {os.getloadavg()[0]:.2f}"
            )
            exact = _check(client, pmo, fraction)
    finally:
        worker.terminate()
        worker.wait(10)
        await _retire(url, [credentials[0] for credentials in clients.values()])
    return 0 if exact else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("PRAKERJA_DATABASE_URL"))
    parser.add_argument("--port", type=int, default=19510)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--fraction", type=float, default=1.0, help="the seed's --fraction")
    arguments = parser.parse_args()
    if not arguments.database_url:
        sys.exit("give --database-url (or PRAKERJA_DATABASE_URL) of a seeded database")
    sys.exit(
        asyncio.run(
            main(arguments.database_url, arguments.port, arguments.repeat, arguments.fraction)
        )
    )
