"""What every in-process cache emptied by PostgreSQL NOTIFY shares (gateway/db/listener.py).

A generation counter, bumped on every invalidation: a value computed from the database is
stored only if the generation read before the query is still current, so a computation
that raced a change is never cached. And a live flag: only while the listener is known to
deliver notifications may anything be served.
"""

from __future__ import annotations


class NotifiedCache:
    def __init__(self) -> None:
        self._generation = 0
        self._live = False

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def live(self) -> bool:
        return self._live

    def go_live(self) -> None:
        """The listener is connected: anything held from before may be stale, so drop it."""
        self.invalidate()
        self._live = True

    def go_dark(self) -> None:
        """The listener lost its connection: serve nothing until it is back."""
        self._live = False
        self.invalidate()

    def invalidate(self) -> None:
        self._generation += 1
        self._clear()

    def _clear(self) -> None:
        raise NotImplementedError
