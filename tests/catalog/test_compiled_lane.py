"""The compiled lane (gateway/compiled_lane.py): a request body the view answered by a
compiled document is answered again straight off the ASGI messages, exactly as the normal
path answers it, with the caller's own token, tenancy, document policy and rate limit on
every request.

The lane serves only a process whose principal cache is live, so these tests run the app's
lifespan (its LISTEN connection) on a committed database of their own. Which path answered
is read off the lane's counter (``prakerja_compiled_lane_answers_total``), never off timings.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from auth.admin import set_partner_status
from auth.audit import Origin
from core.db.database import Database
from core.enums import PartnerStatus
from gateway.rate_limit import LEASE_SECONDS
from tests.support.auth import assert_invalid_token
from tests.support.catalog import (
    COURSE,
    EVERY_COURSE_FIELD,
    OTHER_PROVIDER,
    PLATFORM,
    PMO,
    PROVIDER,
    STANDARD_PAGE,
    create_course,
)
from tests.support.databases import DatabaseFactory, out_of_reach
from tests.support.gateway import Tokens, bucket_written_at, running_app
from tests.support.registration import OFFICE, OFFICE_REGENCY, OTHER_OFFICE, OTHER_REGENCY
from tests.support.statistics import PROGRAM_FIGURES, REGENCY_FIGURES

# One committed database for the module, built once: one xdist worker.
pytestmark = pytest.mark.xdist_group("principal_cache")

POLICY = """
mutation($client: String!, $only: Boolean!) {
  setClientDocumentPolicy(clientId: $client, registeredDocumentsOnly: $only) { clientId }
}"""


def lane_answers() -> float:
    return REGISTRY.get_sample_value("prakerja_compiled_lane_answers_total") or 0.0


@pytest.fixture(scope="module")
async def committed_url(databases: DatabaseFactory) -> str:
    url = await databases.seeded("compiled_lane", participants=50)
    return url


async def _client(stack: AsyncExitStack, url: str, **settings: Any) -> httpx.AsyncClient:
    settings.setdefault("rate_limit_points", 10_000_000)
    settings.setdefault("rate_limit_points_per_second", 1_000_000)
    _, http = await running_app(stack, url, **settings)
    return http


class Gateways:
    """A gateway with compiled reads (so with the lane) and one without, on one database."""

    def __init__(self, lane: httpx.AsyncClient, normal: httpx.AsyncClient, tokens: Tokens):
        self.lane = lane
        self.normal = normal
        self.tokens = tokens

    async def post(
        self, http: httpx.AsyncClient, token: str, body: bytes, **headers: str
    ) -> httpx.Response:
        return await http.post(
            "/graphql",
            content=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                **headers,
            },
        )


@pytest.fixture
async def gateways(committed_url: str) -> AsyncIterator[Gateways]:
    async with AsyncExitStack() as stack:
        lane = await _client(stack, committed_url)
        normal = await _client(stack, committed_url, compiled_reads=False)
        database = Database.connect(committed_url, pool_size=1)
        stack.push_async_callback(database.dispose)
        yield Gateways(lane, normal, Tokens(lane, database))


async def _one_gateway(stack: AsyncExitStack, url: str, **settings: Any) -> Gateways:
    """One gateway with the lane, for a test that sets its own settings: ``lane`` and
    ``normal`` are the same client."""
    http = await _client(stack, url, **settings)
    database = Database.connect(url, pool_size=1)
    stack.push_async_callback(database.dispose)
    return Gateways(http, http, Tokens(http, database))


def body_of(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}).encode()


def codes_in(answer: httpx.Response) -> list[str]:
    return [edge["node"]["code"] for edge in answer.json()["data"]["courses"]["edges"]]


async def test_a_repeated_body_is_answered_by_the_lane_as_the_normal_path_answers_it(
    gateways: Gateways,
) -> None:
    token = await gateways.tokens.issue(PLATFORM, ["catalog:read"])
    body = body_of(STANDARD_PAGE, {"first": 20})
    first = await gateways.post(gateways.lane, token, body)  # the view keeps it
    before = lane_answers()
    again = await gateways.post(gateways.lane, token, body)
    assert lane_answers() == before + 1
    normal = await gateways.post(gateways.normal, token, body)
    assert first.status_code == again.status_code == normal.status_code == 200
    assert first.json() == again.json() == normal.json()
    assert len(again.json()["data"]["courses"]["edges"]) == 20
    assert again.headers["content-type"] == "application/json"
    assert again.headers["x-request-id"]
    assert again.headers["ratelimit-limit"] == first.headers["ratelimit-limit"]

    # GraphQL over HTTP's own media type, when asked for, as the view gives it.
    wanted = await gateways.post(
        gateways.lane, token, body, Accept="application/graphql-response+json"
    )
    assert lane_answers() == before + 2
    assert wanted.headers["content-type"].startswith("application/graphql-response+json")
    assert wanted.json() == normal.json()


async def test_another_spelling_of_the_same_request_is_learnt_when_the_view_replays_it(
    gateways: Gateways,
) -> None:
    token = await gateways.tokens.issue(PLATFORM, ["catalog:read"])
    compact = json.dumps({"query": STANDARD_PAGE, "variables": {"first": 4}}).encode()
    spaced = json.dumps({"variables": {"first": 4}, "query": STANDARD_PAGE}, indent=2).encode()
    await gateways.post(gateways.lane, token, compact)
    await gateways.post(gateways.lane, token, spaced)  # the view replays it, and learns it
    before = lane_answers()
    answer = await gateways.post(gateways.lane, token, spaced)
    assert lane_answers() == before + 1
    assert answer.json() == (await gateways.post(gateways.normal, token, compact)).json()


async def test_each_provider_sees_its_own_drafts_through_the_same_bytes(
    gateways: Gateways,
) -> None:
    """Tenancy is in no key: the lane runs the read with the caller of each request."""
    mine = await create_course(gateways.tokens, PROVIDER)
    theirs = await create_course(gateways.tokens, OTHER_PROVIDER)
    body = body_of(EVERY_COURSE_FIELD, {"first": 100, "filter": {"statuses": ["DRAFT"]}})
    own = await gateways.tokens.issue(PROVIDER)
    other = await gateways.tokens.issue(OTHER_PROVIDER)
    await gateways.post(gateways.lane, own, body)
    before = lane_answers()
    own_codes = codes_in(await gateways.post(gateways.lane, own, body))
    other_codes = codes_in(await gateways.post(gateways.lane, other, body))
    assert lane_answers() == before + 2
    assert mine in own_codes and theirs not in own_codes
    assert theirs in other_codes and mine not in other_codes
    # Another class of caller has a document of its own: a platform sees no drafts at all.
    platform = await gateways.tokens.issue(PLATFORM)
    await gateways.post(gateways.lane, platform, body)
    answer = await gateways.post(gateways.lane, platform, body)
    assert answer.json()["data"]["courses"]["edges"] == []
    everything = codes_in(
        await gateways.post(gateways.lane, await gateways.tokens.issue(PMO), body)
    )
    assert mine in everything and theirs in everything


async def test_a_suspended_providers_courses_leave_the_public_catalog_on_every_path(
    gateways: Gateways,
) -> None:
    """The public catalog is approved courses of *active* providers: the page reads the
    provider's status off its joined row (``public_courses(provider_joined=True)``)."""
    body = body_of(STANDARD_PAGE, {"first": 100, "filter": {"providerCode": OTHER_PROVIDER}})
    platform = await gateways.tokens.issue(PLATFORM, ["catalog:read"])
    pmo = await gateways.tokens.issue(PMO, ["catalog:read"])
    await gateways.post(gateways.lane, platform, body)  # the view keeps it
    listed = codes_in(await gateways.post(gateways.lane, platform, body))
    assert listed
    one = body_of(COURSE, {"code": listed[0]})

    async def set_status(status: PartnerStatus) -> None:
        async with gateways.tokens.database.sessionmaker() as session:
            await set_partner_status(session, Origin(operator="tests"), OTHER_PROVIDER, status)
            await session.commit()

    await set_status(PartnerStatus.SUSPENDED)
    try:
        # The status change empties the principal cache (its NOTIFY, whenever it comes):
        # the view answers until the caller is cached again, then the lane.
        async with asyncio.timeout(10):
            while True:
                before = lane_answers()
                assert codes_in(await gateways.post(gateways.lane, platform, body)) == []
                if lane_answers() == before + 1:
                    break
        assert codes_in(await gateways.post(gateways.normal, platform, body)) == []
        for http in (gateways.lane, gateways.normal):
            refused = (await gateways.post(http, platform, one)).json()
            assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
            # Programme management still reviews every course, the suspended ones too.
            assert codes_in(await gateways.post(http, pmo, body)) == listed
    finally:
        await set_status(PartnerStatus.ACTIVE)
    assert codes_in(await gateways.post(gateways.lane, platform, body)) == listed


