"""The one parse of a client's GraphQL document, bounded in bytes and tokens, and cached.

The HTTP view (idempotency, GET mutation check, response cache classification, query cost)
and strawberry's own parsing step (``SharedParse``) all call ``parse_document``: a document
seen in this process is parsed once, and a refused one is remembered as refused, so no
client document is ever lexed twice or without a bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    Visitor,
    parse,
    visit,
)
from strawberry.extensions import SchemaExtension

from core.errors import ErrorCode
from core.limits import DOCUMENT_MAX_BYTES, DOCUMENT_MAX_TOKENS
from core.text import text_problem

PARSED_DOCUMENTS = 256


@lru_cache(maxsize=PARSED_DOCUMENTS)
def _parse(query: str) -> DocumentNode | GraphQLError:
    # Characters first (cheap), then bytes: a document may not exceed the limit in either.
    if len(query) > DOCUMENT_MAX_BYTES or len(query.encode("utf-8", "surrogatepass")) > (
        DOCUMENT_MAX_BYTES
    ):
        return GraphQLError(
            f"Document is too large: at most {DOCUMENT_MAX_BYTES} bytes are accepted.",
            extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
        )
    try:
        document = parse(query, max_tokens=DOCUMENT_MAX_TOKENS)
    except GraphQLError as error:
        return error
    # The lexer already refuses raw NUL characters and surrogates in a document; only an
    # escape sequence (\u0000, \u{0}) can put a NUL into a string literal.
    if "\\u" in query:
        for node in _string_literals(document):
            problem = text_problem(node.value)
            if problem is not None:
                return GraphQLError(
                    f"Invalid string literal: {problem}.",
                    nodes=[node],
                    extensions={"code": ErrorCode.BAD_USER_INPUT.value},
                )
    return document


def _string_literals(document: DocumentNode) -> list[StringValueNode]:
    found: list[StringValueNode] = []

    class Collect(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: object) -> None:
            found.append(node)

    visit(document, Collect())
    return found


def parse_document(query: str) -> DocumentNode:
    """The parsed document; raises the (cached) ``GraphQLError`` of a refused one."""
    parsed = _parse(query)
    if isinstance(parsed, GraphQLError):
        raise parsed
    return parsed


def try_parse(query: object) -> DocumentNode | None:
    if not isinstance(query, str):
        return None
    parsed = _parse(query)
    return None if isinstance(parsed, GraphQLError) else parsed


def select_operation(
    document: DocumentNode, operation_name: object
) -> OperationDefinitionNode | None:
    """The operation a request runs, as GraphQL execution picks it (None if ambiguous)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    for operation in operations:
        if operation.name is not None and operation.name.value == operation_name:
            return operation
    return None


def is_mutation(document: DocumentNode | None, operation_name: object) -> bool:
    if document is None:
        return False
    operation = select_operation(document, operation_name)
    return operation is not None and operation.operation is OperationType.MUTATION


class SharedParse(SchemaExtension):
    """Strawberry's parsing step, served from the same cache as the HTTP view's checks."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            context.graphql_document = parse_document(context.query)
        yield
