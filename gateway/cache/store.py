"""A bounded in-process store of response bodies, emptied by a generation counter.

Correctness rests on one rule: an answer is stored only if no invalidation happened while
it was computed. The caller reads ``generation`` before it opens its transaction and hands
it to ``put``; if a change was signalled in between (the read may have seen the old row),
the answer is dropped. Any signal drops everything: simple, and never stale.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from core.db.notified_cache import NotifiedCache

# Migration 0003's triggers notify it; the app's change listener delivers to the cache.
CATALOG_CHANNEL = "prakerja_catalog"


@dataclass(frozen=True, slots=True)
class CachedResponse:
    body: bytes
    media_type: str


class ResponseCache(NotifiedCache):
    def __init__(self, *, max_bytes: int, max_entry_bytes: int = 1 << 20) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[bytes, CachedResponse] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def changed(self, payload: str) -> None:
        """A catalog row changed (NOTIFY from migration 0003's triggers): drop everything."""
        self.invalidate()

    def _clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def get(self, key: bytes) -> CachedResponse | None:
        if not self._live:
            return None
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found

    def put(self, key: bytes, value: CachedResponse, *, generation: int) -> bool:
        """Stores ``value`` if nothing changed since ``generation`` was read."""
        if not self._live or generation != self._generation:
            return False
        size = len(value.body) + len(key)
        if size > self.max_entry_bytes:
            return False
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._bytes -= len(previous.body) + len(key)
        self._entries[key] = value
        self._bytes += size
        while self._bytes > self.max_bytes and self._entries:
            old_key, old = self._entries.popitem(last=False)
            self._bytes -= len(old.body) + len(old_key)
        return True

    def __len__(self) -> int:
        return len(self._entries)