async def test_a_high_budget_clients_replays_spend_a_lease_not_the_shared_row(
    gateways: Gateways,
) -> None:
    """With a budget far from spent (these gateways: 10 M points, 1 M a second), a lane
    spend also leases points that the process spends in memory for at most
    ``LEASE_SECONDS``: the shared row is written about once per lease, not per request."""
    client = await gateways.tokens.client_for("DP-004", ["catalog:read"])
    token = await gateways.tokens.issue("DP-004", ["catalog:read"])
    body = body_of(STANDARD_PAGE, {"first": 2})
    await gateways.post(gateways.lane, token, body)  # the view keeps it

    before = lane_answers()
    writes = set()
    started = time.monotonic()
    for _ in range(20):
        answer = await gateways.post(gateways.lane, token, body)
        assert answer.status_code == 200 and int(answer.headers["ratelimit-remaining"]) > 0
        writes.add(await bucket_written_at(gateways.tokens.database, client.client_id))
    elapsed = time.monotonic() - started
    assert lane_answers() == before + 20
    # A write per lease at most: one per LEASE_SECONDS of the run, and the first.
    assert len(writes) <= 2 + elapsed / LEASE_SECONDS


async def test_a_caller_without_the_scope_is_refused_by_the_view(gateways: Gateways) -> None:
    body = body_of(STANDARD_PAGE, {"first": 20})
    reader = await gateways.tokens.issue(PLATFORM, ["catalog:read"])
    await gateways.post(gateways.lane, reader, body)
    await gateways.post(gateways.lane, reader, body)
    before = lane_answers()
    writer = await gateways.tokens.issue(PLATFORM, ["enrollment:write"])
    refused = await gateways.post(gateways.lane, writer, body)
    assert lane_answers() == before
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_revoked_token_is_refused_although_its_body_is_known(
    gateways: Gateways,
) -> None:
    token = await gateways.tokens.issue("DP-002", ["catalog:read"])
    body = body_of(STANDARD_PAGE, {"first": 3})
    await gateways.post(gateways.lane, token, body)
    before = lane_answers()
    assert (await gateways.post(gateways.lane, token, body)).status_code == 200
    assert lane_answers() == before + 1
    revoked = await gateways.tokens.revoke("DP-002", ["catalog:read"], token)
    assert revoked.status_code == 200
    refused = await gateways.post(gateways.lane, token, body)
    assert_invalid_token(refused)
    assert lane_answers() == before + 1


