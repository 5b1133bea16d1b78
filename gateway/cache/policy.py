"""What may be cached, under which key, and what a request changes.

Only queries whose every root field is a catalog read are cached (never a mutation, never
an operation that also reads something else). The key is a digest of the raw request
body (document, variables and operation name as sent), the media type the caller asked
for, and the caller's visibility class: everything that can make two answers differ.
"""

from __future__ import annotations

import hashlib
from enum import Enum

from graphql import DocumentNode, FieldNode, OperationType

from auth.scopes import Scope
from core.principal import Principal
from resolvers.tenancy import catalog_view
from schema.documents import select_operation

# Root fields whose answers depend only on catalog rows and the caller's visibility class.
CATALOG_ROOT_FIELDS = frozenset({"courses", "course", "provider", "categories", "__typename"})
MAX_CACHED_BODY_BYTES = 16 * 1024


class Operation(Enum):
    CACHEABLE_READ = "cacheable"
    OTHER_READ = "read"
    WRITE = "write"
    UNKNOWN = "unknown"


def visibility_class(principal: Principal | None) -> str | None:
    """Callers who see the same catalog (``resolvers.tenancy.catalog_view``) share answers;
    None: do not cache for this caller."""
    if principal is None or not principal.has_scope(Scope.CATALOG_READ):
        return None
    view = catalog_view(principal)
    return None if view is None else str(view)


def cache_key(body: bytes, caller: str, media_type: str) -> bytes:
    digest = hashlib.blake2b(body, digest_size=24)
    digest.update(b"\0" + caller.encode() + b"\0" + media_type.encode())
    return digest.digest()


def classify(document: DocumentNode | None, operation_name: str | None) -> Operation:
    """What the GraphQL request does, judged from its (once parsed) document."""
    if document is None:
        return Operation.UNKNOWN
    operation = select_operation(document, operation_name)
    if operation is None:
        return Operation.UNKNOWN
    if operation.operation is not OperationType.QUERY:
        return Operation.WRITE
    selections = operation.selection_set.selections
    # A fragment at the root could hide any field: only plain fields are judged.
    if all(
        isinstance(selection, FieldNode) and selection.name.value in CATALOG_ROOT_FIELDS
        for selection in selections
    ):
        return Operation.CACHEABLE_READ
    return Operation.OTHER_READ
