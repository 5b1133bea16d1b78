"""Prometheus metrics: an ASGI middleware that counts requests, and the ``/metrics`` answer.

Correct across ``serve --workers N``: with several workers every process writes its samples
to files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode) and a scrape
of any worker adds them up. The endpoint is either a listener of its own on
``PRAKERJA_METRICS_PORT`` (keep that port inside the cluster) or ``GET /metrics`` on the main
port behind ``Authorization: Bearer $PRAKERJA_METRICS_TOKEN``; with neither there is none.

Labels are bounded: the operation name is the client's, so only the first
``MAX_OPERATION_NAMES`` distinct names per process get a series of their own, later ones
count as ``other``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.db.database import Database
from core.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 200
# Request bodies whose label is remembered (emptied when full), each at most so long: at
# most 4 MiB of a worker's memory.
LABELLED_BODIES_KEPT = 256
LABELLED_BODY_BYTES = 16 << 10
MAX_CAPTURED_BODY = 1 << 20

REQUESTS = Counter(
    "prakerja_requests_total",
    "GraphQL requests by operation name, partner type and outcome.",
    ["operation", "partner_type", "outcome"],
)
LATENCY = Histogram(
    "prakerja_request_duration_seconds",
    "GraphQL request latency by operation name, partner type and outcome.",
    ["operation", "partner_type", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUERY_COST = Histogram(
    "prakerja_query_cost",
    "Static cost (schema/cost.py) of each costed GraphQL request, refused ones included, by "
    "operation name and partner type.",
    ["operation", "partner_type"],
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
GRAPHQL_ERRORS = Counter(
    "prakerja_graphql_errors_total", "GraphQL errors in answers, by extensions.code.", ["code"]
)
POOL_IN_USE = Gauge(
    "prakerja_db_pool_in_use",
    "Database connections checked out of the pool and at work (all workers); the idle ones "
    "kept out of it are prakerja_db_pool_kept.",
    multiprocess_mode="livesum",
)
POOL_KEPT = Gauge(
    "prakerja_db_pool_kept",
    "Database connections kept idle out of the pool between the driver path's blocks, for "
    "the next one (core/db/database.py, driver_connection; all workers).",
    multiprocess_mode="livesum",
)
POOL_SATURATED = Counter(
    "prakerja_db_pool_waits_total",
    "Checkouts that took the pool's last free connection: the next checkout has to wait.",
)
CACHE_LOOKUPS = Counter(
    "prakerja_cache_lookups_total", "Response cache lookups by result.", ["cache", "result"]
)
RATE_LIMITED = Counter(
    "prakerja_rate_limited_total", "Requests refused by a rate limit.", ["route"]
)
ROUTED = Counter(
    "prakerja_db_routed_total",
    "GraphQL requests by the database their session used: primary or replica (core/db/routing.py).",
    ["database"],
)
COMPILED_LANE = Counter(
    "prakerja_compiled_lane_answers_total",
    "Queries answered by the compiled lane (gateway/compiled_lane.py) without the view",
)
DRIVER_TRANSACTIONS = Counter(
    "prakerja_driver_transactions_total",
    "Mutation requests whose transaction ran on the driver connection "
    "(core/db/driver_transaction.py)",
)

_extra_collectors: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """The hook for metrics defined elsewhere (e.g. the compiled-read ``FALLBACKS`` counter).

    A ``prometheus_client`` Counter/Gauge/Histogram created anywhere in the process is scraped
    already (the default registry; in multiprocess mode its files). A custom collector that
    computes its samples at scrape time registers here.
    """
    _extra_collectors.append(collector)


def prepare_multiprocess_directory(settings: Settings, *, workers: int) -> None:
    """Before workers start: a clean directory for their sample files (several workers only)."""
    if workers < 2:
        return
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        # Files of a previous run would be added to this one's counts.
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
    else:
        directory = tempfile.mkdtemp(prefix="prakerja-metrics-")
        os.environ[MULTIPROC_ENV] = directory


def cleanup_multiprocess_directory() -> None:
    directory = os.environ.get(MULTIPROC_ENV)
    if directory and Path(directory).name.startswith("prakerja-metrics-"):
        shutil.rmtree(directory, ignore_errors=True)


def _scrape_registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


async def render_metrics(app_state: Any) -> bytes:
    """Every metric, plus the outbox's backlog read from the database now."""
    families: list[GaugeMetricFamily] = []
    database = getattr(app_state, "database", None)
    if database is not None:
        families.extend(await _outbox_families(database))
    output = generate_latest(_scrape_registry())
    extra = CollectorRegistry()
    for collector in [*_extra_collectors, _Families(families)]:
        extra.register(collector)
    return output + generate_latest(extra)


