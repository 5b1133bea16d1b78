"""Back-off for failed client authentications at the token endpoint.

Failures are counted per client id and per source address (``auth_failures``, shared by every
gateway process, written in the token request's own transaction). After ``FREE_FAILURES``
the next attempt must wait 1 s, then 2, 4, ... up to ``MAX_BACKOFF_SECONDS``; a counter is
forgotten ``FORGET_AFTER`` after its last failure, and a success clears its client's.

No permanent lockout, and no lockout by someone else: a client id's back-off applies only to
addresses that have themselves failed recently. An attacker guessing a client's secret is
slowed to one guess per back-off from each address it uses, while the real client, calling
from its own address with the right secret, is never refused for the attacker's failures.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import Integer, Interval, String, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

FREE_FAILURES = 3
MAX_BACKOFF_SECONDS = 300
FORGET_AFTER = timedelta(minutes=15)


def _keys(client_id: str | None, address: str | None) -> tuple[str | None, str | None]:
    client_key = f"client:{client_id[:100]}" if client_id else None
    address_key = f"address:{address}" if address else None
    return client_key, address_key


_STATE_SQL = text(
    """
    SELECT key, failures, extract(epoch FROM blocked_until - now()) AS wait
      FROM auth_failures
     WHERE key IN (:client_key, :address_key) AND updated_at > now() - :forget
    """
).bindparams(
    bindparam("client_key", type_=String()),
    bindparam("address_key", type_=String()),
    bindparam("forget", type_=Interval()),
)


async def wait_seconds(session: AsyncSession, client_id: str | None, address: str | None) -> int:
    """Seconds this attempt must still wait (0: go ahead)."""
    client_key, address_key = _keys(client_id, address)
    rows = (
        await session.execute(
            _STATE_SQL,
            {"client_key": client_key, "address_key": address_key, "forget": FORGET_AFTER},
        )
    ).all()
    state = {row.key: (int(row.failures), float(row.wait)) for row in rows}
    address_failures, address_wait = state.get(address_key or "", (0, 0.0))
    _, client_wait = state.get(client_key or "", (0, 0.0))
    wait = address_wait
    if address_failures > 0:
        wait = max(wait, client_wait)
    return math.ceil(wait) if wait > 0 else 0


_NEW = "CASE WHEN b.updated_at < now() - :forget THEN 1 ELSE b.failures + 1 END"
_FAIL_SQL = text(
    f"""
    INSERT INTO auth_failures AS b (key, failures, blocked_until, updated_at)
    VALUES (:key, 1, now(), now())
    ON CONFLICT (key) DO UPDATE SET
        failures = {_NEW},
        blocked_until = now() + make_interval(secs => CASE WHEN {_NEW} > :free
            THEN least(:max_backoff, power(2, {_NEW} - :free - 1)) ELSE 0 END),
        updated_at = now()
    """  # noqa: S608 (constant expressions only)
).bindparams(
    bindparam("key", type_=String()),
    bindparam("forget", type_=Interval()),
    bindparam("free", type_=Integer()),
    bindparam("max_backoff", type_=Integer()),
)


async def record_failure(session: AsyncSession, client_id: str | None, address: str | None) -> None:
    for key in _keys(client_id, address):
        if key is not None:
            await session.execute(
                _FAIL_SQL,
                {
                    "key": key,
                    "forget": FORGET_AFTER,
                    "free": FREE_FAILURES,
                    "max_backoff": MAX_BACKOFF_SECONDS,
                },
            )


async def record_success(session: AsyncSession, client_id: str | None) -> None:
    client_key, _ = _keys(client_id, None)
    if client_key is not None:
        await session.execute(
            text("DELETE FROM auth_failures WHERE key = :key"), {"key": client_key}
        )
