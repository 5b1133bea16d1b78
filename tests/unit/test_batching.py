"""``BatchLoader`` (``resolvers/batching.py``): one batch per turn, per-key cache, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from resolvers.batching import BatchLoader


class Recorder:
    """A batch function that doubles its keys and remembers every call."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    async def __call__(self, keys: Sequence[int]) -> list[int]:
        self.calls.append(list(keys))
        return [key * 2 for key in keys]


async def test_loads_in_one_turn_share_one_batch_in_order() -> None:
    batch = Recorder()
    loader = BatchLoader(batch)
    assert await asyncio.gather(loader.load(3), loader.load(1), loader.load(2)) == [6, 2, 4]
    assert batch.calls == [[3, 1, 2]]


async def test_each_turn_of_the_event_loop_gets_its_own_batch() -> None:
    batch = Recorder()
    loader = BatchLoader(batch)
    assert await loader.load(1) == 2
    assert await loader.load_many([2, 3]) == [4, 6]
    assert batch.calls == [[1], [2, 3]]


async def test_a_key_is_loaded_once_and_then_served_from_the_cache() -> None:
    batch = Recorder()
    loader = BatchLoader(batch)
    first, again = await asyncio.gather(loader.load(5), loader.load(5))
    assert first == again == 10
    assert await loader.load(5) == 10
    assert await loader.load_many([5, 6]) == [10, 12]
    assert batch.calls == [[5], [6]]


async def test_a_failing_batch_fails_every_waiter_and_is_not_cached() -> None:
    calls: list[list[int]] = []

    async def failing(keys: Sequence[int]) -> list[int]:
        calls.append(list(keys))
        if len(calls) == 1:
            raise LookupError("database went away")
        return list(keys)

    loader: BatchLoader[int, int] = BatchLoader(failing)
    results = await asyncio.gather(loader.load(1), loader.load(2), return_exceptions=True)
    assert [type(result) for result in results] == [LookupError, LookupError]
    assert all(str(result) == "database went away" for result in results)
    assert await loader.load(1) == 1  # retried, not the cached failure
    assert calls == [[1, 2], [1]]


@pytest.mark.parametrize("returned", [[], [1], [1, 2, 3]])
async def test_a_batch_of_the_wrong_length_fails_every_waiter(returned: list[int]) -> None:
    async def wrong(keys: Sequence[int]) -> list[int]:
        return returned

    loader: BatchLoader[int, int] = BatchLoader(wrong)
    results = await asyncio.gather(loader.load(1), loader.load(2), return_exceptions=True)
    for result in results:
        assert isinstance(result, RuntimeError)
        assert f"{len(returned)} values for 2 keys" in str(result)
