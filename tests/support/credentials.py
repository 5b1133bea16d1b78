"""Test OAuth clients made once per run, so that tests do not make them for every token.

Client secrets were once scrypt hashes costing tens of milliseconds to make and as much to
check (now a keyed hash, auth/secrets.py), and most tests ask for a client and a token of
the same few partners: done per test, that was a third of the suite's time. So the
template the shared ``database`` fixture clones (``tests/support/databases.py``) already
holds, committed, one client with every allowed scope for each partner below, and its
signing keys. ``Tokens`` hands those out, and keeps the tokens it got for them from
``POST /oauth/token`` for the rest of the worker's session: every test's writes roll back,
so a later test sees the same clients, keys and unrevoked tokens. Any other (partner,
scopes) is made inside the test as before; tests that need a client of their own ask for a
narrower scope set or make it themselves.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from auth.admin import IssuedCredentials, create_client
from auth.audit import Origin
from auth.keys import ensure_signing_keys
from auth.scopes import allowed_scopes
from core.db.database import Database
from core.enums import PartnerType
from core.models import Partner
from tests.support.gateway import TEST_MASTER_KEY

# The partners the tests act as most; the first regional office by code is added.
PARTNERS = ("DP-001", "DP-002", "LP-0001", "LP-0002", "PP-001", "PP-002", "PMO")
# A cached token is used for at most this long (tokens live 15 minutes by default).
TOKEN_REUSE_SECONDS = 5 * 60

Key = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class TestClients:
    """The run's committed clients, by (partner code, sorted scopes)."""

    credentials: dict[Key, IssuedCredentials]

    def to_json(self) -> str:
        return json.dumps(
            [
                [c.client_id, c.client_secret, c.partner_code, list(c.scopes)]
                for c in self.credentials.values()
            ]
        )

    @classmethod
    def from_json(cls, text: str) -> TestClients:
        found = {}
        for client_id, secret, code, scopes in json.loads(text):
            credentials = IssuedCredentials(client_id, secret, code, tuple(scopes))
            found[(code, credentials.scopes)] = credentials
        return cls(found)


async def create_test_clients(url: str) -> TestClients:
    """Commits the clients of ``PARTNERS`` and the signing keys into the database at ``url``."""
    database = Database.connect(url, pool_size=1)
    try:
        async with database.sessionmaker() as session:
            office = await session.scalar(
                select(Partner.code)
                .where(Partner.type == PartnerType.REGIONAL_OFFICE)
                .order_by(Partner.code)
                .limit(1)
            )
            found = {}
            for code in (*PARTNERS, *([office] if office else [])):
                partner_type = await session.scalar(
                    select(Partner.type).where(Partner.code == code)
                )
                if partner_type is None:
                    continue
                scopes = sorted(scope.value for scope in allowed_scopes(partner_type))
                credentials = await create_client(
                    session,
                    Origin(operator="tests"),
                    partner_code=code,
                    scopes=scopes,
                    master_key=TEST_MASTER_KEY.encode(),
                    name=f"test client {code}",
                )
                found[(code, credentials.scopes)] = credentials
            await ensure_signing_keys(session, TEST_MASTER_KEY.encode())
            await session.commit()
    finally:
        await database.dispose()
    return TestClients(found)


@dataclass
class SharedCredentials:
    """The run's committed clients and the tokens issued to them, for one worker's session."""

    clients: TestClients
    _tokens: dict[Key, tuple[str, float]] = field(default_factory=dict)

    def client(self, key: Key) -> IssuedCredentials | None:
        return self.clients.credentials.get(key)

    def token(self, key: Key) -> str | None:
        cached = self._tokens.get(key)
        if cached is None or time.monotonic() - cached[1] > TOKEN_REUSE_SECONDS:
            return None
        return cached[0]

    def keep(self, key: Key, token: str) -> None:
        self._tokens[key] = (token, time.monotonic())
