"""Instructions a gateway process executes per request, counted by valgrind (callgrind).

On a shared or virtual machine the CPU time per request of ``bench/peer`` moves by 10-20%
between rounds (the host's other tenants, frequency changes): a change worth 5% cannot be
seen there. An instruction count can: the same code answering the same requests executes
the same instructions within a fraction of a percent, whatever else the machine does. It
counts the gateway's own user-space work only (not the kernel's system calls, nor
PostgreSQL's), so it says whether a change to the Python side made a request cheaper, and
the peer benchmark says what that is worth in requests a second.

One gateway (``prakerja-gateway serve``, cache off, like ``bench/peer``) runs under
``valgrind --tool=callgrind`` with instrumentation off until warmed up; then ``--requests``
sequential requests of the standard catalog page (the compiled lane, with a platform's token
verified on each) are counted. ``--tree DIR`` runs another checkout's code (``git worktree
add DIR REF``) on the same database, so that two versions are compared:

    apt-get install -y valgrind     # Debian's; on every machine of this workplace
    .venv/bin/python -m bench.instructions [--requests 200] [--tree /tmp/before]

Not part of CI; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.catalog_page import SEARCH_PAGE, STANDARD_PAGE, platform_client, token
from bench.peer.__main__ import DATABASE, ROOT, gateway_environment, prepare

WARM_UP = 30  # requests before counting: the compiled document and every cache made
PAGES = {"standard": STANDARD_PAGE, "search": SEARCH_PAGE}


def _start(tree: Path, url: str, port: int, output: Path) -> subprocess.Popen[bytes]:
    env = {
        **gateway_environment(url, port, pool=4),
        "PYTHONPATH": str(tree),  # before the editable install's path: that tree's code
        "PYTHONHASHSEED": "0",  # the same dict layouts, so the same instructions
    }
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={output}",
        str(ROOT / ".venv" / "bin" / "python"),
        str(ROOT / ".venv" / "bin" / "prakerja-gateway"),
        "serve",
    ]
    return subprocess.Popen(  # noqa: S603
        command, env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 300  # a Python under valgrind starts in a minute or so
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the gateway exited ({process.returncode}) under valgrind")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            return
        except httpx.HTTPError:
            time.sleep(1)
    process.kill()
    raise SystemExit("the gateway did not answer under valgrind")


def _control(*arguments: str) -> None:
    command = ["callgrind_control", *arguments]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603


def _counted(output: Path) -> int:
    """The instructions of the dump taken after the counted requests (part 1)."""
    for part in sorted(output.parent.glob(output.name + ".*")):
        figures = [
            int(line.split()[1])
            for line in part.read_text().splitlines()
            if line.startswith(("summary:", "totals:"))
        ]
        if figures:
            return max(figures)  # "summary" may say 0 where "totals" has the count
    raise SystemExit(f"no callgrind dump next to {output}")


def count(tree: Path, url: str, port: int, page: str, requests: int) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "callgrind.out"
        process = _start(tree, url, port, output)
        try:
            _wait(process, port)
            client_id, secret = asyncio.run(platform_client(url))
            headers = {"Authorization": f"Bearer {token(port, client_id, secret)}"}
            body = {"query": PAGES[page]}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
                for _ in range(WARM_UP):
                    http.post("/graphql", json=body, headers=headers).raise_for_status()
                _control("--instr=on", str(process.pid))
                for _ in range(requests):
                    answer = http.post("/graphql", json=body, headers=headers)
                    answer.raise_for_status()
                    if "errors" in answer.json():
                        raise SystemExit(f"the page was refused: {answer.text[:300]}")
                _control("--instr=off", str(process.pid))
                _control("--dump", str(process.pid))
            return _counted(output) // requests
        finally:
            process.terminate()
            process.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--page", choices=sorted(PAGES), default="standard")
    parser.add_argument("--tree", type=Path, action="append", help="another checkout (repeat)")
    parser.add_argument("--port", type=int, default=19840)
    args = parser.parse_args()
    url = asyncio.run(prepare(args.server_url, False, 10_000))
    assert url.endswith(DATABASE)
    for tree in [ROOT, *(args.tree or [])]:
        per_request = count(tree.resolve(), url, args.port, args.page, args.requests)
        print(f"{tree}: {per_request:,} instructions per request ({args.page} page)", flush=True)


if __name__ == "__main__":
    main()
