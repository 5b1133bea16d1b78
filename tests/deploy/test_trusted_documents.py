"""Trusted documents across the replicas of the loopback cluster (deploy/local/cluster.py).

Registered through one gateway process, called by id through another; a client set
"registered documents only" through one is refused ad-hoc documents by the others (and by
whichever one the load balancer picks). PostgreSQL is the one source of truth: each gateway
learns of the change by NOTIFY on its own direct LISTEN connection, past PgBouncer.
"""

from __future__ import annotations

import httpx

from auth.admin import IssuedCredentials, create_client
from auth.audit import Origin
from core.db.database import Database
from deploy.local.cluster import Cluster
from tests.support.scaleout import CLUSTER_TEST_MARKS
from tests.support.waiting import answered

pytestmark = CLUSTER_TEST_MARKS

# How long a NOTIFY may take to reach another replica on a loaded machine (a deadline).
REPLICA_SECONDS = 15.0
VIEWER = "query Viewer { viewer { code } }"
# Not registered (the registered text itself, sent whole, is that document and would run).
ADHOC = "query Adhoc { viewer { code } }"
REGISTER = """
mutation($client: String!, $document: String!) {
  registerDocument(clientId: $client, document: $document) { documentId cost }
}"""
POLICY = """
mutation($client: String!) {
  setClientDocumentPolicy(clientId: $client, registeredDocumentsOnly: true) {
    registeredDocumentsOnly
  }
}"""


async def _clients(url: str, master_key: str) -> tuple[IssuedCredentials, IssuedCredentials]:
    database = Database.connect(url, pool_size=1)
    try:
        async with database.sessionmaker() as session:
            origin = Origin(operator="tests")
            admin = await create_client(
                session,
                origin,
                partner_code="PMO",
                scopes=["program:admin"],
                name="documents",
                master_key=master_key.encode(),
            )
            platform = await create_client(
                session,
                origin,
                partner_code="DP-002",
                scopes=["catalog:read"],
                name="app",
                master_key=master_key.encode(),
            )
            await session.commit()
    finally:
        await database.dispose()
    return admin, platform


async def _token(base_url: str, client: IssuedCredentials) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        answer = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client.client_id, client.client_secret or ""),
        )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def _call(base_url: str, token: str, payload: dict[str, object]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        return await http.post(
            "/graphql", json=payload, headers={"Authorization": f"Bearer {token}"}
        )


async def test_register_on_one_replica_call_and_refuse_on_the_others(cluster: Cluster) -> None:
    admin, platform = await _clients(cluster.primary_url, cluster.master_key)
    first, second, third = (cluster.gateway_url(index) for index in range(3))
    admin_token = await _token(first, admin)
    # Tokens are the gateways' (one signing key set): any replica accepts any replica's.
    token = await _token(second, platform)

    registered = await _call(
        first,
        admin_token,
        {"query": REGISTER, "variables": {"client": platform.client_id, "document": VIEWER}},
    )
    document = registered.json()["data"]["registerDocument"]
    assert document["cost"] == 1

    for gateway in (second, third, cluster.lb_url):
        answer = await _call(gateway, token, {"documentId": document["documentId"]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == {"viewer": {"code": "DP-002"}}
        # Before the flag: ad-hoc documents run too (and the principal is cached here).
        assert (await _call(gateway, token, {"query": ADHOC})).status_code == 200

    flipped = await _call(
        first, admin_token, {"query": POLICY, "variables": {"client": platform.client_id}}
    )
    assert flipped.json()["data"]["setClientDocumentPolicy"] == {"registeredDocumentsOnly": True}

    for gateway in (second, third, cluster.lb_url):
        refused = await answered(
            lambda g=gateway: _call(g, token, {"query": ADHOC}),  # type: ignore[misc]
            403,
            gateway,
            within=REPLICA_SECONDS,
        )
        assert refused.json()["errors"][0]["extensions"]["code"] == "DOCUMENT_NOT_REGISTERED"
        by_id = await _call(gateway, token, {"documentId": document["documentId"]})
        assert by_id.status_code == 200
