"""Where a running demo can be found from another terminal, and whether its port is free.

``demo`` writes a small record (its data directory, database URL, base URL and process id)
into the user's state directory while it runs, so ``outbox`` and ``demo --walkthrough`` from
any directory talk to the running demo instead of starting an empty cluster of their own.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from core.settings import Settings

RECORD_NAME = "running-demo.json"


@dataclass(frozen=True)
class RunningDemo:
    pid: int
    data_dir: str
    database_url: str
    base_url: str


def record_path() -> Path:
    """``$XDG_STATE_HOME/prakerja-gateway/running-demo.json`` (``~/.local/state`` by default)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "prakerja-gateway" / RECORD_NAME


def running_demo() -> RunningDemo | None:
    """The demo recorded as running, if its process is still alive."""
    path = record_path()
    try:
        demo = RunningDemo(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return demo if psutil.pid_exists(demo.pid) else None


@contextlib.contextmanager
def recorded(demo: RunningDemo) -> Iterator[None]:
    """Keeps the record for as long as the demo serves; removes it afterwards if still ours."""
    path = record_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The URL names a local server with trust authentication: no secret, yet ours alone.
        path.write_text(json.dumps(asdict(demo)))
        path.chmod(0o600)
    except OSError:
        path = None  # type: ignore[assignment]  # a read-only home: nothing to find, no harm
    try:
        yield
    finally:
        if path is not None:
            with contextlib.suppress(OSError, ValueError, TypeError):
                if json.loads(path.read_text()).get("pid") == demo.pid:
                    path.unlink()


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on ``host:port`` (checked by binding it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # The same option uvicorn sets, so a port in TIME_WAIT does not look busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def demo_settings(settings: Settings, demo: RunningDemo) -> Settings:
    """The settings a command acting on the running demo needs from wherever it is run: the
    demo's own data directory, whose master key keys the client secrets it checks (a key
    of another directory would make every secret written here fail there)."""
    if settings.master_key:
        return settings
    return settings.model_copy(update={"data_dir": Path(demo.data_dir)})
