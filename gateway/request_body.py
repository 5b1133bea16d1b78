"""Reading a GraphQL request off HTTP: once, bounded, and refused with a JSON 4xx when malformed.

Strawberry would answer a body it cannot use with a plain-text error (or a 500 for JSON that
is valid but not an object, or nested past Python's recursion limit). Every GraphQL request
is read here instead, before anything else looks at it: the body must be UTF-8 JSON (POST
with ``Content-Type: application/json``, per GraphQL over HTTP), an object whose members have
the types the spec gives them, no deeper than ``JSON_MAX_DEPTH``, and with no string a
database could not hold (``core.text``). The document is parsed once, through the bounded,
shared cache of ``schema.documents``.

A request may name a registered document instead of sending one: ``documentId`` (GraphQL
over HTTP's persisted documents) or ``extensions.persistedQuery`` (Apollo's persisted
queries); only their shape is checked here, ``gateway/trusted_documents.py`` resolves them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode
from starlette.requests import Request

from core.errors import ErrorCode
from core.limits import JSON_MAX_DEPTH
from core.text import text_problem
from resolvers.documents import DocumentRecord
from schema.documents import try_parse
from schema.trusted import parse_sha256


class MalformedRequest(Exception):
    def __init__(self, code: ErrorCode, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class GraphQLRequest:
    # Empty only until a call by id is resolved (``gateway/trusted_documents.py``).
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    # None when the document does not parse: strawberry then reports the syntax error.
    document: DocumentNode | None
    # ``documentId`` as sent, and the hex hash of ``extensions.persistedQuery``.
    document_id: str | None = None
    persisted_hash: str | None = None
    # The registered document this request runs, once resolved.
    trusted: DocumentRecord | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "variables": self.variables,
            "operationName": self.operation_name,
        }


async def read_graphql_request(request: Request) -> GraphQLRequest:
    if request.method == "GET":
        params = request.query_params
        raw: dict[str, Any] = {"query": params.get("query")}
        for member in ("operationName", "documentId"):
            if params.get(member):
                raw[member] = params[member]
        for member in ("variables", "extensions"):
            if params.get(member):
                raw[member] = _decode_json(params[member].encode(), member)
    else:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise MalformedRequest(
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                "POST a GraphQL request as JSON, with Content-Type: application/json",
                status=415,
            )
        raw = _decode_json(await request.body(), "body")
        if not isinstance(raw, dict):
            raise MalformedRequest(
                ErrorCode.BAD_REQUEST, "the request body must be a JSON object with a query"
            )
    query = raw.get("query")
    variables = _optional(raw, "variables", dict)
    operation_name = _optional(raw, "operationName", str)
    extensions = _optional(raw, "extensions", dict)
    document_id = _optional(raw, "documentId", str)
    persisted_hash = _persisted_hash(extensions)
    if document_id is not None and query is not None:
        raise MalformedRequest(
            ErrorCode.BAD_REQUEST, "send either a query or a documentId, not both"
        )
    by_id = document_id is not None or (persisted_hash is not None and query is None)
    if not by_id and (not isinstance(query, str) or not query):
        raise MalformedRequest(ErrorCode.BAD_REQUEST, "query must be a non-empty string")
    for member, text in (("query", query), ("operationName", operation_name)):
        problem = text_problem(text) if isinstance(text, str) else None
        if problem is not None:
            raise MalformedRequest(ErrorCode.BAD_REQUEST, f"{member}: {problem}")
    _check_values(variables)
    return GraphQLRequest(
        query=query or "",
        variables=variables,
        operation_name=operation_name,
        extensions=extensions,
        document=None if by_id else try_parse(query),
        document_id=document_id,
        persisted_hash=persisted_hash,
    )


def _persisted_hash(extensions: dict[str, Any] | None) -> str | None:
    """The hash of Apollo's ``extensions.persistedQuery`` (version 1), when there is one."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise MalformedRequest(
            ErrorCode.BAD_REQUEST, "extensions.persistedQuery must be {version: 1, sha256Hash}"
        )
    digest = persisted.get("sha256Hash")
    hex_digest = parse_sha256(digest) if isinstance(digest, str) else None
    if hex_digest is None:
        raise MalformedRequest(
            ErrorCode.BAD_REQUEST,
            "extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits",
        )
    return hex_digest


def _decode_json(data: bytes, what: str) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest(ErrorCode.BAD_REQUEST, f"{what} is not valid UTF-8") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise MalformedRequest(
            ErrorCode.BAD_REQUEST, f"{what} is nested deeper than {JSON_MAX_DEPTH} levels"
        ) from None
    except ValueError:
        raise MalformedRequest(ErrorCode.BAD_REQUEST, f"{what} is not valid JSON") from None
    _check_depth(value, what)
    return value


def _optional(raw: dict[str, Any], member: str, kind: type) -> Any:
    value = raw.get(member)
    if value is not None and not isinstance(value, kind):
        expected = "an object" if kind is dict else "a string"
        raise MalformedRequest(ErrorCode.BAD_REQUEST, f"{member} must be {expected} or null")
    return value


def _check_depth(value: Any, what: str) -> None:
    # Iterative, so a hostile nesting cannot exhaust the stack of the check itself.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > JSON_MAX_DEPTH:
                raise MalformedRequest(
                    ErrorCode.BAD_REQUEST,
                    f"{what} is nested deeper than {JSON_MAX_DEPTH} levels",
                )
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _check_values(variables: dict[str, Any] | None) -> None:
    """Every string in the variables (keys included) passes the one text rule."""
    stack: list[Any] = [variables]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                raise MalformedRequest(ErrorCode.BAD_USER_INPUT, f"a variable's {problem}")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
