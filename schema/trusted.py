"""Trusted documents: what is worked out once, when a client's document is registered.

A document is registered as the exact text the client will send (one file, one document; it
may hold several named operations, chosen per call by ``operationName`` as usual). Its id is
``sha256:`` and the lower-case hex SHA-256 of that text's UTF-8 bytes (``sha256sum`` of the
file), the form of GraphQL over HTTP's persisted documents and of Apollo's persisted queries.

At registration the document is parsed (the same bounded parse as any request), validated
with the schema's rules and costed (``schema/cost.py``); a document that does not validate,
or one of whose operations costs more than a request may, is refused. The results are
stored (``resolvers/documents.py``): a call by id neither validates nor costs it again, as
long as the running schema is the one it was validated against (else it is validated once
per process, like any document).

Programme management registers documents and sets a client "registered documents only"
with the fields below; ``prakerja-gateway documents register|list|require`` does the same
from a shell.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

import strawberry
from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    print_schema,
    visit,
)

from auth.permissions import requires
from auth.scopes import Scope
from core.errors import ErrorCode, GatewayError
from resolvers import documents as document_resolvers
from resolvers.documents import DocumentRecord, NewDocument
from schema.common import Connection, build_connection, check_page_size, id_after
from schema.cost import MAX_QUERY_COST, document_cost
from schema.documents import DOCUMENT_RULES, parse_document, validate_cached
from schema.info import Info, actor_of

DOCUMENT_ID_PREFIX = "sha256:"


def document_sha256(text: str) -> str:
    """The hex SHA-256 of a document's UTF-8 text (what ``sha256sum`` prints for its file)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=4)
def schema_sha256(schema: GraphQLSchema) -> str:
    """The running schema's fingerprint: a stored validation holds only under the same one."""
    return hashlib.sha256(print_schema(schema).encode()).hexdigest()


def analyze(schema: GraphQLSchema, body: str) -> NewDocument:
    """Parses, validates and costs a document for registration; refuses (DOCUMENT_INVALID or
    QUERY_TOO_COSTLY) a document that could never run."""
    try:
        document = parse_document(body)
    except GraphQLError as error:
        raise GatewayError(
            ErrorCode.DOCUMENT_INVALID, f"the document does not parse: {error.message}"
        ) from None
    errors = validate_cached(schema, document, DOCUMENT_RULES)
    if errors:
        raise GatewayError(
            ErrorCode.DOCUMENT_INVALID,
            "the document does not validate: " + "; ".join(e.message for e in errors[:5]),
        )
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    costs = [
        document_cost(schema, document, None if op.name is None else op.name.value, None) or 0
        for op in operations
    ]
    cost = max(costs, default=0)
    if cost > MAX_QUERY_COST:
        raise GatewayError(
            ErrorCode.QUERY_TOO_COSTLY,
            f"an operation of this document costs {cost} points, above the limit of "
            f"{MAX_QUERY_COST}: it could never run",
            cost=cost,
            limit=MAX_QUERY_COST,
        )
    return NewDocument(
        sha256=document_sha256(body),
        body=body,
        operation_names=tuple(op.name.value for op in operations if op.name is not None),
        cost=cost,
        page_variables=tuple(sorted(_page_variables(document))),
        schema_sha256=schema_sha256(schema),
    )


def _page_variables(document: DocumentNode) -> set[str]:
    """Variables given as a page size (``first: $n``): a call that sets one changes the cost."""
    found: set[str] = set()

    class Collect(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: object) -> None:
            if node.name.value == "first" and isinstance(node.value, VariableNode):
                found.add(node.value.name.value)

    visit(document, Collect())
    return found


def parse_document_id(value: str) -> str | None:
    """The hex hash of a ``sha256:<64 hex digits>`` document id; None for anything else."""
    if not value.startswith(DOCUMENT_ID_PREFIX):
        return None
    return parse_sha256(value[len(DOCUMENT_ID_PREFIX) :])


def parse_sha256(value: str) -> str | None:
    digits = value.lower()
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        return None
    return digits


@strawberry.type(description="A document registered for a client, called by its id.")
class TrustedDocument:
    pk: strawberry.Private[int]
    document_id: str = strawberry.field(
        description="What a call sends: `documentId` (GraphQL over HTTP) as it is, or the hex "
        "part as Apollo's `extensions.persistedQuery.sha256Hash`."
    )
    client_id: str
    operation_names: list[str] = strawberry.field(
        description="The named operations in it (choose one with operationName)."
    )
    cost: int = strawberry.field(
        description="Its static cost, worked out at registration with every page at its "
        "default size (a call that sets a page-size variable is costed for that size)."
    )
    document: str = strawberry.field(description="The registered text, byte for byte.")
    registered_by: str
    registered_at: datetime

    @classmethod
    def from_record(cls, record: DocumentRecord) -> TrustedDocument:
        return cls(
            pk=record.id,
            document_id=DOCUMENT_ID_PREFIX + record.sha256,
            client_id=record.client_id,
            operation_names=list(record.operation_names),
            cost=record.cost,
            document=record.body,
            registered_by=record.registered_by,
            registered_at=record.registered_at,
        )


@strawberry.type(description="A client's document policy.")
class ClientDocumentPolicy:
    client_id: str
    registered_documents_only: bool = strawberry.field(
        description="Only registered documents run for this client; any other document is "
        "refused with DOCUMENT_NOT_REGISTERED."
    )


def _records(records: Iterable[DocumentRecord]) -> list[TrustedDocument]:
    return [TrustedDocument.from_record(record) for record in records]


@strawberry.type
class TrustedDocumentQuery:
    @strawberry.field(
        description="The documents registered for a client, in registration order.",
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def trusted_documents(
        self, info: Info, client_id: str, first: int | None = None, after: str | None = None
    ) -> Connection[TrustedDocument]:
        page_size = check_page_size(first)
        records = await document_resolvers.list_documents(
            info.context.session, client_id, after_id=id_after(after), limit=page_size + 1
        )
        return build_connection(
            _records(records),
            page_size=page_size,
            key_of=lambda document: (document.pk,),
            after=after,
        )


@strawberry.type
class TrustedDocumentMutation:
    @strawberry.mutation(
        description=(
            "Registers a document for a client: validated and costed now, once, then callable "
            "by its id. Registering the same text again changes nothing and answers the same "
            "document."
        ),
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def register_document(
        self, info: Info, client_id: str, document: str
    ) -> TrustedDocument | None:
        analysed = analyze(info.schema._schema, document)
        registration = await document_resolvers.register_document(
            info.context.session, analysed, client_id=client_id, actor=actor_of(info)
        )
        return TrustedDocument.from_record(registration.document)

    @strawberry.mutation(
        description=(
            "Sets whether a client may run its registered documents only (production) or any "
            "document (development). Takes effect at once in every gateway process."
        ),
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def set_client_document_policy(
        self, info: Info, client_id: str, registered_documents_only: bool
    ) -> ClientDocumentPolicy | None:
        flag = await document_resolvers.set_registered_only(
            info.context.session, client_id, registered_documents_only, actor=actor_of(info)
        )
        return ClientDocumentPolicy(client_id=client_id, registered_documents_only=flag)
