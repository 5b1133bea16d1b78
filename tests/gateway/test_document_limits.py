"""Limits on documents (schema/root.py), also for a document that comes again.

The rules are built once so that validation results can be cached; a refused document must
stay refused when it comes again (from the cache), and a fine one must stay answered.
"""

from __future__ import annotations

from schema.root import MAX_ALIASES
from tests.support.gateway import Tokens


def _aliases(count: int) -> str:
    return "{ " + " ".join(f"v{n}: viewer {{ code }}" for n in range(count)) + " }"


async def _codes(tokens: Tokens, document: str) -> list[str]:
    body = await tokens.graphql("PMO", document)
    return [error["extensions"]["code"] for error in body.get("errors", [])]  # type: ignore[attr-defined]


async def test_too_many_aliases_are_refused_every_time(tokens: Tokens) -> None:
    for _ in range(2):
        assert await _codes(tokens, _aliases(MAX_ALIASES)) == []
        assert await _codes(tokens, _aliases(MAX_ALIASES + 1)) == ["GRAPHQL_VALIDATION_FAILED"]
