"""The operating system's view of servers the tests start."""

from __future__ import annotations

from pathlib import Path

import psutil


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """The ``postgres`` processes serving ``pgdata`` (none once a server has stopped)."""
    found = []
    for process in psutil.process_iter(attrs=["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and any(str(pgdata) in part for part in cmdline):
            found.append(process)
    return found
