"""Trusted documents through HTTP: registering, calling by id in both forms, every refusal,
registered-only clients, and a registered document's cost and validation computed once."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from sqlalchemy import func, select, text

from core.db.database import Database
from core.models import AuditRecord
from schema import cost as cost_module
from schema import documents as documents_module
from tests.support.gateway import Tokens

COURSES = "query Courses { courses(first: 3) { edges { node { code } } } }\n"
PAGED = "query Paged($n: Int) { courses(first: $n) { edges { node { code } } } }\n"
VIEWER = "query Viewer { viewer { code } }\n"

REGISTER = """
mutation($client: String!, $document: String!) {
  registerDocument(clientId: $client, document: $document) {
    documentId clientId operationNames cost document registeredBy
  }
}"""
POLICY = """
mutation($client: String!, $only: Boolean!) {
  setClientDocumentPolicy(clientId: $client, registeredDocumentsOnly: $only) {
    clientId registeredDocumentsOnly
  }
}"""
LIST = """
query($client: String!, $first: Int, $after: String) {
  trustedDocuments(clientId: $client, first: $first, after: $after) {
    edges { node { documentId operationNames cost } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def sha256(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()


async def client_id_of(tokens: Tokens, partner: str) -> str:
    return (await tokens.client_for(partner)).client_id


async def register(tokens: Tokens, client_id: str, document: str) -> dict[str, Any]:
    body = await tokens.graphql("PMO", REGISTER, {"client": client_id, "document": document})
    assert "errors" not in body, body
    registered: dict[str, Any] = body["data"]["registerDocument"]  # type: ignore[index]
    return registered


async def set_only(tokens: Tokens, client_id: str, only: bool) -> None:
    body = await tokens.graphql("PMO", POLICY, {"client": client_id, "only": only})
    assert body["data"] == {  # type: ignore[comparison-overlap]
        "setClientDocumentPolicy": {"clientId": client_id, "registeredDocumentsOnly": only}
    }, body


async def post(tokens: Tokens, partner: str, payload: dict[str, Any]) -> httpx.Response:
    return await tokens.http.post("/graphql", json=payload, headers=await tokens.headers(partner))


def code_of(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


async def test_a_registered_document_is_called_by_documentid_post_and_get(
    tokens: Tokens,
) -> None:
    client_id = await client_id_of(tokens, "DP-001")
    registered = await register(tokens, client_id, COURSES)
    assert registered["documentId"] == f"sha256:{sha256(COURSES)}"
    assert registered["operationNames"] == ["Courses"]
    assert registered["cost"] == 2 + 3
    assert registered["document"] == COURSES

    adhoc = await post(tokens, "DP-001", {"query": COURSES})
    by_post = await post(tokens, "DP-001", {"documentId": registered["documentId"]})
    by_get = await tokens.http.get(
        "/graphql",
        params={"documentId": registered["documentId"]},
        headers=await tokens.headers("DP-001"),
    )
    for response in (by_post, by_get):
        assert response.status_code == 200, response.text
        assert response.json()["data"] == adhoc.json()["data"]
        assert response.json()["extensions"]["cost"]["requested"] == 5
    # Upper-case hex names the same document.
    upper = await post(tokens, "DP-001", {"documentId": "sha256:" + sha256(COURSES).upper()})
    assert upper.json()["data"] == adhoc.json()["data"]


async def test_registering_again_is_idempotent_and_audited_once(
    tokens: Tokens, database: Database
) -> None:
    client_id = await client_id_of(tokens, "DP-001")
    first = await register(tokens, client_id, VIEWER)
    again = await register(tokens, client_id, VIEWER)
    assert first == again
    async with database.sessionmaker() as session:
        audits = await session.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(
                AuditRecord.action == "document.registered",
                AuditRecord.after["sha256"].astext == sha256(VIEWER),
            )
        )
    assert audits == 1


async def test_the_list_is_paginated_by_keyset(tokens: Tokens) -> None:
    client_id = await client_id_of(tokens, "DP-001")
    documents = [f"query Q{i} {{ viewer {{ code }} }}" for i in range(3)]
    for document in documents:
        await register(tokens, client_id, document)
    first = await tokens.graphql("PMO", LIST, {"client": client_id, "first": 2})
    page: Any = first["data"]["trustedDocuments"]  # type: ignore[index]
    assert [e["node"]["operationNames"] for e in page["edges"]] == [["Q0"], ["Q1"]]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await tokens.graphql(
        "PMO", LIST, {"client": client_id, "first": 2, "after": page["pageInfo"]["endCursor"]}
    )
    tail: Any = rest["data"]["trustedDocuments"]  # type: ignore[index]
    assert [e["node"]["operationNames"] for e in tail["edges"]] == [["Q2"]]
    assert tail["pageInfo"]["hasNextPage"] is False


async def test_registration_refuses_what_could_never_run(tokens: Tokens) -> None:
    client_id = await client_id_of(tokens, "DP-001")
    cases = {
        "query { nope }": "DOCUMENT_INVALID",
        "query {": "DOCUMENT_INVALID",
        "{ "
        + " ".join(
            f"a{i}: courses(first: 100) {{ edges {{ node {{ schedules(first: 20) {{ code }} }} }} }}"  # noqa: E501
            for i in range(5)
        )
        + " }": "QUERY_TOO_COSTLY",
    }
    for document, code in cases.items():
        body = await tokens.graphql("PMO", REGISTER, {"client": client_id, "document": document})
        assert body["data"] == {"registerDocument": None}  # type: ignore[comparison-overlap]
        assert body["errors"][0]["extensions"]["code"] == code, body  # type: ignore[index]
    unknown = await tokens.graphql("PMO", REGISTER, {"client": "no-such", "document": VIEWER})
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # type: ignore[index]


async def test_unknown_malformed_and_doubled_ids_are_refused(tokens: Tokens) -> None:
    unknown = await post(tokens, "DP-001", {"documentId": "sha256:" + "0" * 64})
    assert unknown.status_code == 404
    assert code_of(unknown) == "PERSISTED_QUERY_NOT_FOUND"
    for bad in ("0" * 64, "sha256:xyz", "md5:" + "0" * 32, "sha256:" + "0" * 63):
        response = await post(tokens, "DP-001", {"documentId": bad})
        assert response.status_code == 400, bad
        assert code_of(response) == "BAD_REQUEST"
    both = await post(tokens, "DP-001", {"documentId": "sha256:" + "0" * 64, "query": VIEWER})
    assert both.status_code == 400
    assert code_of(both) == "BAD_REQUEST"
    apq_bad = await post(
        tokens, "DP-001", {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "00"}}}
    )
    assert apq_bad.status_code == 400
    assert code_of(apq_bad) == "BAD_REQUEST"


async def test_another_clients_document_is_unknown_to_the_caller(tokens: Tokens) -> None:
    """Documents are per client: another partner's id, and even a sibling client's of the
    same partner, answer exactly as an unknown id does."""
    owner = await client_id_of(tokens, "DP-001")
    registered = await register(tokens, owner, VIEWER)
    sibling_token = await tokens.issue("DP-001", ["catalog:read"])
    for headers in (
        await tokens.headers("LP-0001"),
        {"Authorization": f"Bearer {sibling_token}"},
    ):
        by_id = await tokens.http.post(
            "/graphql", json={"documentId": registered["documentId"]}, headers=headers
        )
        assert by_id.status_code == 404
        assert code_of(by_id) == "PERSISTED_QUERY_NOT_FOUND"
        by_hash = await tokens.http.post(
            "/graphql",
            json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(VIEWER)}}},
            headers=headers,
        )
        assert by_hash.status_code == 200
        assert by_hash.json()["errors"][0]["message"] == "PersistedQueryNotFound"


