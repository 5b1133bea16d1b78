"""Test databases: uniquely named ones per test session, and seeded ones cloned from a template.

Migrating and seeding takes seconds; ``CREATE DATABASE ... TEMPLATE`` copies the result in a
fraction of that. So each seed size is migrated and seeded once per run into a template that
every pytest-xdist worker clones. The workers of one run share its id (``run_id``); the first
worker to need a template builds it under a PostgreSQL advisory lock while the others wait,
and the run's controller drops the templates when every worker has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.engine import make_url

from core.db import migrate
from core.db.urls import with_database
from tests.support.credentials import TestClients, create_test_clients

# Participants in the database most tests share (``seeded_url`` and ``database``).
SEED_PARTICIPANTS = 2_000
TEMPLATE_PREFIX = "prakerja_test_template_"


def template_name(run_id: str, participants: int) -> str:
    return f"{TEMPLATE_PREFIX}{run_id}_{participants}"


def _lock_key(name: str) -> int:
    """A stable 63-bit advisory lock key for a template's name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1


class DatabaseFactory:
    """Makes uniquely named databases on the test server, and drops them all at the end."""

    def __init__(self, server_url: str, run_id: str) -> None:
        self.server_url = server_url
        self.run_id = run_id
        self.names: list[str] = []
        self._templates: set[str] = set()

    async def create(self, label: str, *, template: str | None = None) -> str:
        name = f"prakerja_test_{label}_{uuid.uuid4().hex[:8]}"
        statement = f'CREATE DATABASE "{name}"'
        if template is not None:
            statement += f' TEMPLATE "{template}"'
        connection = await asyncpg.connect(self.server_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()
        self.names.append(name)
        return with_database(self.server_url, name)

    async def seeded(self, label: str, *, participants: int = SEED_PARTICIPANTS) -> str:
        """A new database holding the migrated demo programme with ``participants``, exactly
        as the seed makes it."""
        return await self.create(label, template=await self._template(participants))

    async def seeded_with_clients(
        self, label: str, *, participants: int = SEED_PARTICIPANTS
    ) -> tuple[str, TestClients]:
        """Like ``seeded``, plus committed OAuth clients and signing keys for the tests
        (``tests/support/credentials.py``), and those clients' credentials."""
        pristine = await self._template(participants)
        name = await self._template(participants, source=pristine)
        connection = await asyncpg.connect(self.server_url)
        try:
            # The secrets travel with the template, as its comment (shared, never cloned).
            comment = await connection.fetchval(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                name,
            )
        finally:
            await connection.close()
        return await self.create(label, template=name), TestClients.from_json(comment)

    async def _template(self, participants: int, *, source: str | None = None) -> str:
        name = template_name(self.run_id, participants)
        if source is not None:
            name += "_clients"
        if name in self._templates:
            return name
        connection = await asyncpg.connect(self.server_url)
        try:
            # Session-level: held across the build, released when this connection closes.
            await connection.execute("SELECT pg_advisory_lock($1)", _lock_key(name))
            ready = await connection.fetchval(
                "SELECT NOT datallowconn FROM pg_database WHERE datname = $1", name
            )
            if not ready:
                # Absent, or left half-built by a worker that failed: build it afresh.
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                url = with_database(self.server_url, name)
                if source is None:
                    await connection.execute(f'CREATE DATABASE "{name}"')
                    await _migrate_and_seed(url, participants)
                else:
                    await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
                    clients = await create_test_clients(url)
                    await connection.execute(
                        f'COMMENT ON DATABASE "{name}" IS {_literal(clients.to_json())}'
                    )
                # Closed to connections: a clone needs a template nobody is connected to, and
                # this marks the template complete for the other workers.
                await connection.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        finally:
            await connection.close()
        self._templates.add(name)
        return name

    async def drop_all(self) -> None:
        connection = await asyncpg.connect(self.server_url)
        try:
            for name in self.names:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


async def _migrate_and_seed(url: str, participants: int) -> None:
    from gateway.seed import seed_database

    # Alembic runs its own event loop: keep it off this one.
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_database(url, participants=participants)


def _literal(text: str) -> str:
    """A SQL string literal (COMMENT takes no parameters); the text is our own JSON."""
    return "'" + text.replace("'", "''") + "'"


async def drop_templates(server_url: str, run_id: str) -> None:
    """Drops the run's templates (its controller calls this once every worker is done)."""
    connection = await asyncpg.connect(server_url)
    try:
        names = await connection.fetch(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
            template_name(run_id, 0).removesuffix("0"),
        )
        for row in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def out_of_reach(server_url: str, url: str) -> AsyncIterator[None]:
    """The database at ``url`` closed to new connections and its sessions cut, as an
    operator's maintenance does (``ALTER DATABASE ... ALLOW_CONNECTIONS false``), for the
    block; open again after it."""
    name = make_url(url).database  # also from the embedded server's Unix-socket URL
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
