"""Compiled documents: a whole query answered by one compiled read, without GraphQL.

Partners send the same few documents again and again. When a query's only root field was
answered by its compiled read (``CompiledRead``) and the answer had no error, the view
keeps the document as a ``CompiledDocument``: the field's read, its arguments as the
normal path converted them, and its compiled plan. The next request with the same
document, operation, variable values and caller class is answered from it: the read
fetches the rows (with the current caller: tenancy is decided on every request, in the
read) and the plan renders them; parsing, validation, the cost, permission classes and
graphql-core's execution are skipped, since each was decided by what the key holds.

The key (``DocumentKey``) is exactly what those decisions depend on: the document's text,
the operation name and the variable values (so the arguments), and the caller's class:
its scopes (the permission classes) and its partner type. Whatever else the read needs,
it takes from the request's context at every replay.

Anything the document cannot replay (a read that refuses with ``CompiledReadRefused`` or a
``GatewayError``) is counted (``FALLBACKS``, reason ``replay``) and the request takes the
normal path, which answers it with its own error; a compiled root that is not kept
(other root fields beside it, an error, another extension in the answer) is counted too
(reason ``document``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from core.errors import GatewayError
from core.principal import Principal
from resolvers.compiled_reads import CompiledReadRefused
from schema.compiled.extension import CompiledRoot
from schema.compiled.metrics import FALLBACKS, FallbackReason
from schema.context import Context
from schema.cost import cost_extension

DOCUMENTS_KEPT: Final = 512  # like the parser's and the plans' caches

# (document text, operation name, variable values as canonical JSON, scopes, partner type,
# called by a registered id)
DocumentKey = tuple[str, str | None, str, frozenset[str], str, bool]
# The request's part of it: document text, operation name, variable values.
RequestPart = tuple[str, str | None, str]


def document_key(
    query: str,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    principal: Principal,
    *,
    registered: bool = False,
) -> DocumentKey | None:
    """``registered``: called by a trusted document's id. Its cost is the one stored at
    registration, which may differ from the same text's when sent ad hoc, so the two forms
    are kept apart (the key carries the cost a replay charges)."""
    try:
        values = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return keyed((query, operation_name, values), principal, registered=registered)


def keyed(request: RequestPart, principal: Principal, *, registered: bool = False) -> DocumentKey:
    """The key of a request's part for this caller's class (its scopes, its partner type)."""
    return (*request, principal.scopes, principal.partner_type.value, registered)


@dataclass(frozen=True, slots=True)
class CompiledDocument:
    root: CompiledRoot
    cost: int | None

    @property
    def in_transaction(self) -> bool:
        return self.root.extension.in_transaction(self.root.arguments)

    async def data(self, context: Context) -> dict[str | int, Any] | None:
        """The answer's ``data``, or None when the normal path must answer (counted)."""
        root = self.root
        try:
            source, related = await root.extension.read(context, root.plan.read, root.arguments)
        except CompiledReadRefused as refused:
            FALLBACKS.record(root.where, refused.reason, refused.detail)
            return None
        except GatewayError as refused:
            FALLBACKS.record(root.where, FallbackReason.REPLAY, refused.code.value)
            return None
        return {root.response_key: root.plan.render(source, related)}

    def answer(self, data: dict[str | int, Any]) -> dict[str, Any]:
        """The whole answer of a replay whose read gave ``data``."""
        answer: dict[str, Any] = {"data": data}
        if self.cost is not None:
            answer["extensions"] = {"cost": cost_extension(self.cost)}
        return answer


class CompiledDocuments:
    """The documents kept, by key; emptied when full (partners send few documents)."""

    def __init__(self) -> None:
        self._kept: dict[DocumentKey, CompiledDocument] = {}

    def get(self, key: DocumentKey | None) -> CompiledDocument | None:
        return None if key is None else self._kept.get(key)

    def consider(
        self,
        key: DocumentKey | None,
        roots: list[CompiledRoot],
        answer: Mapping[str, Any] | None,
        cost: int | None,
    ) -> bool:
        """Keeps the document just answered when a compiled root alone answered it; True
        when it did."""
        if key is None or not roots:
            return False
        reason = _not_kept(roots, answer)
        if reason is not None:
            FALLBACKS.record(roots[0].where, FallbackReason.DOCUMENT, reason)
            return False
        if len(self._kept) >= DOCUMENTS_KEPT:
            self._kept.clear()
        self._kept[key] = CompiledDocument(roots[0], cost)
        return True


class CompiledBodies:
    """Request bodies answered by a compiled document, with the request's part of its key
    (``RequestPart``): the same bytes are the same request again, for the compiled lane
    (``gateway/compiled_lane.py``). The caller's part is added per request. Bounded like the
    documents themselves."""

    def __init__(self) -> None:
        self._requests: dict[bytes, RequestPart] = {}

    def learn(self, body: bytes, key: DocumentKey) -> None:
        if len(self._requests) >= DOCUMENTS_KEPT:
            self._requests.clear()
        self._requests[body] = key[:3]

    def key(self, body: bytes, principal: Principal) -> DocumentKey | None:
        request = self._requests.get(body)
        return None if request is None else keyed(request, principal)


def _not_kept(roots: list[CompiledRoot], answer: Mapping[str, Any] | None) -> str | None:
    if answer is None or "errors" in answer or not isinstance(answer.get("data"), dict):
        return "the answer has errors"
    if len(roots) != 1 or list(answer["data"]) != [roots[0].response_key]:
        return "other root fields beside the compiled one"
    if set(answer.get("extensions") or ()) - {"cost"}:
        return "the answer has other extensions"
    return None