async def test_apollo_persisted_queries_flow(tokens: Tokens) -> None:
    extension = {"persistedQuery": {"version": 1, "sha256Hash": sha256(VIEWER)}}
    # 1. The hash alone: unknown, answered as Apollo clients expect (then they send both).
    unknown = await post(tokens, "LP-0001", {"extensions": extension})
    assert unknown.status_code == 200
    assert unknown.json()["errors"] == [
        {
            "message": "PersistedQueryNotFound",
            "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
        }
    ]
    # 2. Query and hash: it runs, and this process remembers it.
    both = await post(tokens, "LP-0001", {"query": VIEWER, "extensions": extension})
    assert both.json()["data"] == {"viewer": {"code": "LP-0001"}}
    # 3. The hash alone again: served from this process's memory.
    again = await post(tokens, "LP-0001", {"extensions": extension})
    assert again.json()["data"] == {"viewer": {"code": "LP-0001"}}
    # ...which is not the trusted list: programme management sees nothing registered.
    listed = await tokens.graphql("PMO", LIST, {"client": await client_id_of(tokens, "LP-0001")})
    assert listed["data"]["trustedDocuments"]["edges"] == []  # type: ignore[index]


async def test_apq_of_a_registered_document_needs_no_query(tokens: Tokens) -> None:
    client_id = await client_id_of(tokens, "DP-001")
    await register(tokens, client_id, VIEWER)
    extension = {"persistedQuery": {"version": 1, "sha256Hash": sha256(VIEWER)}}
    answer = await post(tokens, "DP-001", {"extensions": extension})
    assert answer.json()["data"] == {"viewer": {"code": "DP-001"}}