async def test_a_client_switched_to_registered_documents_only_is_refused(
    gateways: Gateways,
) -> None:
    client = await gateways.tokens.client_for("DP-003", ["catalog:read"])
    token = await gateways.tokens.issue("DP-003", ["catalog:read"])
    admin = await gateways.tokens.issue(PMO, ["program:admin"])
    body = body_of(STANDARD_PAGE, {"first": 2})
    await gateways.post(gateways.lane, token, body)
    assert (await gateways.post(gateways.lane, token, body)).status_code == 200

    async def set_policy(only: bool) -> None:
        answer = await gateways.post(
            gateways.lane,
            admin,
            body_of(POLICY, {"client": client.client_id, "only": only}),
        )
        assert "errors" not in answer.json(), answer.text

    await set_policy(True)
    try:
        before = lane_answers()
        # The policy reaches the principal cache through the commit's NOTIFY.
        async with asyncio.timeout(10):
            while True:
                refused = await gateways.post(gateways.lane, token, body)
                if refused.status_code != 200 or "errors" in refused.json():
                    break
                await asyncio.sleep(0.01)
        assert refused.json()["errors"][0]["extensions"]["code"] == "DOCUMENT_NOT_REGISTERED"
        assert (await gateways.post(gateways.lane, token, body)).json()["errors"]
        assert lane_answers() <= before + 1  # at most the one request before the NOTIFY
    finally:
        await set_policy(False)


