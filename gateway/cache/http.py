"""The cache at the HTTP edge of ``/graphql``: served before strawberry even parses.

``lookup`` runs once the caller is authenticated; a hit answers with the stored body. A
miss carries the key and the cache generation read *before* the request's transaction
begins; ``remember`` runs after the transaction ended and stores the answer only if it is
a successful catalog-only query and nothing changed meanwhile. A write through this
process drops the cache at once, before its answer leaves (read-your-writes here; other
processes drop theirs when the commit's NOTIFY reaches them, within milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.cache.policy import (
    MAX_CACHED_BODY_BYTES,
    Operation,
    cache_key,
    classify,
    visibility_class,
)
from gateway.cache.store import CachedResponse, ResponseCache
from gateway.request_body import GraphQLRequest

CACHE_HEADER = "x-catalog-cache"


@dataclass(frozen=True, slots=True)
class Lookup:
    cache: ResponseCache
    body: bytes
    key: bytes | None
    generation: int
    hit: CachedResponse | None


def cache_of(request: Request) -> ResponseCache | None:
    cache: ResponseCache | None = getattr(request.app.state, "catalog_cache", None)
    return cache


async def lookup(request: Request, media_type: str) -> Lookup | None:
    """None when the cache has no say (no cache, not a POST)."""
    cache = cache_of(request)
    if cache is None or request.method != "POST":
        return None
    body = await request.body()
    generation = cache.generation
    caller = visibility_class(getattr(request.state, "principal", None))
    if caller is None or len(body) > MAX_CACHED_BODY_BYTES or not cache.live:
        return Lookup(cache, body, None, generation, None)
    key = cache_key(body, caller, media_type)
    return Lookup(cache, body, key, generation, cache.get(key))


def hit_response(hit: CachedResponse) -> Response:
    return Response(content=hit.body, headers={"content-type": hit.media_type, CACHE_HEADER: "hit"})


def remember(
    found: Lookup | None, request: Request, response: Response, graphql: GraphQLRequest | None
) -> None:
    if found is None:
        return
    operation = (
        Operation.UNKNOWN if graphql is None else classify(graphql.document, graphql.operation_name)
    )
    if operation is Operation.WRITE or operation is Operation.UNKNOWN:
        # A mutation (even a refused one: cheap to be safe) or something unreadable.
        found.cache.invalidate()
        return
    if operation is not Operation.CACHEABLE_READ or found.key is None:
        return
    answer: dict[str, Any] | None = getattr(request.state, "answer", None)
    if response.status_code != 200 or answer is None or "errors" in answer:
        return
    stored = found.cache.put(
        found.key,
        CachedResponse(bytes(response.body), response.headers["content-type"]),
        generation=found.generation,
    )
    if stored:
        response.headers[CACHE_HEADER] = "miss"
