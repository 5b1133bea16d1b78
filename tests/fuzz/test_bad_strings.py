"""Every string argument of the schema refuses a NUL and a lone surrogate as the client's
mistake (``BAD_USER_INPUT``), before any SQL: never ``INTERNAL_ERROR``.

The arguments come from introspection over HTTP, so a field added later is walked too. Each
is called by a partner type that may call it (the access matrix's table), so the value
would reach the resolver if the rule at the gateway's edge did not stop it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from graphql import GraphQLField

from auth.scopes import allowed_scopes
from core.enums import PartnerType
from tests.auth.test_access_matrix import REQUIRED
from tests.fuzz.schema_model import (
    INTROSPECTION_QUERY,
    _literal,
    call,
    client_schema,
    placeholder,
    root_fields,
    string_paths,
    with_value,
)
from tests.support.gateway import Tokens

BAD_STRINGS = ("A\u0000", "\ud800")


def _caller(root: str, name: str) -> PartnerType:
    needed = REQUIRED[f"{root}.{name}"]
    for partner_type in PartnerType:
        held = {scope.value for scope in allowed_scopes(partner_type)}
        if not needed or needed & held:
            return partner_type
    raise AssertionError(f"nobody may call {root}.{name}")


async def _post(http: httpx.AsyncClient, headers: dict[str, str], payload: Any) -> httpx.Response:
    # json.dumps escapes a lone surrogate as \ud800, exactly what a JSON client sends.
    body = json.dumps(payload).encode()
    return await http.post(
        "/graphql", content=body, headers={**headers, "content-type": "application/json"}
    )


def _literal_document(root: str, name: str, field: GraphQLField, values: dict[str, Any]) -> str:
    args = ", ".join(f"{arg}: {_literal(value)}" for arg, value in values.items())
    operation = "mutation" if root == "Mutation" else "query"
    probe = call(root, name, field)
    selection = probe.document[probe.document.index(name) :].split(")", 1)[-1]
    if not field.args:
        selection = probe.document.split(name, 1)[1]
    return f"{operation} {{ {name}({args}) {selection}"


async def test_every_string_argument_refuses_nul_and_lone_surrogates(tokens: Tokens) -> None:
    headers = await tokens.headers(PartnerType.PROGRAM_MANAGEMENT)
    introspection = await _post(tokens.http, headers, {"query": INTROSPECTION_QUERY})
    schema = client_schema(introspection.json()["data"])
    probes = 0
    for root, name, field in root_fields(schema):
        caller = await tokens.headers(_caller(root, name))
        base = call(root, name, field)
        for arg, argument in field.args.items():
            for path in string_paths(argument.type):
                for bad in BAD_STRINGS:
                    value = with_value(placeholder(argument.type), argument.type, path, bad)
                    variables = {**base.variables, arg: value}
                    as_variable = {"query": base.document, "variables": variables}
                    literal = _literal_document(root, name, field, variables)
                    for payload in (as_variable, {"query": literal}):
                        response = await _post(tokens.http, caller, payload)
                        probes += 1
                        where = f"{root}.{name}({arg} at {path}) = {bad!r}: {response.text}"
                        assert response.status_code < 500, where
                        body = response.json()
                        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
                        assert codes, where
                        assert "INTERNAL_ERROR" not in codes, where
                        assert not (body.get("data") or {}).get(name), where
                        if payload is as_variable or bad == "A\u0000":
                            assert codes == ["BAD_USER_INPUT"], where
    assert probes > 100


async def test_a_cursor_beyond_64_bits_is_an_invalid_cursor(tokens: Tokens) -> None:
    for cursor in ("WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwXQ", "WzFlOTk5XQ", "WyJBXHUwMDAwIl0"):
        body = await tokens.graphql(
            PartnerType.PLATFORM,
            "query($c: String) { enrollments(after: $c) { edges { cursor } } }",
            {"c": cursor},
        )
        errors = body["errors"]
        assert isinstance(errors, list)
        assert errors[0]["extensions"]["code"] == "INVALID_CURSOR", body