class _Families(Collector):
    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self.families


async def _outbox_families(database: Any) -> list[GaugeMetricFamily]:
    from sqlalchemy import text

    from core.enums import OutboxStatus

    async with database.sessionmaker() as session:
        row = (
            await session.execute(
                text(
                    "SELECT count(*) AS backlog,"
                    " coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age"
                    " FROM notification_outbox WHERE status = :pending"
                ),
                {"pending": OutboxStatus.PENDING.value},
            )
        ).one()
    backlog = GaugeMetricFamily(
        "prakerja_outbox_backlog", "Notifications waiting to be sent.", value=row.backlog
    )
    age = GaugeMetricFamily(
        "prakerja_outbox_oldest_age_seconds",
        "Age of the oldest notification waiting to be sent.",
        value=float(row.age),
    )
    return [backlog, age]


def instrument_pool(database: Database) -> None:
    """Connections in use and saturation, from the pool's checkout and checkin events; the
    connections ``driver_connection`` keeps idle, though checked out, from the database."""
    pool = database.engine.sync_engine.pool
    if getattr(pool, "_prakerja_instrumented", False):
        return  # tests run the lifespan again on the same engine
    pool._prakerja_instrumented = True  # type: ignore[attr-defined]
    capacity = pool.size() + max(pool._max_overflow, 0)  # type: ignore[attr-defined]
    checked_out = 0

    def checkout(*_: object) -> None:
        nonlocal checked_out
        checked_out += 1
        POOL_IN_USE.inc()
        if checked_out >= capacity:
            POOL_SATURATED.inc()

    def checkin(*_: object) -> None:
        nonlocal checked_out
        checked_out -= 1
        POOL_IN_USE.dec()

    def kept(change: int) -> None:
        POOL_KEPT.inc(change)
        POOL_IN_USE.dec(change)

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    database.watch_kept(kept)


_OPERATION = re.compile(rb"\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]{0,63})")
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")


