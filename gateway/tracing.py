"""OpenTelemetry tracing, off unless ``PRAKERJA_OTEL_ENABLED`` (and the ``otel`` extra).

A server span per HTTP request (``opentelemetry-instrumentation-asgi``: an incoming W3C
``traceparent`` makes it a child of the caller's trace, so the caller's trace continues
through us), named after the GraphQL operation, with the request id, client id and partner
type as attributes; a span per SQL statement under it (the SQLAlchemy instrumentation, on our
engine only). Spans go to a collector over OTLP/HTTP (``opentelemetry-exporter-otlp-proto-http``,
in the ``otel`` extra), configured by the standard variables: ``OTEL_EXPORTER_OTLP_ENDPOINT``
(e.g. ``http://otel-collector:4318``; ``/v1/traces`` is added) or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (the full URL), ``OTEL_EXPORTER_OTLP_HEADERS``,
``OTEL_EXPORTER_OTLP_TIMEOUT``. Export happens in the batch processor's background thread:
a collector that is down or slow costs dropped spans, never a request's time or answer.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


def make_tracer_provider() -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "prakerja-gateway"}))
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        log.warning("tracing on, but no OTLP exporter is installed: spans are not exported")
    else:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def instrument_engine(engine: AsyncEngine, tracer_provider: Any) -> None:
    """A span per SQL statement of this engine (not every engine of the process)."""
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.trace import get_tracer

    sync_engine = engine.sync_engine
    if getattr(sync_engine, "_prakerja_traced", False):
        return
    sync_engine._prakerja_traced = True  # type: ignore[attr-defined]
    usage = NoOpMeterProvider().get_meter(__name__).create_up_down_counter("db.connections")
    EngineTracer(  # type: ignore[no-untyped-call]
        get_tracer(__name__, tracer_provider=tracer_provider), sync_engine, usage
    )


def tracing_middleware(app: ASGIApp, tracer_provider: Any) -> ASGIApp:
    """The ASGI instrumentation around our attributes (outermost of all middleware)."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(
        RequestAttributes(app),
        tracer_provider=tracer_provider,
        excluded_urls="healthz,readyz,metrics",
    )


class RequestAttributes:
    """Names the server span after the operation and adds who and which request it was."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # The server span ends with the response's last message: annotate at its start.
        async def annotating_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                _annotate(scope)
            await send(message)

        await self.app(scope, receive, annotating_send)


def _annotate(scope: Scope) -> None:
    from opentelemetry import trace

    span = trace.get_current_span()
    if not span.is_recording():
        return
    state = scope.get("state", {})
    if (request_id := state.get("request_id")) is not None:
        span.set_attribute("prakerja.request_id", request_id)
    if (principal := state.get("principal")) is not None:
        span.set_attribute("prakerja.client_id", principal.client_id)
        span.set_attribute("prakerja.partner_type", principal.partner_type.value)
    if (operation := state.get("operation")) is not None:
        span.set_attribute("graphql.operation.name", operation)
        span.update_name(f"{scope['method']} {scope['path']} {operation}")
