"""The principals of recently verified bearer tokens, held in-process.

Verifying a token costs an ES256 signature check and a query of its live state (revoked?
client disabled? partner suspended?): about a millisecond, on every request. A token seen
before is answered from here instead, in microseconds, under three rules that keep
"revoked or disabled means refused at once, in every process":

- Entries are only served while this process is known to hear about identity changes:
  migration 0004 makes every commit that can take a token's rights away
  ``NOTIFY prakerja_identity``, the process's listener connection delivers it, and each
  notification drops every entry. While that connection is down or reconnecting the cache
  is dark: every request is verified against the database, as if there were no cache.
- A principal is stored only if no notification arrived while it was being verified (the
  generation read before the query must still be current), so a check that read the
  state from before a revocation can never be cached after it.
- The process that revokes a token drops its own entries as soon as it has committed.

The residual window: between the commit of a revocation (or suspension, or disabling) in
one process and the delivery of its NOTIFY to another process's listener, that other
process may still accept the token from here. On one host that is the time PostgreSQL
takes to signal its listeners after the commit, typically well under a millisecond to a
few milliseconds; a request answered in that window raced the revocation anyway.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

from core.db.notified_cache import NotifiedCache
from core.principal import Principal

DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    expires_at: int


def _key(token: str) -> bytes:
    # A digest, not the token: the cache outlives requests, and need not hold bearer secrets.
    return hashlib.blake2b(token.encode(), digest_size=24).digest()


class PrincipalCache(NotifiedCache):
    def __init__(self, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        super().__init__()
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()

    def _clear(self) -> None:
        self._entries.clear()

    def get(self, token: str) -> Principal | None:
        if not self._live:
            return None
        key = _key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= time.time():
            # Expired here: the full check decides (it allows the usual clock leeway).
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.principal

    def put(self, token: str, principal: Principal, *, expires_at: int, generation: int) -> None:
        """Remembers a principal verified after ``generation`` was read, if still current."""
        if not self._live or generation != self._generation:
            return
        key = _key(token)
        self._entries[key] = _Entry(principal, expires_at)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
