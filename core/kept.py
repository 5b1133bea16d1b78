"""Values worked out once from objects a process keeps (a compiled document's arguments, its
plan, a page statement), found again by those objects' identity.

Hashing such an object (a nested frozen shape, a dict) on every request can cost more than
the work it saves; its ``id`` costs nothing. An id is only the object's while the object
lives, so each entry holds its objects: while an entry is kept no other object can have
those ids, and a key found is the very objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

Value = TypeVar("Value")


class KeptByIdentity(Generic[Value]):
    """At most ``size`` values, emptied when full (the objects come from a bounded set of
    compiled documents, so a full memo means churn, not a working set)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: dict[tuple[int, ...], tuple[tuple[object, ...], Value]] = {}

    def get(self, make: Callable[..., Value], *objects: Any) -> Value:
        """The value kept for ``objects``, or ``make(*objects)``, kept (not when it raises)."""
        key = tuple(map(id, objects))
        found = self._kept.get(key)
        if found is not None:
            return found[1]
        value = make(*objects)
        if len(self._kept) >= self.size:
            self._kept.clear()
        self._kept[key] = (objects, value)
        return value
