"""A platform and a provider hear of a sale, its attendance and its certificate, signed per
Standard Webhooks; the same events are in their feeds; nobody else hears of them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.db.database import Database
from gateway.webhooks import http_client
from tests.support.certificates import SUBMIT, item, trained
from tests.support.credentials import SharedCredentials
from tests.support.gateway import Tokens, make_client
from tests.support.webhooks import DELIVERIES, feed, receiving, subscribe, worker

PLATFORM = "DP-001"
OTHER_PLATFORM = "DP-002"
OTHER_PROVIDER = "LP-0002"


@pytest.fixture
async def demo(database: Database, shared_credentials: SharedCredentials) -> AsyncIterator[Tokens]:
    """The app in demo mode: endpoints on 127.0.0.1 over http are allowed."""
    async with make_client(database, demo=True) as http:
        yield Tokens(http, database, shared_credentials)


async def test_a_sale_is_heard_by_its_platform_and_provider_only(
    demo: Tokens, database: Database
) -> None:
    with (
        receiving() as platform_hook,
        receiving() as provider_hook,
        receiving() as other_platform_hook,
        receiving() as other_provider_hook,
    ):
        _, platform_secret = await subscribe(demo, PLATFORM, platform_hook.url)
        sale, (redeem_code,) = await trained(demo, database)
        provider = sale.provider_code
        assert provider != OTHER_PROVIDER
        endpoint, provider_secret = await subscribe(demo, provider, provider_hook.url)
        await subscribe(demo, OTHER_PLATFORM, other_platform_hook.url)
        await subscribe(demo, OTHER_PROVIDER, other_provider_hook.url)
        body = await demo.graphql(provider, SUBMIT, {"input": {"items": [item(redeem_code)]}})
        assert "errors" not in body, body

        async with http_client() as client:
            await worker(database, client).run_until_idle()

        assert platform_hook.types() == [
            "purchase.succeeded",
            "purchase.redeemed",
            "attendance.recorded",
            "certificate.issued",
        ]
        assert platform_hook.all_verify(platform_secret)
        # The provider subscribed after the sale: it hears of what happened since.
        assert provider_hook.types() == ["certificate.issued"]
        assert provider_hook.all_verify(provider_secret)
        assert not provider_hook.all_verify(platform_secret)
        assert other_platform_hook.received == []
        assert other_provider_hook.received == []

    sold = platform_hook.received[0].envelope
    assert sold["data"]["courseCode"] == sale.course_code
    assert "cardNumber" not in sold["data"] and "redeemCode" not in sold["data"]
    certified = platform_hook.received[-1].envelope["data"]
    assert certified["courseCode"] == sale.course_code

    # The feed holds the same envelopes, in the same order, for each of the two.
    platform_feed = await feed(demo, PLATFORM)
    tail = platform_feed[-4:]
    assert [event["id"] for event in tail] == [r.message_id for r in platform_hook.received]
    assert [event["data"] for event in tail] == [r.envelope["data"] for r in platform_hook.received]
    provider_types = [event["type"] for event in await feed(demo, provider)][-4:]
    assert provider_types == [
        "PURCHASE_SUCCEEDED",
        "PURCHASE_REDEEMED",
        "ATTENDANCE_RECORDED",
        "CERTIFICATE_ISSUED",
    ]
    others = [event["id"] for event in await feed(demo, OTHER_PLATFORM)]
    assert not set(others) & {r.message_id for r in platform_hook.received}
    only_certificates = await feed(demo, PLATFORM, types=["CERTIFICATE_ISSUED"])
    assert {event["type"] for event in only_certificates} == {"CERTIFICATE_ISSUED"}

    deliveries = await demo.graphql(provider, DELIVERIES, {"endpointId": endpoint})
    (delivery,) = [edge["node"] for edge in deliveries["data"]["webhookDeliveries"]["edges"]]
    assert delivery["status"] == "SUCCEEDED"
    assert delivery["attempts"][0]["statusCode"] == 200
    assert delivery["attempts"][0]["responseExcerpt"] == "ok"
    # Another partner cannot read this endpoint's deliveries.
    refused = await demo.graphql(OTHER_PROVIDER, DELIVERIES, {"endpointId": endpoint})
    assert refused["errors"][0]["extensions"]["code"] == "WEBHOOK_ENDPOINT_NOT_FOUND"


async def test_outside_demo_mode_only_public_https_urls_are_accepted(tokens: Tokens) -> None:
    for url, code in [
        ("http://example.com/hook", "WEBHOOK_URL_INVALID"),
        ("https://user:pw@example.com/hook", "WEBHOOK_URL_INVALID"),
        ("https://127.0.0.1/hook", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://10.1.2.3/hook", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://[::1]/hook", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://169.254.169.254/latest", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://localhost/hook", "WEBHOOK_URL_NOT_PUBLIC"),
    ]:
        body = await tokens.graphql(
            PLATFORM,
            "mutation($u: String!) { createWebhookEndpoint(input: {url: $u}) { secret } }",
            {"u": url},
        )
        assert body["data"]["createWebhookEndpoint"] is None, url
        assert body["errors"][0]["extensions"]["code"] == code, (url, body)


async def test_a_rotated_secret_signs_beside_the_new_one_during_the_overlap(
    demo: Tokens, database: Database
) -> None:
    with receiving() as hook:
        endpoint, old = await subscribe(demo, PLATFORM, hook.url)
        body = await demo.graphql(
            PLATFORM,
            "mutation($id: String!) { rotateWebhookSecret(id: $id, overlapHours: 1) "
            "{ secret endpoint { previousSecretExpiresAt } } }",
            {"id": endpoint},
        )
        new = body["data"]["rotateWebhookSecret"]["secret"]
        assert new != old and new.startswith("whsec_")
        sent = await demo.graphql(
            PLATFORM,
            "mutation($id: String!) { sendTestEvent(endpointId: $id) { eventId status } }",
            {"id": endpoint},
        )
        assert sent["data"]["sendTestEvent"]["status"] == "PENDING"
        async with http_client() as client:
            await worker(database, client).run_until_idle()
        (received,) = hook.received
        assert received.envelope["type"] == "webhook.test"
        assert len(received.signature.split(" ")) == 2
        assert hook.all_verify(old) and hook.all_verify(new)


async def test_an_endpoint_of_another_partner_cannot_be_touched(demo: Tokens) -> None:
    endpoint, _ = await subscribe(demo, PLATFORM, "https://example.com/hook")
    for document in [
        "mutation($id: String!) { deleteWebhookEndpoint(id: $id) { id } }",
        "mutation($id: String!) { rotateWebhookSecret(id: $id) { secret } }",
        "mutation($id: String!) { sendTestEvent(endpointId: $id) { eventId } }",
        "mutation($id: String!) { setWebhookEndpointEnabled(id: $id, enabled: false) { id } }",
    ]:
        for other in (OTHER_PLATFORM, OTHER_PROVIDER, "PMO"):
            body = await demo.graphql(other, document, {"id": endpoint})
            assert body["errors"][0]["extensions"]["code"] == "WEBHOOK_ENDPOINT_NOT_FOUND"
    listed = await demo.graphql(OTHER_PLATFORM, "{ webhookEndpoints { id } }")
    assert endpoint not in [e["id"] for e in listed["data"]["webhookEndpoints"]]
    mine = await demo.graphql(PLATFORM, "{ webhookEndpoints { id url } }")
    assert {"id": endpoint, "url": "https://example.com/hook"} in mine["data"]["webhookEndpoints"]


async def test_a_deliveries_cursor_that_is_not_an_id_is_invalid(tokens: Tokens) -> None:
    """Found by the fuzzer: a cursor holding text was an internal error."""
    body = await tokens.graphql(
        "PP-001",
        '{ webhookDeliveries(endpointId: "x", after: "WyJhIl0") { pageInfo { hasNextPage } } }',
    )
    assert [error["extensions"]["code"] for error in body["errors"]] == ["INVALID_CURSOR"]
