"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.routing import Route

from auth.routes import routes as oauth_routes
from auth.runtime import IDENTITY_CHANNEL, AuthRuntime
from core.db.actor import APP_ROLE
from core.db.availability import FAILURE_TYPES
from core.db.database import Database
from core.db.listener import ChangeListener, Subscriber
from core.db.routing import ReadRouting
from core.db.urls import as_role
from core.settings import DatabasePooler, Settings
from gateway.cache.store import CATALOG_CHANNEL, ResponseCache
from gateway.certificates import TokenBuckets
from gateway.certificates import routes as certificate_routes
from gateway.compiled_lane import CompiledLane
from gateway.disbursement_export import routes as disbursement_routes
from gateway.embedded import EmbeddedPostgres
from gateway.errors import database_unavailable
from gateway.explorer import ExplorerMiddleware
from gateway.graphql_view import GatewayGraphQL
from gateway.health import healthz, readyz
from gateway.metrics import MetricsMiddleware, instrument_pool, start_metrics_listener
from gateway.middleware import (
    BodySizeLimitMiddleware,
    ErrorEnvelopeMiddleware,
    RequestIdMiddleware,
)
from gateway.rate_limit import Limiter, make_limiter
from gateway.trusted_documents import (
    DOCUMENTS_CHANNEL,
    AutomaticPersistedQueries,
    RegisteredDocuments,
)
from resolvers.certificates.credentials import Issuer
from resolvers.certificates.keys import CredentialKeys
from schema.root import schema

log = logging.getLogger(__name__)


def create_app_from_environment() -> Starlette:
    """The factory each worker process of ``serve --workers N`` calls."""
    from core.settings import load_settings
    from gateway.observability import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level.value, settings.log_format)
    app = create_app(settings)
    settle_heap()
    return app