async def test_the_lane_spends_the_budget_and_refuses_when_it_is_spent(
    committed_url: str,
) -> None:
    async with AsyncExitStack() as stack:
        # A budget of a few pages, regained slowly: the limit is reached within the test.
        gateways = await _one_gateway(
            stack, committed_url, rate_limit_points=400, rate_limit_points_per_second=1
        )
        http = gateways.lane
        token = await gateways.tokens.issue("DP-004", ["catalog:read"])
        body = body_of(STANDARD_PAGE, {"first": 2})
        first = await gateways.post(http, token, body)
        cost = first.json()["extensions"]["cost"]["requested"]
        remaining = int(first.headers["ratelimit-remaining"])
        before = lane_answers()
        answers = []
        while remaining >= cost:
            answer = await gateways.post(http, token, body)
            assert answer.status_code == 200
            # Charged once, by the lane: exactly the document's cost (give or take the
            # point or so regained meanwhile).
            assert (
                remaining - cost
                <= int(answer.headers["ratelimit-remaining"])
                <= (remaining - cost + 2)
            )
            remaining = int(answer.headers["ratelimit-remaining"])
            answers.append(answer)
        assert lane_answers() == before + len(answers) and answers
        refused = await gateways.post(http, token, body)
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(refused.headers["retry-after"]) >= 1
        # The refusal came from the view with the lane's decision: nothing spent twice.
        assert int(refused.headers["ratelimit-remaining"]) >= remaining


async def test_a_database_gone_gets_the_views_json_503_not_a_500(
    committed_url: str, databases: DatabaseFactory
) -> None:
    """The lane sits outside the error envelope: whatever fails in it must step aside to
    the view, which answers a database out of reach with its JSON 503."""
    async with AsyncExitStack() as stack:
        gateways = await _one_gateway(stack, committed_url)
        http = gateways.lane
        token = await gateways.tokens.issue("DP-005", ["catalog:read"])
        body = body_of(STANDARD_PAGE, {"first": 2})
        await gateways.post(http, token, body)
        before = lane_answers()
        assert (await gateways.post(http, token, body)).status_code == 200
        assert lane_answers() == before + 1
        async with out_of_reach(databases.server_url, committed_url):
            for _ in range(3):
                gone = await gateways.post(http, token, body)
                assert gone.status_code == 503, gone.text
                assert gone.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
                assert int(gone.headers["retry-after"]) >= 1
        assert lane_answers() == before + 1


async def test_statistics_through_the_lane_answer_as_the_normal_path_each_office_its_own(
    gateways: Gateways,
) -> None:
    """The statistics are compiled documents read outside a transaction too: the lane
    answers them on its driver session (one row, a scalar, many rows), with the caller's
    regency decided on every request."""
    body = body_of(REGENCY_FIGURES, {"breakdown": "REGENCY"})
    own = await gateways.tokens.issue(OFFICE)
    other = await gateways.tokens.issue(OTHER_OFFICE)
    for token in (own, other):  # each token verified once by the view, then cached
        await gateways.post(gateways.lane, token, body)
    before = lane_answers()
    mine = await gateways.post(gateways.lane, own, body)
    theirs = await gateways.post(gateways.lane, other, body)
    assert lane_answers() == before + 2
    assert mine.json() == (await gateways.post(gateways.normal, own, body)).json()
    assert theirs.json() == (await gateways.post(gateways.normal, other, body)).json()
    assert [group["code"] for group in mine.json()["data"]["regencyFigures"]] == [OFFICE_REGENCY]
    # (The small seed may have no one in the other regency: never the first one's figures.)
    assert {group["code"] for group in theirs.json()["data"]["regencyFigures"]} <= {OTHER_REGENCY}
    # Another office's regency named outright: refused by the read, never served.
    named = body_of(REGENCY_FIGURES, {"regency": OTHER_REGENCY, "breakdown": "WAVE"})
    await gateways.post(gateways.lane, other, named)
    refused = await gateways.post(gateways.lane, own, named)
    assert refused.json()["errors"][0]["extensions"]["code"] == "OUTSIDE_OWN_REGENCY"

    admin = await gateways.tokens.issue(PMO, ["program:admin"])
    for document, variables in (
        (PROGRAM_FIGURES, {"breakdown": "PROVINCE"}),
        ("{ programStatistics { registrants recipients incentivesPaidAmount courses } }", None),
    ):
        figures = body_of(document, variables)
        await gateways.post(gateways.lane, admin, figures)
        before = lane_answers()
        replayed = await gateways.post(gateways.lane, admin, figures)
        assert lane_answers() == before + 1
        assert replayed.json() == (await gateways.post(gateways.normal, admin, figures)).json()