class MetricsMiddleware:
    """Counts each ``/graphql`` request by operation, partner type and outcome; ``/metrics``."""

    def __init__(
        self, app: ASGIApp, *, token: str | None = None, state: Callable[[], Any] | None = None
    ) -> None:
        self.app = app
        self.token = token
        self.state = state
        self._names: set[str] = set()
        self._labels_of_bodies: dict[bytes, str] = {}
        # Each metric's series by label values, looked up once: ``labels()`` checks and
        # locks on every call, and the label sets are few (operation names are capped, the
        # rest are enums). A series is made only when first observed, as ``labels()`` does.
        self._children: dict[tuple[Any, ...], Any] = {}
        self._cache_seen = (0, 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == "/metrics" and self.token is not None:
            await self._metrics(scope, receive, send)
            return
        if path != "/graphql":
            await self.app(scope, receive, self._count_refusals(path, send))
            return
        started = time.perf_counter()
        request_body = bytearray()
        response_body = bytearray()
        status = 500

        async def capture_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(request_body) < MAX_CAPTURED_BODY:
                request_body.extend(message.get("body", b""))
            return message

        async def capture_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Known now (the body was read), for the tracing span that ends with the answer.
                state = scope.setdefault("state", {})
                state["operation"] = self._operation(scope, bytes(request_body))
            elif message["type"] == "http.response.body" and len(response_body) < (
                MAX_CAPTURED_BODY
            ):
                response_body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, capture_receive, capture_send)
        finally:
            self._observe(scope, bytes(request_body), bytes(response_body), status, started)

    def _observe(
        self, scope: Scope, request: bytes, response: bytes, status: int, started: float
    ) -> None:
        principal = scope.get("state", {}).get("principal")
        partner_type = principal.partner_type.value if principal is not None else "none"
        operation = scope.get("state", {}).get("operation") or self._operation(scope, request)
        codes = _error_codes(response) if b'"errors":' in response else []
        outcome = _outcome(status, bool(codes))
        self._series(REQUESTS, operation, partner_type, outcome).inc()
        latency = self._series(LATENCY, operation, partner_type, outcome)
        latency.observe(time.perf_counter() - started)
        cost = scope.get("state", {}).get("cost")
        if cost is not None:
            self._series(QUERY_COST, operation, partner_type).observe(cost)
        for code in codes:
            GRAPHQL_ERRORS.labels(code).inc()
        self._count_cache(scope)

    def _series(self, metric: Any, *labels: str) -> Any:
        key = (metric, *labels)
        series = self._children.get(key)
        if series is None:
            series = self._children[key] = metric.labels(*labels)
        return series

    def _operation(self, scope: Scope, request: bytes) -> str:
        name: str | None = None
        # The view parsed the request once (gateway/request_body.py): use its reading.
        parsed = scope.get("state", {}).get("graphql_request")
        if parsed is not None:
            name = parsed.operation_name or _name_in(parsed.query)
        elif request[:1] == b"{":
            # A partner sends the same body again and again (the compiled lane answers it
            # without parsing it): its label is read once, not parsed from JSON each time.
            known = self._labels_of_bodies.get(request)
            if known is not None:
                return known
            label = self._label(_name_in_body(request))
            if len(request) <= LABELLED_BODY_BYTES:
                if len(self._labels_of_bodies) >= LABELLED_BODIES_KEPT:
                    self._labels_of_bodies.clear()
                self._labels_of_bodies[request] = label
            return label
        elif scope["method"] == "GET":
            from urllib.parse import parse_qs

            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            name = (query.get("operationName") or [None])[0] or _name_in(
                (query.get("query") or [""])[0]
            )
        return self._label(name)

    def _label(self, name: str | None) -> str:
        """The operation's label: the name, or "anonymous", or "other" past the limit (a
        body's label never changes: names are never forgotten)."""
        if name is None or not _NAME.match(name):
            return "anonymous"
        if name in self._names:
            return name
        if len(self._names) >= MAX_OPERATION_NAMES:
            return "other"
        self._names.add(name)
        return name

    def _count_refusals(self, path: str, send: Send) -> Send:
        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 429:
                RATE_LIMITED.labels(path.split("/", 2)[1] or "root").inc()
            await send(message)

        return counting_send

    def _count_cache(self, scope: Scope) -> None:
        app = scope.get("app")
        cache = getattr(getattr(app, "state", None), "catalog_cache", None)
        if cache is None:
            return
        hits, misses = cache.hits, cache.misses
        seen_hits, seen_misses = self._cache_seen
        if hits > seen_hits:
            CACHE_LOOKUPS.labels("catalog", "hit").inc(hits - seen_hits)
        if misses > seen_misses:
            CACHE_LOOKUPS.labels("catalog", "miss").inc(misses - seen_misses)
        self._cache_seen = (hits, misses)

    async def _metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        offered = request.headers.get("authorization", "")
        assert self.token is not None
        if not hmac.compare_digest(offered.encode(), f"Bearer {self.token}".encode()):
            response = Response(
                "metrics need the metrics token",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        else:
            body = await render_metrics(scope["app"].state)
            response = Response(body, media_type=CONTENT_TYPE_LATEST)
        await response(scope, receive, send)


def _name_in_body(request: bytes) -> str | None:
    try:
        payload = json.loads(request)
    except (ValueError, RecursionError):  # hostile bodies: the view answers them
        return None
    if not isinstance(payload, dict):
        return None
    if isinstance(payload.get("operationName"), str):
        return str(payload["operationName"])
    if isinstance(payload.get("query"), str):
        return _name_in(payload["query"])
    return None


def _name_in(document: str) -> str | None:
    # Whatever the text holds (a lone surrogate a JSON body may carry): only a name is read.
    found = _OPERATION.search(document.encode("utf-8", "replace"))
    return found.group(1).decode() if found else None


def _error_codes(body: bytes) -> list[str]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return ["UNPARSED"]
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return []
    codes = []
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        codes.append(code if isinstance(code, str) and _NAME.match(code) else "UNKNOWN")
    return codes


def _outcome(status: int, has_errors: bool) -> str:
    if status >= 500:
        return "server_error"
    if status in (401, 403):
        return "unauthorized"
    if status >= 400:
        return "client_error"
    return "graphql_error" if has_errors else "ok"


async def start_metrics_listener(host: str, port: int, state: Any) -> asyncio.Server:
    """``GET /metrics`` on a port of its own, without a token: keep the port internal.

    Every worker binds it (``SO_REUSEPORT``) and any of them answers for all, since the
    samples are added up across processes.
    """

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=10)
            while (await asyncio.wait_for(reader.readline(), timeout=10)) not in (b"\r\n", b""):
                pass
            parts = request_line.split()
            if len(parts) >= 2 and parts[0] == b"GET" and parts[1].split(b"?")[0] == b"/metrics":
                status, content_type, body = (
                    "200 OK",
                    CONTENT_TYPE_LATEST,
                    await render_metrics(state),
                )
            else:
                status, content_type, body = "404 Not Found", "text/plain", b"not found\n"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(answer, host, port, reuse_port=True)
