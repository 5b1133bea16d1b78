"""The one parse of a client's GraphQL document, bounded in bytes and tokens, and cached.

The HTTP view (idempotency, GET mutation check, response cache classification, query cost)
and strawberry's own parsing step (``SharedParse``) all call ``parse_document``: a document
seen in this process is parsed once, and a refused one is remembered as refused, so no
client document is ever lexed twice or without a bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    Visitor,
    parse,
    specified_rules,
    visit,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as create_alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as create_depth_rule
from strawberry.schema.schema import validate_document

from core.errors import ErrorCode
from core.limits import DOCUMENT_MAX_BYTES, DOCUMENT_MAX_TOKENS
from core.text import text_problem

PARSED_DOCUMENTS = 256

# Limits against expensive documents; generous for every real partner query.
MAX_QUERY_DEPTH = 10
MAX_ALIASES = 30
# QueryDepthLimiter and MaxAliasesLimiter build a new rule class per request, which defeats
# a validation cache keyed by the rules: the same rules, built once, let a repeated document
# skip validation.
DEPTH_RULE = create_depth_rule(MAX_QUERY_DEPTH, None, None)
ALIAS_RULE = create_alias_rule(MAX_ALIASES)
# What every document is validated with (the schema adds the two limits to graphql-core's).
DOCUMENT_RULES: tuple[type[ASTValidationRule], ...] = (*specified_rules, DEPTH_RULE, ALIAS_RULE)

# Validations actually run in this process (not answered from the cache): what a test reads
# to show that a registered document is not validated again when it is called.
VALIDATIONS = [0]


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


def _validate(
    schema: Any, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    VALIDATIONS[0] += 1
    return validate_document(schema, document, rules)


validate_cached = lru_cache(maxsize=PARSED_DOCUMENTS)(_validate)


class CheckedValidation(SchemaExtension):
    """Strawberry's validation step: each document once per process (cached), and a trusted
    document not at all: it was validated against this very schema when it was registered
    (the view marks it, ``schema/trusted.py`` says when that holds)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        request = getattr(context.context, "request", None)
        if getattr(getattr(request, "state", None), "prevalidated", False):
            context.pre_execution_errors = []
        elif context.graphql_document is not None:
            context.pre_execution_errors = validate_cached(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
        yield
