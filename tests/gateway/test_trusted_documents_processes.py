"""Registered documents are shared by every gateway process, and the CLI registers them.

Two app instances on one committed database stand for two gateway processes, each with its
lifespan (its LISTEN connection), its registered-documents memory and its principal cache.
NOTIFY is delivered only at commit, so these tests use a scratch database of their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from gateway.trusted_documents import RegisteredDocuments
from tests.support.databases import DatabaseFactory
from tests.support.gateway import Tokens, running_app
from tests.support.waiting import answered

pytestmark = pytest.mark.xdist_group("principal_cache")

VIEWER = "query Viewer { viewer { code } }\n"
REGISTER = """
mutation($client: String!, $document: String!) {
  registerDocument(clientId: $client, document: $document) { documentId }
}"""
POLICY = """
mutation($client: String!, $only: Boolean!) {
  setClientDocumentPolicy(clientId: $client, registeredDocumentsOnly: $only) { clientId }
}"""


@pytest.fixture(scope="module")
async def committed_url(databases: DatabaseFactory) -> str:
    url = await databases.seeded("documents", participants=50)
    return url


class Process:
    def __init__(self, app: Starlette, http: httpx.AsyncClient) -> None:
        self.app = app
        self.http = http

    @property
    def documents(self) -> RegisteredDocuments:
        store: RegisteredDocuments = self.app.state.registered_documents
        return store

    async def call(self, token: str, payload: dict[str, object]) -> httpx.Response:
        return await self.http.post(
            "/graphql", json=payload, headers={"Authorization": f"Bearer {token}"}
        )


async def _start(stack: AsyncExitStack, url: str) -> Process:
    process = Process(*await running_app(stack, url, app_role=False))
    assert process.documents.live
    return process


@pytest.fixture
async def processes(committed_url: str) -> AsyncIterator[tuple[Process, Process, Tokens]]:
    async with AsyncExitStack() as stack:
        first = await _start(stack, committed_url)
        second = await _start(stack, committed_url)
        yield first, second, Tokens(first.http, first.app.state.database)


async def test_registered_through_one_process_called_through_the_other(
    processes: tuple[Process, Process, Tokens], committed_url: str
) -> None:
    first, second, tokens = processes
    client = await tokens.client_for("DP-003", ["catalog:read"])
    token = await tokens.issue("DP-003", ["catalog:read"])
    admin = await tokens.issue("PMO", ["program:admin"])
    registered = await first.call(
        admin, {"query": REGISTER, "variables": {"client": client.client_id, "document": VIEWER}}
    )
    document_id = registered.json()["data"]["registerDocument"]["documentId"]

    reads = second.documents.reads
    for _ in range(3):
        answer = await second.call(token, {"documentId": document_id})
        assert answer.json()["data"] == {"viewer": {"code": "DP-003"}}
    # Read from PostgreSQL once, then from the process's memory.
    assert second.documents.reads == reads + 1

    # Removed by an operator straight in the database: no process keeps serving it.
    connection = await asyncpg.connect(committed_url)
    try:
        await connection.execute(
            "DELETE FROM trusted_documents WHERE sha256 = $1",
            hashlib.sha256(VIEWER.encode()).hexdigest(),
        )
    finally:
        await connection.close()
    gone = await answered(
        lambda: second.call(token, {"documentId": document_id}),
        404,
        "the other process",
        within=10.0,
    )
    assert gone.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_registered_only_set_through_one_process_binds_the_other(
    processes: tuple[Process, Process, Tokens],
) -> None:
    first, second, tokens = processes
    client = await tokens.client_for("DP-004", ["catalog:read"])
    token = await tokens.issue("DP-004", ["catalog:read"])
    admin = await tokens.issue("PMO", ["program:admin"])
    # The second process holds the client's principal (flag off) in its cache.
    for _ in range(2):
        assert (await second.call(token, {"query": VIEWER})).status_code == 200
    flipped = await first.call(
        admin, {"query": POLICY, "variables": {"client": client.client_id, "only": True}}
    )
    assert "errors" not in flipped.json(), flipped.text
    refused = await answered(
        lambda: second.call(token, {"query": VIEWER}), 403, "the other process", within=10.0
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "DOCUMENT_NOT_REGISTERED"
    await first.call(
        admin, {"query": POLICY, "variables": {"client": client.client_id, "only": False}}
    )
    await answered(
        lambda: second.call(token, {"query": VIEWER}), 200, "the other process", within=10.0
    )


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PRAKERJA_DATABASE_URL": url, "PRAKERJA_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "documents", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_cli_registers_files_and_sets_registered_only(
    processes: tuple[Process, Process, Tokens], committed_url: str, tmp_path: Path
) -> None:
    _first, second, tokens = processes
    client = await tokens.client_for("DP-005", ["catalog:read"])
    token = await tokens.issue("DP-005", ["catalog:read"])
    viewer = tmp_path / "viewer.graphql"
    viewer.write_text(VIEWER)
    two = tmp_path / "two.graphql"
    two.write_text("query A { viewer { code } }\nquery B { viewer { name } }\n")
    broken = tmp_path / "broken.graphql"
    broken.write_text("query { nope }")

    refused = await asyncio.to_thread(
        _cli, committed_url, "register", "--client", client.client_id, str(viewer), str(broken)
    )
    assert refused.returncode == 2
    assert "broken.graphql: DOCUMENT_INVALID" in refused.stderr
    assert "Traceback" not in refused.stderr
    # Nothing was registered: all files pass or none is taken.
    viewer_id = "sha256:" + hashlib.sha256(VIEWER.encode()).hexdigest()
    assert (await second.call(token, {"documentId": viewer_id})).status_code == 404

    done = await asyncio.to_thread(
        _cli, committed_url, "register", "--client", client.client_id, str(viewer), str(two)
    )
    assert done.returncode == 0, done.stderr
    assert f"{viewer_id}  cost     1  Viewer  registered" in done.stdout
    assert "A,B" in done.stdout
    again = await asyncio.to_thread(
        _cli, committed_url, "register", "--client", client.client_id, str(viewer)
    )
    assert "already registered" in again.stdout

    answer = await second.call(token, {"documentId": viewer_id, "operationName": "Viewer"})
    assert answer.json()["data"] == {"viewer": {"code": "DP-005"}}
    two_id = "sha256:" + hashlib.sha256(two.read_bytes()).hexdigest()
    named = await second.call(token, {"documentId": two_id, "operationName": "B"})
    assert "name" in named.json()["data"]["viewer"]

    listed = await asyncio.to_thread(_cli, committed_url, "list", "--client", client.client_id)
    assert "2 document(s) registered" in listed.stdout

    required = await asyncio.to_thread(_cli, committed_url, "require", "--client", client.client_id)
    assert required.returncode == 0, required.stderr
    await answered(
        lambda: second.call(token, {"query": VIEWER + "# ad hoc"}),
        403,
        "the other process",
        within=10.0,
    )
    assert (await second.call(token, {"documentId": viewer_id})).status_code == 200

    unknown = await asyncio.to_thread(_cli, committed_url, "require", "--client", "nobody")
    assert unknown.returncode == 2
    assert "not found" in unknown.stderr
