"""Tracing: a purchase's trace, continued from the caller's traceparent, with its SQL spans."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core.db.database import Database
from core.settings import Settings
from gateway.app import create_app
from gateway.tracing import make_tracer_provider
from tests.support.enrollment import START, open_sale
from tests.support.gateway import TEST_MASTER_KEY, Tokens, as_app

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"


async def test_a_purchase_is_one_trace_with_sql_spans(database: Database) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings(database_url=database.url, master_key=TEST_MASTER_KEY, otel_enabled=True)
    app = create_app(settings, database=as_app(database), tracer_provider=provider)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as http:
        tokens = Tokens(http, database)
        sale = await open_sale(database)
        headers = await tokens.headers("DP-001")
        exporter.clear()
        response = await http.post(
            "/graphql",
            json={
                "query": START,
                "variables": {
                    "input": {
                        "cardNumber": sale.cards[0],
                        "courseCode": sale.course_code,
                        "scheduleCode": sale.schedule_code,
                        "platformUserId": "trace-user",
                        "invoiceCode": "INV-TRACE-1",
                        "amount": str(sale.price),
                    }
                },
            },
            headers={**headers, "traceparent": TRACEPARENT, "X-Request-ID": "trace-req-1"},
        )
    assert response.status_code == 200
    assert "errors" not in response.json(), response.json()
    spans = exporter.get_finished_spans()
    server = [span for span in spans if span.kind.name == "SERVER"]
    assert len(server) == 1
    request_span = server[0]
    # The caller's trace goes on through the gateway.
    assert format(request_span.context.trace_id, "032x") == CALLER_TRACE
    assert request_span.attributes["graphql.operation.name"] == "Start"
    assert request_span.attributes["prakerja.request_id"] == "trace-req-1"
    assert str(request_span.attributes["prakerja.client_id"]).startswith("dp-001")
    assert "Start" in request_span.name
    sql = [span for span in spans if span.attributes and "db.statement" in span.attributes]
    if not sql:
        sql = [span for span in spans if span.attributes and "db.query.text" in span.attributes]
    assert sql, [span.name for span in spans]
    assert all(span.context.trace_id == request_span.context.trace_id for span in sql)
    statements = " ".join(
        str(span.attributes.get("db.statement") or span.attributes.get("db.query.text"))
        for span in sql
        if span.attributes
    )
    assert "purchases" in statements


async def test_an_unreachable_collector_never_fails_a_request(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real OTLP exporter, pointed at a collector that accepts connections and never
    answers: spans are exported in the background, every request is answered as usual."""
    collector = socket.socket()
    collector.bind(("127.0.0.1", 0))
    collector.listen(8)  # connections wait in the backlog; none is ever answered
    endpoint = f"http://127.0.0.1:{collector.getsockname()[1]}/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    provider = make_tracer_provider()
    try:
        exporters = [
            processor.span_exporter
            for processor in provider._active_span_processor._span_processors
        ]
        assert [type(e).__name__ for e in exporters] == ["OTLPSpanExporter"]
        assert exporters[0]._endpoint == endpoint
        settings = Settings(
            database_url=database.url, master_key=TEST_MASTER_KEY, otel_enabled=True
        )
        app = create_app(settings, database=database, tracer_provider=provider)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as http:
            tokens = Tokens(http, database)
            headers = await tokens.headers("DP-001")
            for _ in range(20):
                response = await http.post(
                    "/graphql", json={"query": "{ viewer { code } }"}, headers=headers
                )
                assert response.status_code == 200
                assert response.json() == {
                    "data": {"viewer": {"code": "DP-001"}},
                    "extensions": {"cost": {"requested": 1, "limit": 5000}},
                }
        # The exporter did try: its connection waits at the collector's address.
        collector.settimeout(15)
        attempt, _ = await asyncio.to_thread(collector.accept)
        attempt.close()
    finally:
        collector.close()
        await asyncio.to_thread(provider.shutdown)
