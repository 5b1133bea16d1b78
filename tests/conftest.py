"""Fixtures: a real PostgreSQL for the whole run, a seeded database per worker; an app per test.

``PRAKERJA_TEST_DATABASE_URL`` points at a server (CI: the machine's PostgreSQL 15); without
it the embedded server starts in a temporary directory that every xdist worker of the run
shares. Either way each worker makes its own databases and drops them at the end; seeded
databases are clones of a template built once per run (``tests/support/databases.py``).
Helpers live in ``tests/support/``; this file holds fixtures and hooks only.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.db.actor import ASSUME_ROLE_KEY
from core.db.database import Database
from core.db.engine import create_engine
from core.db.session import SerializedAsyncSession
from gateway.embedded import EmbeddedPostgres
from tests.support.credentials import SharedCredentials
from tests.support.databases import DatabaseFactory, drop_templates
from tests.support.gateway import Tokens, make_client

SERVER_URL_VARIABLE = "PRAKERJA_TEST_DATABASE_URL"
_RUN_ID = pytest.StashKey[str]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _run_id(config: pytest.Config) -> str:
    """One id for the whole run, the same in the controller and every xdist worker."""
    if _is_worker(config):
        run_id: str = config.workerinput["prakerja_run_id"]  # type: ignore[attr-defined]
        return run_id
    if _RUN_ID not in config.stash:
        config.stash[_RUN_ID] = uuid.uuid4().hex[:10]
    return config.stash[_RUN_ID]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """(xdist, in the controller) Hands each worker the run's id."""
    node.workerinput["prakerja_run_id"] = _run_id(node.config)  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller drops the run's templates once every worker is done with them."""
    if _is_worker(session.config):
        return
    configured = os.environ.get(SERVER_URL_VARIABLE)
    if configured:
        asyncio.run(drop_templates(configured, _run_id(session.config)))
    # (The embedded server's templates go with its temporary directory.)


@pytest.fixture(scope="session")
def server_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A URL of a PostgreSQL server's maintenance database."""
    configured = os.environ.get(SERVER_URL_VARIABLE)
    if configured:
        yield configured
        return
    # Every worker holds the same embedded server (the last one to let go stops it), so
    # the run's templates are shared as on an external server.
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if _is_worker(request.config) else base
    embedded = EmbeddedPostgres(shared / "embedded")
    yield embedded.start()
    embedded.stop()


@pytest.fixture(scope="session")
async def databases(
    server_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(server_url, _run_id(request.config))
    yield factory
    await factory.drop_all()


@pytest.fixture(scope="session")
async def seeded(databases: DatabaseFactory) -> tuple[str, SharedCredentials]:
    url, clients = await databases.seeded_with_clients("seeded")
    return url, SharedCredentials(clients)


@pytest.fixture(scope="session")
def seeded_url(seeded: tuple[str, SharedCredentials]) -> str:
    """This worker's database holding the deterministic demo programme (small) and the
    run's test clients (``tests/support/credentials.py``)."""
    return seeded[0]


@pytest.fixture(scope="session")
def shared_credentials(seeded: tuple[str, SharedCredentials]) -> SharedCredentials:
    """The test clients committed in ``seeded_url`` and the tokens issued to them so far."""
    return seeded[1]


@pytest.fixture
async def database(seeded_url: str) -> AsyncIterator[Database]:
    """The seeded database, with every write of the test rolled back at its end.

    The app's per-request commits become savepoint releases inside one outer transaction
    (SQLAlchemy's ``join_transaction_mode="create_savepoint"``). The connection is the
    owner's: the test's set-up writes as the owner, and the app handed this database by
    ``make_client`` runs every transaction as ``prakerja_app`` (``SET LOCAL ROLE``).
    """
    # The test's connection, and one more for what opens its own (the readiness probe).
    engine = create_engine(seeded_url, pool_size=2)
    async with engine.connect() as connection:
        outer = await connection.begin()
        sessionmaker = async_sessionmaker(
            bind=connection,
            class_=SerializedAsyncSession,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
            # The test's own sessions are the owner again after the app's, which run as
            # prakerja_app on this same connection (tests/support/gateway.py, as_app).
            info={ASSUME_ROLE_KEY: "none"},
        )
        yield Database(url=seeded_url, engine=engine, sessionmaker=sessionmaker)
        await outer.rollback()
    await engine.dispose()


@pytest.fixture
async def client(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(database) as http:
        yield http


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def tokens(
    client: httpx.AsyncClient, database: Database, shared_credentials: SharedCredentials
) -> Tokens:
    return Tokens(client, database, shared_credentials)
