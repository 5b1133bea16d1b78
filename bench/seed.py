"""The seed's wall time, CPU and memory: ``prakerja-gateway seed`` run as a child process.

Targets (issue 15 item 3, issue 11 item 6): ``seed --participants 3000000`` in at most 60 s
with a flat peak RSS of at most 300 MB; ``seed --scale full`` in at most 10 minutes.

    .venv/bin/python -m bench.seed --database prakerja_seed_bench -- --participants 3000000
    .venv/bin/python -m bench.seed --database prakerja_seed_full -- --scale full

The database (on the server of ``--server-url``) is created if missing and, with
``--recreate``, dropped and created first; it is kept at the end so the figures can be
read again. The seed's own progress lines (per phase) pass through. Printed at the end:

- wall time;
- the seed process's CPU time (user + system, from ``getrusage`` of the waited child) and
  its peak resident memory (``ru_maxrss``: the kernel's own high-water mark);
- CPU time of the PostgreSQL backends serving the database (every pid that
  ``pg_stat_activity`` shows for it, parallel workers included, sampled every half second:
  a process's last reading counts; a parallel worker living under half a second is missed);
- the load average (1 min) at the start, its mean and maximum over the run.

On a machine shared with others, the CPU times are the figures to compare runs by.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import sys
import time

import asyncpg
import psutil

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _with_database(server_url: str, name: str) -> str:
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


async def _prepare(server_url: str, name: str, recreate: bool) -> None:
    connection = await asyncpg.connect(server_url)
    try:
        if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            if not recreate:
                return
            await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _backend_pids(monitor: asyncpg.Connection, name: str) -> list[int]:
    rows = await monitor.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
    )
    return [int(row[0]) for row in rows]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", default=os.environ.get("PRAKERJA_TEST_DATABASE_URL"))
    parser.add_argument("--database", required=True)
    parser.add_argument("--recreate", action="store_true", help="drop and create it first")
    parser.add_argument("seed_args", nargs=argparse.REMAINDER, help="-- then the seed's options")
    args = parser.parse_args()
    server_url = args.server_url or DEFAULT_SERVER
    seed_args = [a for a in args.seed_args if a != "--"]
    await _prepare(server_url, args.database, args.recreate)
    url = _with_database(server_url, args.database)
    command = [os.path.join(os.path.dirname(sys.executable), "prakerja-gateway"), "seed"]
    command += seed_args
    print("$", " ".join(command), f"(database {args.database})", flush=True)

    backend_cpu: dict[int, float] = {}
    loads: list[float] = []
    started_load = os.getloadavg()[0]
    started = time.perf_counter()
    child = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, "PRAKERJA_DATABASE_URL": url},
        stderr=asyncio.subprocess.PIPE,
    )
    monitor = await asyncpg.connect(server_url)
    # Each progress line ends a step: the backends' CPU then, for the CPU of each step.
    steps: list[tuple[str, float, float]] = []

    # The poller and the progress reader both sample, on the one monitor connection.
    sampling = asyncio.Lock()

    async def sample() -> None:
        async with sampling:
            loads.append(os.getloadavg()[0])
            for pid in await _backend_pids(monitor, args.database):
                try:
                    times = psutil.Process(pid).cpu_times()
                except psutil.Error:
                    continue
                backend_cpu[pid] = times.user + times.system

    async def read_progress() -> None:
        assert child.stderr is not None
        async for raw in child.stderr:
            line = raw.decode(errors="replace")
            sys.stderr.write(line)
            if line.startswith("seeding:"):
                await sample()
                steps.append((line.strip(), time.perf_counter(), sum(backend_cpu.values())))

    reader = asyncio.ensure_future(read_progress())
    try:
        while child.returncode is None:
            await sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.wait(), 0.5)
        await reader
    finally:
        await monitor.close()
    wall = time.perf_counter() - started
    # Steps run side by side on several connections: each line ends a step, and the time and
    # CPU since the line before are summed per phase (the label's part before a colon, or
    # the label without its counts).
    print("phase (wall s, PostgreSQL backends' CPU s)")
    phases: dict[str, list[float]] = {}
    previous_wall, previous_cpu = started, 0.0
    for line, at, cpu in steps:
        label = line.split(" s ", 1)[-1] if " s " in line else "start"
        phase = label.split(":", 1)[0] if ":" in label else re.sub(r"[\d,]+ of [\d,]+", "", label)
        totals = phases.setdefault(phase.strip(), [0.0, 0.0])
        totals[0] += at - previous_wall
        totals[1] += cpu - previous_cpu
        previous_wall, previous_cpu = at, cpu
    for phase, (seconds, cpu) in phases.items():
        print(f"  {phase:42} {seconds:7.1f} {cpu:7.1f}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    connection = await asyncpg.connect(url)
    try:
        size = await connection.fetchval(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        )
    finally:
        await connection.close()
    print(f"exit status             {child.returncode}")
    print(f"wall                    {wall:8.1f} s")
    print(f"seed process CPU        {usage.ru_utime + usage.ru_stime:8.1f} s")
    print(f"seed process peak RSS   {usage.ru_maxrss / 1024:8.1f} MB")
    print(f"PostgreSQL backends CPU {sum(backend_cpu.values()):8.1f} s ({len(backend_cpu)} pids)")
    mean = sum(loads) / len(loads) if loads else started_load
    print(
        f"load average (1 min)    start {started_load:.2f}, mean {mean:.2f}, "
        f"max {max(loads, default=started_load):.2f}"
    )
    print(f"database size           {size}")
    return child.returncode or 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
