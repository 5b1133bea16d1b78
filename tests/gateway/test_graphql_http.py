"""GraphQL over HTTP: media types, status codes, GET for queries only, masked errors."""

from __future__ import annotations

import httpx

from tests.support.gateway import Tokens

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def _post(tokens: Tokens, query: str, accept: str) -> httpx.Response:
    headers = {**await tokens.headers("PMO"), "Accept": accept}
    return await tokens.http.post("/graphql", json={"query": query}, headers=headers)


async def test_graphql_response_media_type_when_accepted(tokens: Tokens) -> None:
    ok = await _post(tokens, "{ viewer { code } }", GRAPHQL_RESPONSE)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert ok.json()["data"] == {"viewer": {"code": "PMO"}}
    assert ok.json()["extensions"]["cost"]["requested"] == 1


async def test_unparseable_and_invalid_documents_are_400_without_data(tokens: Tokens) -> None:
    for document, code in (("{ viewer {", "GRAPHQL_VALIDATION_FAILED"), ("{ nope }", None)):
        response = await _post(tokens, document, GRAPHQL_RESPONSE)
        assert response.status_code == 400
        body = response.json()
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == (code or "GRAPHQL_VALIDATION_FAILED")


async def test_a_field_error_keeps_data_and_status_200(tokens: Tokens) -> None:
    response = await _post(tokens, '{ course(code: "CRS-NOPE") { code } }', GRAPHQL_RESPONSE)
    assert response.status_code == 200
    body = response.json()
    assert "data" in body
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_plain_json_clients_get_application_json(tokens: Tokens) -> None:
    response = await _post(tokens, "{ nope }", "application/json")
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_get_serves_queries_but_never_mutations(tokens: Tokens) -> None:
    headers = await tokens.headers("PMO")
    query = await tokens.http.get(
        "/graphql", params={"query": "{ viewer { code } }"}, headers=headers
    )
    assert query.json()["data"] == {"viewer": {"code": "PMO"}}
    mutation = await tokens.http.get(
        "/graphql",
        params={"query": 'mutation { approveCourse(code: "CRS-000001") { course { code } } }'},
        headers=headers,
    )
    assert mutation.status_code == 405


async def test_no_stack_trace_or_internal_detail_leaks(tokens: Tokens) -> None:
    """Whatever the input, a response never carries a traceback."""
    for document in ("{ courses(first: 0) { edges { cursor } } }", '{ course(code: "") { code } }'):
        response = await _post(tokens, document, "application/json")
        text = response.text
        assert "Traceback" not in text
        assert "sqlalchemy" not in text.lower()
        assert response.json()["errors"][0]["extensions"]["code"] != "INTERNAL_ERROR"


async def test_an_oversized_body_is_refused_before_parsing(tokens: Tokens) -> None:
    headers = await tokens.headers("PMO")
    huge = {"query": "{ viewer { code } }", "variables": {"padding": "x" * (2 * 1024 * 1024)}}
    response = await tokens.http.post("/graphql", json=huge, headers=headers)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert response.headers["x-request-id"]

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65536

    streamed = await tokens.http.post(
        "/graphql", content=chunks(), headers={**headers, "content-type": "application/json"}
    )
    assert streamed.status_code == 413
