"""Back-off for failed client authentications at the token endpoint.

Failures are counted per client id and per source address (``auth_failures``, shared by every
gateway process, written with the token request's outcome). After ``FREE_FAILURES`` the next
attempt must wait 1 s, then 2, 4, ... up to ``MAX_BACKOFF_SECONDS``; a counter is forgotten
``FORGET_AFTER`` after its last failure, and a success clears its client's.

No permanent lockout, and no lockout by someone else: a client id's back-off applies only to
addresses that have themselves failed recently. An attacker guessing a client's secret is
slowed to one guess per back-off from each address it uses, while the real client, calling
from its own address with the right secret, is never refused for the attacker's failures.

The counters are read by the token request's one reading statement (``auth/token_requests.py``
joins ``COUNTER_SQL`` for both keys) and decided here, in ``wait_seconds``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

FREE_FAILURES = 3
MAX_BACKOFF_SECONDS = 300
FORGET_AFTER = timedelta(minutes=15)


def keys(client_id: str | None, address: str | None) -> tuple[str | None, str | None]:
    client_key = f"client:{client_id[:100]}" if client_id else None
    address_key = f"address:{address}" if address else None
    return client_key, address_key


@dataclass(frozen=True)
class Counter:
    """One key's row: failures, seconds still blocked (negative: not blocked), and whether
    its last failure is recent enough to count."""

    failures: int
    wait: float
    recent: bool

    @classmethod
    def of(cls, failures: Any, wait: Any, recent: Any) -> Counter | None:
        if failures is None:
            return None
        return cls(int(failures), float(wait), bool(recent))


# One key's counter, as a LATERAL subquery of a larger statement: $key and $forget are
# substituted with the statement's parameter numbers.
COUNTER_SQL = """
    SELECT failures, extract(epoch FROM blocked_until - now()) AS wait,
           updated_at > now() - {forget}::interval AS recent
      FROM auth_failures WHERE key = {key}
"""


def wait_seconds(client: Counter | None, address: Counter | None) -> int:
    """Seconds this attempt must still wait (0: go ahead)."""
    address_failures, address_wait = 0, 0.0
    if address is not None and address.recent:
        address_failures, address_wait = address.failures, address.wait
    client_wait = client.wait if client is not None and client.recent else 0.0
    wait = address_wait
    if address_failures > 0:
        wait = max(wait, client_wait)
    return math.ceil(wait) if wait > 0 else 0


_NEW = "CASE WHEN b.updated_at < now() - $2::interval THEN 1 ELSE b.failures + 1 END"
FAIL_SQL = f"""
    INSERT INTO auth_failures AS b (key, failures, blocked_until, updated_at)
    VALUES ($1, 1, now(), now())
    ON CONFLICT (key) DO UPDATE SET
        failures = {_NEW},
        blocked_until = now() + make_interval(secs => CASE WHEN {_NEW} > $3
            THEN least($4, power(2, {_NEW} - $3 - 1)) ELSE 0 END),
        updated_at = now()
"""  # noqa: S608 (constant expressions only)


def failure_arguments(key: str) -> tuple[str, timedelta, int, int]:
    """``FAIL_SQL``'s parameters for one key."""
    return key, FORGET_AFTER, FREE_FAILURES, MAX_BACKOFF_SECONDS
