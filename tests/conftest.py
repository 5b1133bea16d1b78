"""Fixtures: a real PostgreSQL for the whole run, migrated once; an app per test.

``PRAKERJA_TEST_DATABASE_URL`` points at a server (CI: the machine's PostgreSQL 15); without
it the embedded server starts in a temporary directory. Either way each run makes its own
databases and drops them at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from auth.admin import IssuedCredentials, create_client
from auth.audit import Origin
from auth.scopes import allowed_scopes
from core.db import migrate
from core.db.database import Database
from core.db.engine import create_engine
from core.db.session import SerializedAsyncSession
from core.db.urls import with_database
from core.enums import PartnerType
from core.models import Partner
from core.settings import Settings
from gateway.app import create_app
from gateway.embedded import EmbeddedPostgres

SEED_PARTICIPANTS = 2_000
# Tests never touch a master key file: the app signs with keys encrypted under this one.
TEST_MASTER_KEY = "test-master-key-not-for-production"


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
    # Alembic runs its own event loop: keep it off this one.
    await asyncio.to_thread(migrate.upgrade, url)
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
    settings.setdefault("master_key", TEST_MASTER_KEY)
    # Tests page through whole lists at full speed; the rate limit has tests of its own.
    settings.setdefault("rate_limit_points", 10_000_000)
    settings.setdefault("rate_limit_points_per_second", 1_000_000)
    app = create_app(Settings(database_url=database.url, **settings), database=database)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


@pytest.fixture
async def client(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(database) as http:
        yield http


async def graphql(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, object] | None = None,
    *,
    token: str | None = None,
) -> dict[str, object]:
    """POSTs one operation and returns the decoded JSON body (asserting a JSON answer).

    Every GraphQL call needs a bearer token: get one with the ``tokens`` fixture, or call
    ``tokens.graphql(...)`` which does both.
    """
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.headers["content-type"].startswith("application/json"), response.text
    body: dict[str, object] = response.json()
    return body


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


# The partner each partner type is represented by in tests (all in the seeded programme);
# regional offices are DISNAKER-<regency code>, and the first one by code is used.
REPRESENTATIVES: dict[PartnerType, str] = {
    PartnerType.PLATFORM: "DP-001",
    PartnerType.TRAINING_PROVIDER: "LP-0001",
    PartnerType.PAYMENT_PARTNER: "PP-001",
    PartnerType.PROGRAM_MANAGEMENT: "PMO",
}

Partnerish = str | PartnerType


class Tokens:
    """Real OAuth clients and access tokens inside the test's rolled-back database.

    Every token comes from ``POST /oauth/token`` (client_secret_basic), exactly as a
    partner gets one, so tests exercise the real issuance and verification::

        token = await tokens.issue("DP-001", ["catalog:read"])
        body = await graphql(client, "{ viewer { code } }", token=token)
        body = await tokens.graphql(PartnerType.PLATFORM, "{ courses { ... } }")

    A partner is named by its code (``"DP-001"``, ``"LP-0042"``, ``"DISNAKER-3171"``) or by
    its type (then its representative above). ``scopes=None`` means every scope the partner
    type may hold. Clients and tokens are cached per (partner, scopes) within one test.
    """

    def __init__(self, http: httpx.AsyncClient, database: Database) -> None:
        self.http = http
        self.database = database
        self._credentials: dict[tuple[str, tuple[str, ...]], IssuedCredentials] = {}
        self._tokens: dict[tuple[str, tuple[str, ...]], str] = {}

    async def partner_code(self, partner: Partnerish) -> str:
        if not isinstance(partner, PartnerType):  # (a StrEnum is a str too: test it first)
            return partner
        if partner in REPRESENTATIVES:
            return REPRESENTATIVES[partner]
        async with self.database.sessionmaker() as session:
            code = await session.scalar(
                select(Partner.code).where(Partner.type == partner).order_by(Partner.code).limit(1)
            )
        assert code is not None, f"the seed has no {partner.value}"
        return code

    async def _scopes(self, code: str, scopes: Iterable[str] | None) -> tuple[str, ...]:
        if scopes is not None:
            return tuple(sorted(set(scopes)))
        async with self.database.sessionmaker() as session:
            partner_type = await session.scalar(select(Partner.type).where(Partner.code == code))
        assert partner_type is not None, f"no partner {code}"
        return tuple(sorted(scope.value for scope in allowed_scopes(partner_type)))

    async def client_for(
        self, partner: Partnerish, scopes: Iterable[str] | None = None
    ) -> IssuedCredentials:
        """A new (cached) client of the partner holding ``scopes``: id and secret."""
        code = await self.partner_code(partner)
        granted = await self._scopes(code, scopes)
        key = (code, granted)
        if key not in self._credentials:
            async with self.database.sessionmaker() as session:
                self._credentials[key] = await create_client(
                    session,
                    Origin(operator="tests"),
                    partner_code=code,
                    scopes=list(granted),
                    name=f"test client {code}",
                )
                await session.commit()
        return self._credentials[key]

    async def issue(self, partner: Partnerish, scopes: Iterable[str] | None = None) -> str:
        """An access token for the partner with exactly ``scopes``, via POST /oauth/token."""
        credentials = await self.client_for(partner, scopes)
        key = (credentials.partner_code, credentials.scopes)
        if key not in self._tokens:
            assert credentials.client_secret is not None
            response = await self.http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": " ".join(credentials.scopes)},
                auth=(credentials.client_id, credentials.client_secret),
            )
            assert response.status_code == 200, response.text
            self._tokens[key] = response.json()["access_token"]
        return self._tokens[key]

    async def headers(
        self, partner: Partnerish, scopes: Iterable[str] | None = None
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.issue(partner, scopes)}"}

    async def graphql(
        self,
        partner: Partnerish,
        query: str,
        variables: dict[str, object] | None = None,
        *,
        scopes: Iterable[str] | None = None,
    ) -> dict[str, object]:
        """One GraphQL operation as the partner (see ``graphql``)."""
        token = await self.issue(partner, scopes)
        return await graphql(self.http, query, variables, token=token)


@pytest.fixture
def tokens(client: httpx.AsyncClient, database: Database) -> Tokens:
    return Tokens(client, database)
