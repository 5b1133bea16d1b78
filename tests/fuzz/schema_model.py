"""The schema as a client sees it (introspection), and documents built from it.

Used by the bad-string walk (every string argument of every root field) and by the fuzzer
(``bench/fuzz.py`` and its small CI run): nothing here knows a field by name, so a field
added tomorrow is covered without editing this file.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    is_leaf_type,
)

STRING_SCALARS = frozenset({"String", "ID"})

INTROSPECTION_QUERY = get_introspection_query(descriptions=False)


def client_schema(introspection: dict[str, Any]) -> GraphQLSchema:
    return build_client_schema(introspection)


def root_fields(schema: GraphQLSchema) -> list[tuple[str, str, GraphQLField]]:
    roots = [("Query", schema.query_type), ("Mutation", schema.mutation_type)]
    return [
        (root, name, field)
        for root, type_ in roots
        if type_ is not None
        for name, field in type_.fields.items()
    ]


def type_ref(type_: GraphQLInputType) -> str:
    return str(type_)


def placeholder(type_: GraphQLInputType, rng: random.Random | None = None) -> Any:
    """A value of the type, plausible enough to reach the resolver (random with ``rng``)."""
    if isinstance(type_, GraphQLNonNull):
        return placeholder(type_.of_type, rng)
    if isinstance(type_, GraphQLList):
        count = 1 if rng is None else rng.randint(0, 3)
        return [placeholder(type_.of_type, rng) for _ in range(count)]
    if isinstance(type_, GraphQLEnumType):
        values = list(type_.values)
        return values[0] if rng is None else rng.choice(values)
    if isinstance(type_, GraphQLInputObjectType):
        value: dict[str, Any] = {}
        for name, field in type_.fields.items():
            required = isinstance(field.type, GraphQLNonNull)
            if required or (rng is not None and rng.random() < 0.5):
                value[name] = placeholder(field.type, rng)
        return value
    assert isinstance(type_, GraphQLScalarType)
    return scalar_value(type_.name, rng)


def scalar_value(name: str, rng: random.Random | None) -> Any:
    if rng is None:
        return {
            "Int": 1,
            "Float": 1.0,
            "Boolean": False,
            "Rupiah": "1",
            "Date": "2024-01-01",
            "DateTime": "2024-01-01T00:00:00+07:00",
        }.get(name, "x")
    return rng.choice(SCALAR_SAMPLES.get(name, STRING_SAMPLES))


# Valid, edge and hostile values per scalar: what a careless or hostile client sends.
STRING_SAMPLES: list[Any] = [
    "x",
    "",
    " ",
    "DP-001",
    "LP-0001",
    "CRS-000001",
    "A\u0000",
    "\ud800",
    "é" * 300,
    "x" * 5000,
    "%' OR 1=1 --",
    "\\",
    "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwXQ",
    "WzFlOTk5XQ",
    "WyJhIl0",
    "TWFudWFs",
    "🙂",
    12,
    None,
]
SCALAR_SAMPLES: dict[str, list[Any]] = {
    "Int": [0, 1, -1, 20, 100, 101, 2**31 - 1, -(2**31), 2**40, "1", 1.5, None],
    "Float": [0.0, -1.0, 1e308, "x", None],
    "Boolean": [True, False, "true", 0, None],
    "Rupiah": ["0", "1", "600000", "-1", "9" * 18, "9" * 19, 10**30, "1.5", "", "x", None],
    "Date": ["2024-01-01", "2024-02-30", "0000-01-01", "9999-12-31", "x", "", None],
    "DateTime": [
        "2024-01-01T00:00:00+07:00",
        "2024-01-01T00:00:00",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "x",
        None,
    ],
}


@dataclass(frozen=True)
class Call:
    """One root field called with every argument as a variable."""

    root: str
    field: str
    document: str
    variables: dict[str, Any]


def selection(type_: GraphQLOutputType, rng: random.Random | None, depth: int = 0) -> str:
    """A selection set for the type (empty for a leaf): ``__typename`` alone without rng."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if rng is None or depth >= 3:
        return "{ __typename }"
    assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)
    if isinstance(named, GraphQLUnionType):
        return "{ __typename }"
    parts = ["__typename"]
    for name, field in named.fields.items():
        if rng.random() < 0.4:
            args = ""
            if field.args:
                given = [
                    f"{arg}: {_literal(placeholder(a.type, rng))}"
                    for arg, a in field.args.items()
                    if isinstance(a.type, GraphQLNonNull) or rng.random() < 0.4
                ]
                args = f"({', '.join(given)})" if given else ""
            parts.append(f"{name}{args} {selection(field.type, rng, depth + 1)}")
    return "{ " + " ".join(parts) + " }"


def _literal(value: Any) -> str:
    """A GraphQL literal for a JSON-ish value (strings escaped as JSON, which GraphQL reads)."""
    import json

    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value)


def call(root: str, name: str, field: GraphQLField, rng: random.Random | None = None) -> Call:
    declared = ", ".join(f"${arg}: {type_ref(a.type)}" for arg, a in field.args.items())
    used = ", ".join(f"{arg}: ${arg}" for arg in field.args)
    operation = "mutation" if root == "Mutation" else "query"
    head = f"{operation} Probe" + (f"({declared})" if declared else "")
    body = name + (f"({used})" if used else "") + " " + selection(field.type, rng)
    variables = {
        arg: placeholder(a.type, rng)
        for arg, a in field.args.items()
        if rng is None or isinstance(a.type, GraphQLNonNull) or rng.random() < 0.6
    }
    return Call(root, name, f"{head} {{ {body} }}", variables)


def string_paths(
    type_: GraphQLInputType, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[str | int, ...]]:
    """Every place in a placeholder value of the type where a string goes."""
    if isinstance(type_, GraphQLNonNull):
        yield from string_paths(type_.of_type, path)
    elif isinstance(type_, GraphQLList):
        yield from string_paths(type_.of_type, (*path, 0))
    elif isinstance(type_, GraphQLInputObjectType):
        for name, field in type_.fields.items():
            yield from string_paths(field.type, (*path, name))
    elif isinstance(type_, GraphQLScalarType) and type_.name in STRING_SCALARS:
        yield path


def with_value(value: Any, type_: GraphQLInputType, path: tuple[str | int, ...], leaf: Any) -> Any:
    """``value`` (a placeholder of ``type_``) with the string at ``path`` replaced by ``leaf``,
    creating optional input fields on the way."""
    if not path:
        return leaf
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    head, rest = path[0], path[1:]
    if isinstance(type_, GraphQLList):
        inner = type_.of_type
        items = list(value) if isinstance(value, list) and value else [placeholder(inner)]
        items[0] = with_value(items[0], inner, rest, leaf)
        return items
    assert isinstance(type_, GraphQLInputObjectType) and isinstance(head, str)
    field_type = type_.fields[head].type
    current = dict(value or {})
    current[head] = with_value(current.get(head, placeholder(field_type)), field_type, rest, leaf)
    return current
