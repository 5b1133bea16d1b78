"""Fixtures: a real PostgreSQL for the whole run, migrated once; an app per test.

``PRAKERJA_TEST_DATABASE_URL`` points at a server (CI: the machine's PostgreSQL 15); without
it the embedded server starts in a temporary directory. Either way each run makes its own
databases and drops them at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway.app import create_app
from gateway.db import migrate
from gateway.db.database import Database
from gateway.db.engine import create_engine
from gateway.db.session import SerializedAsyncSession
from gateway.db.urls import with_database
from gateway.embedded import EmbeddedPostgres
from gateway.settings import Settings

SEED_PARTICIPANTS = 2_000


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL of a PostgreSQL server's maintenance database."""
    configured = os.environ.get("PRAKERJA_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    embedded = EmbeddedPostgres(tmp_path_factory.mktemp("embedded"))
    yield embedded.start()
    embedded.stop()


class DatabaseFactory:
    """Makes uniquely named databases on the test server, and drops them all at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.names: list[str] = []

    async def create(self, label: str) -> str:
        name = f"prakerja_test_{label}_{uuid.uuid4().hex[:8]}"
        connection = await asyncpg.connect(self.server_url)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        self.names.append(name)
        return with_database(self.server_url, name)

    async def drop_all(self) -> None:
        connection = await asyncpg.connect(self.server_url)
        try:
            for name in self.names:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


@pytest.fixture(scope="session")
async def databases(server_url: str) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(server_url)
    yield factory
    await factory.drop_all()


@pytest.fixture(scope="session")
async def seeded_url(databases: DatabaseFactory) -> str:
    """A migrated database holding the deterministic demo programme (small)."""
    from gateway.seed import seed_database

    url = await databases.create("seeded")
    migrate.upgrade(url)
    await seed_database(url, participants=SEED_PARTICIPANTS)
    return url


@pytest.fixture
async def database(seeded_url: str) -> AsyncIterator[Database]:
    """The seeded database, with every write of the test rolled back at its end.

    The app's per-request commits become savepoint releases inside one outer transaction
    (SQLAlchemy's ``join_transaction_mode="create_savepoint"``).
    """
    engine = create_engine(seeded_url, pool_size=1)
    async with engine.connect() as connection:
        outer = await connection.begin()
        sessionmaker = async_sessionmaker(
            bind=connection,
            class_=SerializedAsyncSession,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        yield Database(url=seeded_url, engine=engine, sessionmaker=sessionmaker)
        await outer.rollback()
    await engine.dispose()


def make_client(database: Database, **settings: object) -> httpx.AsyncClient:
    app = create_app(Settings(database_url=database.url, **settings), database=database)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


@pytest.fixture
async def client(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(database) as http:
        yield http


async def graphql(
    http: httpx.AsyncClient, query: str, variables: dict[str, object] | None = None
) -> dict[str, object]:
    """POSTs one operation and returns the decoded JSON body (asserting a JSON answer)."""
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.headers["content-type"].startswith("application/json"), response.text
    body: dict[str, object] = response.json()
    return body


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
