"""Waiting for what another process learns later: a NOTIFY's way to another gateway
process or replica. The bounds are deadlines for a loaded machine, never measured figures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

POLL_SECONDS = 0.05


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float) -> None:
    """Repeats ``check`` until it holds; fails naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(POLL_SECONDS)


async def answered(
    call: Callable[[], Awaitable[httpx.Response]], status: int, what: str, within: float
) -> httpx.Response:
    """Repeats the call until it answers ``status``; returns that answer."""
    last: httpx.Response | None = None

    async def has_status() -> bool:
        nonlocal last
        last = await call()
        return last.status_code == status

    try:
        await eventually(has_status, what, within)
    except AssertionError as late:
        answer = "" if last is None else f" (last answer {last.status_code} {last.text})"
        raise AssertionError(f"{late}{answer}") from None
    assert last is not None
    return last