async def test_a_hash_that_is_not_the_querys_is_refused_and_nothing_runs(
    tokens: Tokens, database: Database
) -> None:
    mutation = 'mutation { setClientDocumentPolicy(clientId: "x", registeredDocumentsOnly: true) { clientId } }'  # noqa: E501
    extension = {"persistedQuery": {"version": 1, "sha256Hash": sha256(VIEWER)}}
    response = await post(tokens, "PMO", {"query": mutation, "extensions": extension})
    assert response.status_code == 400
    assert code_of(response) == "DOCUMENT_HASH_MISMATCH"
    assert "data" not in response.json() or response.json()["data"] is None
    # Not remembered either: the hash alone is still unknown.
    after = await post(tokens, "PMO", {"extensions": extension})
    assert after.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_registered_only_client_runs_registered_documents_and_nothing_else(
    tokens: Tokens,
) -> None:
    client_id = await client_id_of(tokens, "DP-001")
    registered = await register(tokens, client_id, COURSES)
    assert (await post(tokens, "DP-001", {"query": VIEWER})).status_code == 200
    await set_only(tokens, client_id, True)

    adhoc = await post(tokens, "DP-001", {"query": VIEWER})
    assert adhoc.status_code == 403
    assert code_of(adhoc) == "DOCUMENT_NOT_REGISTERED"
    # Apollo's registration flow does not let an unregistered document in either.
    extension = {"persistedQuery": {"version": 1, "sha256Hash": sha256(VIEWER)}}
    hash_only = await post(tokens, "DP-001", {"extensions": extension})
    assert code_of(hash_only) == "PERSISTED_QUERY_NOT_FOUND"
    with_query = await post(tokens, "DP-001", {"query": VIEWER, "extensions": extension})
    assert with_query.status_code == 403
    assert code_of(with_query) == "DOCUMENT_NOT_REGISTERED"
    # Over GET too.
    get = await tokens.http.get(
        "/graphql", params={"query": VIEWER}, headers=await tokens.headers("DP-001")
    )
    assert get.status_code == 403

    # Its registered document runs: by id, by Apollo hash, and as its exact text.
    by_id = await post(tokens, "DP-001", {"documentId": registered["documentId"]})
    assert by_id.status_code == 200
    assert len(by_id.json()["data"]["courses"]["edges"]) == 3
    apq = {"persistedQuery": {"version": 1, "sha256Hash": sha256(COURSES)}}
    assert (await post(tokens, "DP-001", {"extensions": apq})).status_code == 200
    assert (await post(tokens, "DP-001", {"query": COURSES})).status_code == 200
    # One character more is another document.
    assert (await post(tokens, "DP-001", {"query": COURSES + " "})).status_code == 403

    # Another client of the same partner is not bound by the flag.
    other = await tokens.issue("DP-001", ["catalog:read"])
    free = await tokens.http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {other}"}
    )
    assert free.status_code == 200

    await set_only(tokens, client_id, False)
    assert (await post(tokens, "DP-001", {"query": VIEWER})).status_code == 200


async def test_a_mutation_by_id_over_get_is_refused(tokens: Tokens) -> None:
    client_id = await client_id_of(tokens, "PMO")
    document = (
        "mutation Policy($c: String!) "
        "{ setClientDocumentPolicy(clientId: $c, registeredDocumentsOnly: false) { clientId } }"
    )
    registered = await register(tokens, client_id, document)
    response = await tokens.http.get(
        "/graphql",
        params={"documentId": registered["documentId"], "variables": '{"c": "x"}'},
        headers=await tokens.headers("PMO"),
    )
    assert response.status_code == 405


async def test_cost_and_validation_are_computed_once_at_registration(
    tokens: Tokens, database: Database
) -> None:
    """The stored cost is what a call by id is charged, and no validation runs for it."""
    client_id = await client_id_of(tokens, "DP-001")
    registered = await register(tokens, client_id, COURSES)
    # Make the stored figure recognisable: a call that recomputed it would answer 5.
    async with database.sessionmaker() as session:
        await session.execute(
            text("UPDATE trusted_documents SET cost = 777 WHERE sha256 = :h"),
            {"h": sha256(COURSES)},
        )
        await session.commit()
    documents_module.validate_cached.cache_clear()
    cost_module._cached_cost.cache_clear()
    validations = documents_module.VALIDATIONS[0]
    for _ in range(3):
        response = await post(tokens, "DP-001", {"documentId": registered["documentId"]})
        assert response.json()["extensions"]["cost"]["requested"] == 777
    assert documents_module.VALIDATIONS[0] == validations
    assert cost_module._cached_cost.cache_info().misses == 0
    # The same text sent ad hoc is validated and costed as any document is.
    adhoc = await post(tokens, "DP-001", {"query": COURSES})
    assert adhoc.json()["extensions"]["cost"]["requested"] == 5
    assert documents_module.VALIDATIONS[0] == validations + 1
    assert cost_module._cached_cost.cache_info().misses == 1


async def test_a_page_size_variable_is_costed_for_the_size_asked(tokens: Tokens) -> None:
    client_id = await client_id_of(tokens, "DP-001")
    registered = await register(tokens, client_id, PAGED)
    assert registered["cost"] == 2 + 20  # the field's default page
    default = await post(tokens, "DP-001", {"documentId": registered["documentId"]})
    assert default.json()["extensions"]["cost"]["requested"] == 22
    seven = await post(
        tokens, "DP-001", {"documentId": registered["documentId"], "variables": {"n": 7}}
    )
    assert seven.json()["extensions"]["cost"]["requested"] == 2 + 7
    assert len(seven.json()["data"]["courses"]["edges"]) == 7