def settle_heap() -> None:
    """For a serving process, once its app is made: what start-up built (the modules, the
    schema, SQLAlchemy's tables and statements), hundreds of thousands of objects that live
    as long as the process, moves out of the garbage collector's sight (``gc.freeze``).
    Every full collection walked all of it, holding the event loop for tens of
    milliseconds: with it frozen the catalog page's p99 was 0.64-1.28 times PostGraphile's
    in six interleaved rounds, against 1.14-2.44 times without (bench/peer). Not for tests,
    which make many apps in one process."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings, *, database: Database | None = None, tracer_provider: Any = None
) -> Starlette:
    """Builds the app; the database is made in the lifespan unless one is handed in (tests).

    With ``otel_enabled``, requests and SQL are traced to ``tracer_provider`` (tests hand in
    one with an in-memory exporter), else to one made from the environment.
    """
    if settings.otel_enabled and tracer_provider is None:
        from gateway.tracing import make_tracer_provider

        tracer_provider = make_tracer_provider()
    # GraphiQL's page loads from a CDN; demo mode serves our offline explorer instead.
    graphql = GatewayGraphQL(schema, graphiql=False)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        embedded: EmbeddedPostgres | None = None
        db = database
        if db is None:
            url = settings.database_url
            if url is None:
                embedded = EmbeddedPostgres(settings.data_dir)
                url = as_role(await asyncio.to_thread(embedded.start), APP_ROLE)
            db = Database.connect(
                url,
                pool_size=settings.db_pool_size,
                transaction_pooler=settings.database_pooler is DatabasePooler.TRANSACTION,
                listen_url=settings.database_listen_url,
            )
        app.state.database = db
        app.state.settings = settings
        app.state.rate_limiter = _limiter(settings, db, shared=embedded is None)
        replica = None
        if settings.database_read_url is not None and database is None:
            # Direct to the replica (no pooler), with a ping at checkout: a replica that
            # restarted must cost a fallback, never a failed request.
            replica = Database.connect(
                settings.database_read_url, pool_size=settings.db_pool_size, pre_ping=True
            )
        routing = ReadRouting(db, replica, max_lag_seconds=settings.read_replica_max_lag_seconds)
        app.state.routing = routing
        await routing.start()
        # One LISTEN connection for the process: the principal cache and the registered
        # documents always, the catalog response cache when it is on. All stay dark (serve
        # nothing) until it listens.
        subscribers: dict[str, Subscriber] = {
            IDENTITY_CHANNEL: app.state.auth,
            DOCUMENTS_CHANNEL: app.state.registered_documents,
        }
        # Always present, None when off: a missing attribute of Starlette's State costs an
        # exception on every look (the metrics' and the cache's, on each request).
        app.state.catalog_cache = None
        if settings.catalog_cache:
            cache = ResponseCache(max_bytes=settings.catalog_cache_max_mb << 20)
            subscribers[CATALOG_CHANNEL] = cache
            app.state.catalog_cache = cache
        listener = ChangeListener(db.listen_url or db.url, subscribers)
        await listener.start()
        instrument_pool(db)
        if database is None:
            await _warn_if_above_row_security(db)
        if tracer_provider is not None:
            from gateway.tracing import instrument_engine

            instrument_engine(db.engine, tracer_provider)
        metrics_listener = None
        if settings.metrics_port:
            metrics_listener = await start_metrics_listener(
                settings.host, settings.metrics_port, app.state
            )
        try:
            yield
        finally:
            if metrics_listener is not None:
                metrics_listener.close()
            await listener.stop()
            await routing.stop()
            if replica is not None:
                await replica.dispose()
            if database is None:
                await db.dispose()
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *oauth_routes,
            *certificate_routes,
            *disbursement_routes,
        ],
        lifespan=lifespan,
    )
    # Key caches live as long as the app: one per process.
    app.state.auth = AuthRuntime(settings)
    app.state.certificate_issuer = Issuer(
        base_url=settings.public_base_url.rstrip("/"),
        keys=CredentialKeys(settings.resolved_master_key),
    )
    app.state.public_rate_limit = TokenBuckets(settings.public_rate_per_minute)
    app.state.registered_documents = RegisteredDocuments()
    app.state.automatic_persisted_queries = AutomaticPersistedQueries()
    if database is not None:
        # Tests hand a database in and may skip the lifespan; state must exist regardless.
        app.state.database = database
        app.state.settings = settings
        app.state.rate_limiter = _limiter(settings, database, shared=True)
        app.state.routing = ReadRouting(database, None)
    app.state.draining = False
    # A database out of reach answers 503 right where it is raised (the connection stays
    # open); anything else that escapes is the error envelope's (JSON with an error id).
    for failure in FAILURE_TYPES:
        app.add_exception_handler(failure, database_unavailable)
    app.add_middleware(BodySizeLimitMiddleware)
    if settings.demo:
        app.add_middleware(ExplorerMiddleware)
    # Outside the body limit, which answers its own 413; inside the request id.
    app.add_middleware(ErrorEnvelopeMiddleware)
    # Inside the metrics and the request id, which count and tag its answers too.
    app.add_middleware(CompiledLane, view=graphql)
    # Outside the error envelope, inside the request id: refusals and 503s are counted too.
    app.add_middleware(MetricsMiddleware, token=settings.metrics_token)
    # Added last, so outermost: even a refused body gets a request id and an access log line.
    app.add_middleware(RequestIdMiddleware)
    if tracer_provider is not None:
        from gateway.tracing import instrument_engine, tracing_middleware

        # Outermost: the server span covers everything, the traceparent is read first.
        app.add_middleware(lambda inner: tracing_middleware(inner, tracer_provider))
        if database is not None:
            instrument_engine(database.engine, tracer_provider)
    return app


_PRIVILEGED = text(
    "SELECT r.rolsuper OR r.rolbypassrls OR EXISTS ("
    " SELECT 1 FROM pg_class c WHERE c.relname = 'purchases' AND c.relowner = r.oid)"
    " FROM pg_roles r WHERE r.rolname = current_user"
)


async def _warn_if_above_row_security(database: Database) -> None:
    """Says loudly when the gateway serves as a role row-level security does not bind (a
    superuser, BYPASSRLS, or the tables' owner): the tenancy clauses are then the only line."""
    try:
        async with asyncio.timeout(5), database.engine.connect() as connection:
            privileged = (await connection.execute(_PRIVILEGED)).scalar()
    except Exception:  # unreachable now: /readyz will say so; nothing to add here
        return
    if privileged:
        log.error(
            "serving as a PostgreSQL role that bypasses row-level security: set "
            "PRAKERJA_DATABASE_URL to the role prakerja_app and PRAKERJA_MIGRATION_DATABASE_URL "
            "to the owner (README: Two database roles)"
        )


def _limiter(settings: Settings, database: Database, *, shared: bool) -> Limiter:
    """Shared through PostgreSQL, except for the embedded demo's single process."""
    return make_limiter(
        database,
        shared=shared,
        capacity=settings.rate_limit_points,
        rate=settings.rate_limit_points_per_second,
    )
