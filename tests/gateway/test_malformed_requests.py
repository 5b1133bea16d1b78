"""Malformed request bodies get a JSON 4xx with a code, never a plain-text 500."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.gateway import Tokens


@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b"true",
        b"42",
        b'"x"',
        b"[]",
        b'{"query": "\xff"}',
        b"[" * 100_000,
        b'{"query": "{ viewer { code } }", "variables": {"v": ' + b"[" * 100_000 + b"}",
        b'{"query": "{ viewer { code } }", "variables": '
        + b'{"a":' * 200
        + b"1"
        + b"}" * 200
        + b"}",
        b'{"query": 42}',
        b'{"query": "{ viewer { code } }", "variables": [1]}',
        b'{"query": "{ viewer { code } }", "operationName": 7}',
        b"{not json",
        # The one text rule (core/text.py) holds for the document and the operation too.
        b'{"query": "{ viewer { code } }\\ud800"}',
        b'{"query": "{ viewer { code } }\\u0000"}',
        b'{"query": "query A { viewer { code } }", "operationName": "A\\udfff"}',
    ],
)
async def test_malformed_body_is_a_json_400(tokens: Tokens, body: bytes) -> None:
    headers = {**await tokens.headers("PMO"), "content-type": "application/json"}
    response = await tokens.http.post("/graphql", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_post_without_content_type_is_415(tokens: Tokens) -> None:
    headers = await tokens.headers("PMO")
    body = json.dumps({"query": "{ viewer { code } }"}).encode()
    response = await tokens.http.post("/graphql", content=body, headers=headers)
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_get_with_malformed_variables_is_a_json_400(tokens: Tokens) -> None:
    headers = await tokens.headers("PMO")
    response = await tokens.http.get(
        "/graphql",
        params={"query": "{ viewer { code } }", "variables": "[" * 5_000},
        headers=headers,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_huge_documents_are_refused_by_size_before_any_parse(tokens: Tokens) -> None:
    """A 900 KB document (mutations, or only comments) is refused, idempotency key or not."""
    headers = {**await tokens.headers("PMO"), "Idempotency-Key": "huge-1"}
    mutations = "mutation { " + 'a: approveCourse(code: "X") { course { code } } ' * 20_000 + "}"
    comments = "#" + "x" * 900_000 + "\n{ viewer { code } }"
    for document in (mutations[:900_000], comments):
        started = time.perf_counter()
        response = await tokens.http.post("/graphql", json={"query": document}, headers=headers)
        body = response.json()
        assert "data" not in body or body["data"] is None
        assert "too large" in body["errors"][0]["message"]
        # Not a timing assertion on speed: a bound that only an unbounded parse would break.
        assert time.perf_counter() - started < 5


async def test_a_document_is_parsed_once_per_request(tokens: Tokens) -> None:
    from schema.documents import _parse

    headers = {**await tokens.headers("PMO"), "Idempotency-Key": "once-1"}
    document = 'mutation { approveCourse(code: "CRS-NOPE-ONCE") { course { code } } }'
    _parse.cache_clear()
    await tokens.http.post("/graphql", json={"query": document}, headers=headers)
    info = _parse.cache_info()
    assert info.misses == 1
