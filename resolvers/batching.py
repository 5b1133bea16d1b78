"""Batching of per-request lookups: every ``load`` made in one turn of the event loop shares
one query.

Resolvers know nothing of GraphQL, so they cannot use strawberry's DataLoader; this is the
same idea in the few lines the gateway needs. Field resolvers of sibling objects run
concurrently (graphql-core gathers them), each awaits ``load(key)``; the first call schedules
one dispatch with ``call_soon``, so by the time it runs every sibling has queued its key. A
loader lives for one request only: what it caches never outlives the request's transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

BatchFunction = Callable[[Sequence[K]], Awaitable[Sequence[V]]]


class BatchLoader(Generic[K, V]):
    """Loads values by key, one ``batch`` call per turn of the event loop, cached per key.

    ``batch(keys)`` must return one value per key, in the keys' order.
    """

    def __init__(self, batch: BatchFunction[K, V]) -> None:
        self._batch = batch
        self._cache: dict[K, asyncio.Future[V]] = {}
        self._queue: list[K] = []

    def load(self, key: K) -> asyncio.Future[V]:
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        self._cache[key] = future
        self._queue.append(key)
        if len(self._queue) == 1:
            loop.call_soon(self._start_dispatch)
        return future

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        return list(await asyncio.gather(*(self.load(key) for key in keys)))

    def _start_dispatch(self) -> None:
        keys, self._queue = self._queue, []
        # The task keeps itself alive through the futures it resolves; keep a reference anyway.
        self._dispatching = asyncio.ensure_future(self._dispatch(keys))

    async def _dispatch(self, keys: list[K]) -> None:
        try:
            values = await self._batch(keys)
            if len(values) != len(keys):
                raise RuntimeError(f"batch returned {len(values)} values for {len(keys)} keys")
        except BaseException as error:
            for key in keys:
                future = self._cache.pop(key)
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for key, value in zip(keys, values, strict=True):
            future = self._cache[key]
            if not future.done():
                future.set_result(value)
