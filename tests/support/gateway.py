"""Talking to the app as a partner does: an in-process client, GraphQL calls, real tokens."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.applications import Starlette

from auth.admin import IssuedCredentials, create_client
from auth.audit import Origin
from auth.scopes import allowed_scopes
from core.db.actor import APP_ROLE, ASSUME_ROLE_KEY
from core.db.database import Database
from core.enums import PartnerType
from core.models import Partner
from core.settings import Settings
from gateway.app import create_app
from gateway.rate_limit import client_bucket

if TYPE_CHECKING:
    from tests.support.credentials import SharedCredentials

# Tests never touch a master key file: the app signs with keys encrypted under this one.
TEST_MASTER_KEY = "test-master-key-not-for-production"


def as_app(database: Database) -> Database:
    """The same database and connections, each transaction run as ``prakerja_app`` (the
    role the gateway serves as), so the app under test has the grants and the row-level
    security it has in production while the test's own sessions stay the owner."""
    made = database.sessionmaker
    info = {**(made.kw.get("info") or {}), ASSUME_ROLE_KEY: APP_ROLE}
    sessionmaker = async_sessionmaker(class_=made.class_, **{**made.kw, "info": info})
    return dataclasses.replace(database, sessionmaker=sessionmaker)


async def running_app(
    stack: AsyncExitStack, url: str, *, app_role: bool = True, **settings: object
) -> tuple[Starlette, httpx.AsyncClient]:
    """One gateway process on the committed database at ``url``: its app with the lifespan
    running (its LISTEN connection: the principal cache and the registered documents live)
    and an HTTP client to it, both closed with ``stack``. ``app_role``: serve as the
    application role, as a deployed gateway does."""
    database = Database.connect(url, pool_size=2)
    stack.push_async_callback(database.dispose)
    settings.setdefault("master_key", TEST_MASTER_KEY)
    settings.setdefault("catalog_cache", False)
    app = create_app(
        Settings(database_url=url, **settings),  # type: ignore[arg-type]
        database=as_app(database) if app_role else database,
    )
    await stack.enter_async_context(app.router.lifespan_context(app))
    http = await stack.enter_async_context(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    )
    return app, http


def make_client(database: Database, **settings: object) -> httpx.AsyncClient:
    database = as_app(database)
    settings.setdefault("master_key", TEST_MASTER_KEY)
    # Tests page through whole lists at full speed; the rate limit has tests of its own.
    settings.setdefault("rate_limit_points", 10_000_000)
    settings.setdefault("rate_limit_points_per_second", 1_000_000)
    app = create_app(Settings(database_url=database.url, **settings), database=database)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


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
    type may hold. Clients and tokens are cached per (partner, scopes) within one test; with
    ``shared`` (the ``tokens`` fixture), the run's committed clients and their tokens are
    reused across tests (``tests/support/credentials.py``).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        database: Database,
        shared: SharedCredentials | None = None,
    ) -> None:
        self.http = http
        self.database = database
        self.shared = shared
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
        committed = self.shared.client(key) if self.shared is not None else None
        if committed is not None:
            return committed
        if key not in self._credentials:
            async with self.database.sessionmaker() as session:
                self._credentials[key] = await create_client(
                    session,
                    Origin(operator="tests"),
                    partner_code=code,
                    scopes=list(granted),
                    master_key=TEST_MASTER_KEY.encode(),
                    name=f"test client {code}",
                )
                await session.commit()
        return self._credentials[key]

    async def revoke(
        self, partner: Partnerish, scopes: Iterable[str] | None, token: str
    ) -> httpx.Response:
        """POST /oauth/revoke of ``token`` by the partner's client holding ``scopes``."""
        credentials = await self.client_for(partner, scopes)
        assert credentials.client_secret is not None
        return await self.http.post(
            "/oauth/revoke",
            data={"token": token, "token_type_hint": "access_token"},
            auth=(credentials.client_id, credentials.client_secret),
        )

    async def issue(self, partner: Partnerish, scopes: Iterable[str] | None = None) -> str:
        """An access token for the partner with exactly ``scopes``, via POST /oauth/token."""
        credentials = await self.client_for(partner, scopes)
        key = (credentials.partner_code, credentials.scopes)
        shared = self.shared if self.shared is not None and self.shared.client(key) else None
        if key not in self._tokens and shared is not None:
            reused = shared.token(key)
            if reused is not None:
                self._tokens[key] = reused
        if key not in self._tokens:
            assert credentials.client_secret is not None
            response = await self.http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": " ".join(credentials.scopes)},
                auth=(credentials.client_id, credentials.client_secret),
            )
            assert response.status_code == 200, response.text
            self._tokens[key] = response.json()["access_token"]
            if shared is not None:
                shared.keep(key, self._tokens[key])
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


async def bucket_written_at(database: Database, client_id: str) -> Any:
    """When the client's shared rate-limit row was last written (``rate_limit_buckets``):
    a spend that leases, or spends exactly, writes it; one spent from a lease does not."""
    async with database.driver_connection() as connection:
        return await connection.fetchval(
            "SELECT updated_at FROM rate_limit_buckets WHERE key = $1", client_bucket(client_id)
        )
