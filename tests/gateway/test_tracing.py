"""Tracing: a purchase's trace, continued from the caller's traceparent, with its SQL spans."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core.db.database import Database
from core.settings import Settings
from gateway.app import create_app
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
