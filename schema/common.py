"""Relay plumbing shared by every domain: Node, global ids, cursors, connections."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Sequence
from typing import Any, Generic, TypeVar, cast

import orjson
import strawberry

from core.errors import BadInput, ErrorCode, GatewayError
from core.text import text_problem
from schema.compiled.declare import global_id

NodeType = TypeVar("NodeType")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@strawberry.interface(description="An object with a Relay global id.")
class Node:
    # Read from the record's id with the concrete type's name (schema.compiled.declare).
    id: strawberry.ID = global_id(description="Relay global id (opaque).")


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    raw = f"{type_name}:{pk}".encode()
    return strawberry.ID(base64.urlsafe_b64encode(raw).decode().rstrip("="))


def from_global_id(global_id: str) -> tuple[str, int]:
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise GatewayError(ErrorCode.BAD_USER_INPUT, "malformed global id") from None
    if not 0 < number <= INT64_MAX or text_problem(type_name) is not None:
        raise GatewayError(ErrorCode.BAD_USER_INPUT, "malformed global id")
    return type_name, number


@strawberry.type(description="Where a page stands in the whole list (Relay).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A node and the cursor that points just after it.")
class Edge(Generic[NodeType]):
    node: NodeType
    cursor: str


@strawberry.type(description="A page of a list, keyset-paginated (Relay connection).")
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    page_info: PageInfo


def encode_cursor(key: Sequence[Any]) -> str:
    # orjson writes the key without spaces, six times faster than json on every edge of a
    # page; a cursor written by json before (with spaces) still decodes to the same key.
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str, *, length: int) -> list[Any]:
    """A cursor is an opaque keyset position; anything else is ``INVALID_CURSOR``."""
    try:
        if len(cursor) > 512:
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise GatewayError(ErrorCode.INVALID_CURSOR, "cursor is malformed") from None
    if not isinstance(key, list) or len(key) != length:
        raise GatewayError(ErrorCode.INVALID_CURSOR, "cursor does not belong to this list")
    if not all(_is_key_part(part) for part in key):
        raise GatewayError(ErrorCode.INVALID_CURSOR, "cursor is malformed")
    return key


# The characters of every code a partner sends (course, schedule, invoice, redeem...).
_CODE_CHARACTERS = re.compile(r"[A-Za-z0-9._/-]+")


def check_code(value: str, field: str, longest: int) -> str:
    """A code the programme or the partner chose: refused before any SQL when it could not
    match a row (its column holds ``longest`` characters, ``core.limits``)."""
    if not (len(value) <= longest and _CODE_CHARACTERS.fullmatch(value)):
        raise BadInput(f"{field} must be 1 to {longest} letters, digits or ._/-", field=field)
    return value


_CARD_NUMBER = re.compile(r"[0-9]{16}")


def check_card_number(value: str) -> str:
    """A Prakerja card number: exactly 16 digits (and nothing after them)."""
    if not _CARD_NUMBER.fullmatch(value):
        raise BadInput("cardNumber is 16 digits", field="cardNumber")
    return value


# Ids are PostgreSQL bigints: a cursor naming a larger number names no row.
_LARGEST_ID = 2**63 - 1


def id_after(after: str | None) -> int | None:
    """Where a page keyed by id alone starts: after this id, or from the start (``None``)."""
    if after is None:
        return None
    (after_id,) = decode_cursor(after, length=1)
    if not isinstance(after_id, int) or not 0 <= after_id <= _LARGEST_ID:
        raise GatewayError(ErrorCode.INVALID_CURSOR, "cursor is malformed")
    return after_id


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _is_key_part(part: object) -> bool:
    """What a keyset position can hold and PostgreSQL can compare against: a BIGINT, a
    finite float, or text the database can store (``core.text``)."""
    if isinstance(part, bool):
        return False
    if isinstance(part, int):
        return INT64_MIN <= part <= INT64_MAX
    if isinstance(part, float):
        return math.isfinite(part)
    return isinstance(part, str) and text_problem(part) is None


def check_page_size(first: int | None, *, maximum: int = MAX_PAGE_SIZE) -> int:
    if first is None:
        return min(DEFAULT_PAGE_SIZE, maximum)
    if first < 1 or first > maximum:
        raise GatewayError(
            ErrorCode.INVALID_PAGE_SIZE,
            f"first must be between 1 and {maximum}",
            maximum=maximum,
        )
    return first


def build_connection(
    rows: Sequence[NodeType], *, page_size: int, key_of: Any, after: str | None
) -> Connection[NodeType]:
    """``rows`` holds up to ``page_size + 1`` rows; the extra one only says a next page exists."""
    page = list(rows[:page_size])
    edges = [_PagedEdge(row, key_of) for row in page]
    return Connection(
        edges=cast(list[Edge[NodeType]], edges),
        page_info=PageInfo(
            has_next_page=len(rows) > page_size,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


class _PagedEdge(Generic[NodeType]):
    """An ``Edge`` of ``build_connection`` that writes its cursor only when it is read.

    Both executors read an edge's fields by attribute (graphql-core's default resolver, the
    compiled renderer's getters), so this is the ``Edge`` type to each. A page's edges are
    often read for their nodes only, the last cursor coming from ``pageInfo``, and a cursor
    (JSON, then base64) cost the catalog page more than the rest of its connection: 89,000
    of its 1.4 million instructions for 20 edges (bench/instructions.py)."""

    __slots__ = ("_key_of", "node")

    def __init__(self, node: NodeType, key_of: Any) -> None:
        self.node = node
        self._key_of = key_of

    @property
    def cursor(self) -> str:
        return encode_cursor(self._key_of(self.node))
