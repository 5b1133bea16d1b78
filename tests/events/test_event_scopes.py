"""Event families need the scope that reads their rows: subscribing to a family the token's
scopes do not allow is refused (EVENT_TYPE_NOT_ALLOWED, nothing made), and the feed shows a
token nothing of a family it may not read, whatever types it asks for."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from auth.scopes import SCOPES_BY_PARTNER_TYPE, event_types_allowed, scope_for_event
from core.db.database import Database
from core.enums import EventType, PartnerType
from gateway.webhooks import http_client
from tests.support.credentials import SharedCredentials
from tests.support.enrollment import buy, open_sale
from tests.support.gateway import Tokens, make_client
from tests.support.webhooks import CREATE_ENDPOINT, EVENTS, feed, receiving, subscribe, worker

PLATFORM = "DP-001"
CATALOG_ONLY = ["catalog:read"]


@pytest.fixture
async def demo(database: Database, shared_credentials: SharedCredentials) -> AsyncIterator[Tokens]:
    async with make_client(database, demo=True) as http:
        yield Tokens(http, database, shared_credentials)


def test_every_event_family_has_its_scope_rule() -> None:
    for event_type in EventType:
        scope_for_event(event_type)  # a family without a rule raises KeyError


def test_no_partner_type_but_programme_management_may_hear_of_every_family() -> None:
    assert event_types_allowed(SCOPES_BY_PARTNER_TYPE[PartnerType.PROGRAM_MANAGEMENT]) == set(
        EventType
    )
    platform = event_types_allowed(SCOPES_BY_PARTNER_TYPE[PartnerType.PLATFORM])
    assert EventType.BATCH_READY not in platform
    assert EventType.INSTALLMENT_DUE not in platform
    assert EventType.REGISTRANT_SELECTED not in platform
    assert EventType.PURCHASE_SUCCEEDED in platform
    payer = event_types_allowed(SCOPES_BY_PARTNER_TYPE[PartnerType.PAYMENT_PARTNER])
    assert {event_type.value.split(".")[0] for event_type in payer} == {
        "batch",
        "installment",
        "webhook_endpoint",
        "webhook",
    }


async def _create(
    tokens: Tokens, partner: str, url: str, types: list[str], scopes: list[str] | None = None
) -> dict[str, object]:
    return await tokens.graphql(
        partner, CREATE_ENDPOINT, {"input": {"url": url, "eventTypes": types}}, scopes=scopes
    )


async def _endpoint_urls(tokens: Tokens, partner: str) -> list[str]:
    body = await tokens.graphql(partner, "{ webhookEndpoints { url } }")
    return [endpoint["url"] for endpoint in body["data"]["webhookEndpoints"]]  # type: ignore[index]


@pytest.mark.parametrize(
    ("partner", "types", "scopes"),
    [
        ("DP-001", ["BATCH_READY"], None),  # a platform can never read batches
        ("DP-001", ["PURCHASE_SUCCEEDED", "INSTALLMENT_DUE"], None),  # one bad type spoils all
        ("DP-001", ["PURCHASE_SUCCEEDED"], CATALOG_ONLY),  # this token lacks enrollment:read
        ("LP-0001", ["REGISTRANT_SELECTED"], None),
        ("PP-001", ["CERTIFICATE_ISSUED"], None),
        ("PMO", ["BATCH_READY"], ["program:admin"]),  # even programme management's token
    ],
)
async def test_subscribing_beyond_the_tokens_scopes_is_refused(
    demo: Tokens, partner: str, types: list[str], scopes: list[str] | None
) -> None:
    url = f"http://127.0.0.1:9/refused/{partner}"
    body = await _create(demo, partner, url, types, scopes)
    assert body["data"] == {"createWebhookEndpoint": None}
    (error,) = body["errors"]  # type: ignore[misc]
    assert error["extensions"]["code"] == "EVENT_TYPE_NOT_ALLOWED"
    assert url not in await _endpoint_urls(demo, partner)


async def test_an_endpoint_without_types_gets_only_what_its_token_allowed(
    demo: Tokens, database: Database
) -> None:
    with receiving() as narrow_hook, receiving() as full_hook:
        body = await _create(demo, PLATFORM, narrow_hook.url, [], CATALOG_ONLY)
        assert "errors" not in body, body
        listed = body["data"]["createWebhookEndpoint"]["endpoint"]["eventTypes"]  # type: ignore[index]
        assert set(listed) == {
            "COURSE_APPROVED",
            "COURSE_REJECTED",
            "COURSE_WITHDRAWN",
            "WEBHOOK_ENDPOINT_DISABLED",
            "WEBHOOK_TEST",
        }
        await subscribe(demo, PLATFORM, full_hook.url)
        sale = await open_sale(database)
        await buy(demo, database, sale)
        async with http_client() as client:
            await worker(database, client).run_until_idle()
    assert full_hook.types() == ["purchase.succeeded"]
    assert narrow_hook.types() == []


async def test_the_feed_shows_a_token_nothing_of_a_family_it_may_not_read(
    demo: Tokens, database: Database
) -> None:
    sale = await open_sale(database)
    purchase = await buy(demo, database, sale)
    invoice = purchase["invoiceCode"]

    def sold(events: list[dict[str, object]]) -> list[dict[str, object]]:
        return [e for e in events if e["data"].get("invoiceCode") == invoice]  # type: ignore[union-attr]

    # With enrollment:read the platform reads its sale...
    assert [e["type"] for e in sold(await feed(demo, PLATFORM))] == ["PURCHASE_SUCCEEDED"]
    # ...without it, nothing of it: not by default, not by asking for the type.
    for types in (None, ["PURCHASE_SUCCEEDED"], ["PURCHASE_SUCCEEDED", "COURSE_APPROVED"]):
        body = await demo.graphql(
            PLATFORM, EVENTS, {"types": types, "first": 100}, scopes=CATALOG_ONLY
        )
        assert "errors" not in body, body
        edges = body["data"]["events"]["edges"]  # type: ignore[index]
        assert not [e for e in edges if e["node"]["type"].startswith("PURCHASE")], types
    # Programme management's token reads every family only with the read scopes.
    admin_only = await demo.graphql(
        "PMO", EVENTS, {"types": ["PURCHASE_SUCCEEDED"], "first": 100}, scopes=["program:admin"]
    )
    assert admin_only["data"]["events"]["edges"] == []  # type: ignore[index]
    assert sold(await feed(demo, "PMO"))
