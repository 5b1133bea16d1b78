"""Row-level security, the second line behind the tenancy WHERE clauses (migrations 0017, 0018).

The gateway serves as ``prakerja_app``; here each first line is deliberately dropped (the
tenancy function a list field uses answers ``true()``) and the caller, through the public
GraphQL interface, still sees only its own rows. The same broken resolver served by a role
that bypasses row security (the owner) leaks: the control that shows the break is real.
Raw SQL as ``prakerja_app`` cannot change the schema, nor read a partner's rows without
saying who it acts for; migrations run as the owner.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy import ColumnElement, func, select, text, true

from core.db import migrate
from core.db.actor import APP_ROLE
from core.db.database import Database
from core.db.urls import as_role
from core.enums import PartnerType
from core.models import Base, Partner
from core.settings import Settings
from gateway.app import create_app
from gateway.cli import main
from schema.common import from_global_id
from tests.support.credentials import SharedCredentials
from tests.support.databases import DatabaseFactory
from tests.support.gateway import TEST_MASTER_KEY, Tokens, graphql

ENROLLMENTS = "{ enrollments(first: 100) { edges { node { id } } } }"
REGISTRANTS = "{ registrants(first: 100) { edges { node { id regencyCode } } } }"
CERTIFICATES = (
    "{ certificates(first: 100) { edges { node { number providerCode platformCode } } } }"
)


def _pk(global_id: str) -> int:
    return from_global_id(global_id)[1]


def _everything(_principal: object) -> ColumnElement[bool]:
    return true()


async def _partner(database: Database, code: str) -> Partner:
    async with database.sessionmaker() as session:
        partner = await session.scalar(select(Partner).where(Partner.code == code))
    assert partner is not None
    return partner


@pytest.fixture
async def owner_client(
    database: Database, shared_credentials: SharedCredentials
) -> AsyncIterator[tuple[httpx.AsyncClient, Tokens]]:
    """The app on the owner's sessions (row security bypassed): the control."""
    app = create_app(
        Settings(
            database_url=database.url,
            master_key=TEST_MASTER_KEY,
            rate_limit_points=10_000_000,
            rate_limit_points_per_second=1_000_000,
        ),
        database=database,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http, Tokens(http, database, shared_credentials)


async def test_a_dropped_purchase_clause_still_shows_a_platform_only_its_sales(
    client: httpx.AsyncClient,
    tokens: Tokens,
    database: Database,
    owner_client: tuple[httpx.AsyncClient, Tokens],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    me = await _partner(database, "DP-001")
    kept = await tokens.graphql("DP-001", ENROLLMENTS)
    monkeypatch.setattr("resolvers.enrollment.queries.purchases_visible_to", _everything)

    body = await tokens.graphql("DP-001", ENROLLMENTS)
    assert "errors" not in body, body
    ids = [_pk(edge["node"]["id"]) for edge in body["data"]["enrollments"]["edges"]]  # type: ignore[index]
    assert ids, "the seed has sales of DP-001"
    assert await _purchase_platforms(database, ids) == {me.id}
    assert body == kept

    # The control: the same broken resolver on a role that bypasses row security leaks.
    owner_http, owner_tokens = owner_client
    leaked = await graphql(
        owner_http, ENROLLMENTS, token=await owner_tokens.issue("DP-001", ["enrollment:read"])
    )
    leaked_ids = [_pk(edge["node"]["id"]) for edge in leaked["data"]["enrollments"]["edges"]]  # type: ignore[index]
    assert len(await _purchase_platforms(database, leaked_ids)) > 1


async def _purchase_platforms(database: Database, ids: list[int]) -> set[int]:
    async with database.sessionmaker() as session:
        purchases = Base.metadata.tables["purchases"]
        rows = await session.execute(
            select(purchases.c.platform_id).where(purchases.c.id.in_(ids)).distinct()
        )
    return {row[0] for row in rows}


async def test_a_dropped_registrant_clause_still_shows_an_office_only_its_regency(
    tokens: Tokens,
    database: Database,
    owner_client: tuple[httpx.AsyncClient, Tokens],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    office = await tokens.partner_code(PartnerType.REGIONAL_OFFICE)
    regency = office.removeprefix("DISNAKER-")
    monkeypatch.setattr("resolvers.registration.queries.participants_visible_to", _everything)

    body = await tokens.graphql(office, REGISTRANTS)
    assert "errors" not in body, body
    regencies = {edge["node"]["regencyCode"] for edge in body["data"]["registrants"]["edges"]}  # type: ignore[index]
    assert regencies == {regency}

    owner_http, owner_tokens = owner_client
    leaked = await graphql(
        owner_http, REGISTRANTS, token=await owner_tokens.issue(office, ["registration:read"])
    )
    leaked_regencies = {
        edge["node"]["regencyCode"]
        for edge in leaked["data"]["registrants"]["edges"]  # type: ignore[index]
    }
    assert len(leaked_regencies) > 1


def _certificate_nodes(body: dict[str, object]) -> list[dict[str, str]]:
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["certificates"]["edges"]]  # type: ignore[index]


@pytest.mark.parametrize("side", ["platformCode", "providerCode"])
async def test_a_dropped_certificate_clause_still_shows_a_partner_only_its_certificates(
    tokens: Tokens,
    owner_client: tuple[httpx.AsyncClient, Tokens],
    monkeypatch: pytest.MonkeyPatch,
    side: str,
) -> None:
    """The platform that sold and the provider that trained: each sees only its own."""
    monkeypatch.setattr("resolvers.certificates.queries.certificates_visible_to", _everything)

    # The control first: on the owner the broken resolver leaks every partner's
    # certificates, and names a partner that has some.
    owner_http, owner_tokens = owner_client
    some_partner = await owner_tokens.partner_code(
        PartnerType.PLATFORM if side == "platformCode" else PartnerType.TRAINING_PROVIDER
    )
    leaked = _certificate_nodes(
        await graphql(
            owner_http,
            CERTIFICATES,
            token=await owner_tokens.issue(some_partner, ["certificate:read"]),
        )
    )
    partners = {node[side] for node in leaked}
    assert len(partners) > 1, "the seed has certificates of several partners"
    me = min(partners)

    seen = _certificate_nodes(await tokens.graphql(me, CERTIFICATES))
    assert seen, f"the seed has certificates of {me}"
    assert {node[side] for node in seen} == {me}


async def test_the_app_role_sees_no_certificate_without_saying_for_whom(
    app_connection: asyncpg.Connection, database: Database
) -> None:
    async with database.sessionmaker() as session:
        certificates = Base.metadata.tables["certificates"]
        everyone = await session.scalar(select(func.count()).select_from(certificates))
    assert everyone, "the seed has certificates"
    for table in ("certificates", "completions"):
        assert await app_connection.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    await _acting_as(app_connection, "ROOT", "")
    assert await app_connection.fetchval("SELECT count(*) FROM certificates") == 0

    # The public reads any certificate by its number, with the sale it shows.
    await _acting_as(app_connection, "PUBLIC", "")
    assert await app_connection.fetchval("SELECT count(*) FROM certificates") == everyone
    assert (
        await app_connection.fetchval(
            "SELECT count(*) FROM certificates cert"
            " JOIN completions d ON d.id = cert.completion_id"
            " JOIN purchases p ON p.id = d.purchase_id"
        )
        == everyone
    )

    me = await _partner(database, "DP-001")
    await _acting_as(app_connection, "PLATFORM", me.id)
    sellers = await app_connection.fetch(
        "SELECT DISTINCT p.platform_id FROM certificates cert"
        " JOIN completions d ON d.id = cert.completion_id"
        " JOIN purchases p ON p.id = d.purchase_id"
    )
    assert [row["platform_id"] for row in sellers] == [me.id]
    # Without the joins the policy alone keeps the platform to its own.
    assert (
        await app_connection.fetchval("SELECT count(*) FROM certificates")
        == len(
            await app_connection.fetch(
                "SELECT 1 FROM certificates cert JOIN completions d ON d.id = cert.completion_id"
                " JOIN purchases p ON p.id = d.purchase_id WHERE p.platform_id = $1",
                me.id,
            )
        )
        < everyone
    )


async def test_issuing_reads_facts_across_providers_never_their_certificates(
    app_connection: asyncpg.Connection, database: Database
) -> None:
    """Status-list slots are shared by every provider, and installments come with a person's
    first certificate from any provider: a provider gets those facts, not the rows."""
    async with database.sessionmaker() as session:
        (other_certificate,) = (
            await session.execute(
                text(
                    "SELECT cert.participant_id, cert.status_list, cert.status_index,"
                    " c.provider_id FROM certificates cert JOIN courses c ON c.id = cert.course_id"
                    " ORDER BY cert.status_list DESC, cert.id LIMIT 1"
                )
            )
        ).all()
        fill = (
            await session.execute(
                text(
                    "SELECT status_list, count(*) FROM certificates WHERE status_list ="
                    " (SELECT max(status_list) FROM certificates) GROUP BY status_list"
                )
            )
        ).one()
        provider = await session.scalar(
            text(
                "SELECT id FROM partners WHERE type = 'TRAINING_PROVIDER' AND id <> :p"
                " ORDER BY id LIMIT 1"
            ),
            {"p": other_certificate.provider_id},
        )
    await _acting_as(app_connection, "TRAINING_PROVIDER", provider)
    assert (
        await app_connection.fetchval(
            "SELECT count(*) FROM certificates WHERE participant_id = $1",
            other_certificate.participant_id,
        )
        == 0
    )
    assert tuple(await app_connection.fetchrow("SELECT * FROM prakerja_status_list_fill()")) == (
        tuple(fill)
    )
    taken = await app_connection.fetch(
        "SELECT prakerja_status_slots_taken($1, $2) AS i",
        other_certificate.status_list,
        [other_certificate.status_index],
    )
    assert [row["i"] for row in taken] == [other_certificate.status_index]
    assert await app_connection.fetchval(
        "SELECT prakerja_certified_otherwise($1, $2)", other_certificate.participant_id, []
    )


@pytest.fixture
async def app_connection(seeded_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection logged in as the gateway's role, in a transaction rolled back."""
    connection = await asyncpg.connect(as_role(seeded_url, APP_ROLE))
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


async def _acting_as(connection: asyncpg.Connection, kind: str, partner_id: int | str) -> None:
    await connection.execute(
        "SELECT set_config('prakerja.actor', $1, true),"
        " set_config('prakerja.partner_id', $2, true)",
        kind,
        str(partner_id),
    )


async def test_the_app_role_sees_no_partner_row_without_saying_for_whom(
    app_connection: asyncpg.Connection, database: Database
) -> None:
    async with database.sessionmaker() as session:
        everyone = await session.scalar(select(Base.metadata.tables["purchases"].c.id).limit(1))
    assert everyone is not None, "the seed has purchases"
    for table in ("purchases", "attendances", "participants", "payment_accounts"):
        assert await app_connection.fetchval(f"SELECT count(*) FROM {table}") == 0, table

    me = await _partner(database, "DP-001")
    other = await _partner(database, "DP-002")
    await _acting_as(app_connection, "PLATFORM", me.id)
    platforms = await app_connection.fetch("SELECT DISTINCT platform_id FROM purchases")
    assert [row["platform_id"] for row in platforms] == [me.id]
    # A name the policy does not know is nobody.
    await _acting_as(app_connection, "ROOT", me.id)
    assert await app_connection.fetchval("SELECT count(*) FROM purchases") == 0

    # Writing a row for another platform is refused by the same policy (WITH CHECK).
    await _acting_as(app_connection, "PLATFORM", me.id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await app_connection.execute(
            "INSERT INTO purchases (platform_id, participant_id, course_id, schedule_id,"
            " platform_user_id, invoice_code, amount, status, otp_attempts, created_at)"
            " SELECT $1, participant_id, course_id, schedule_id, 'x', 'INV-RLS', amount,"
            " status, 0, now() FROM purchases LIMIT 1",
            other.id,
        )


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE purchases ADD COLUMN stolen text",
        "DROP TABLE purchases",
        "TRUNCATE purchases",
        "ALTER TABLE purchases DISABLE ROW LEVEL SECURITY",
        "DROP POLICY tenancy ON purchases",
        "CREATE TABLE prakerja_stash (x text)",
        "UPDATE audit_log SET action = 'nothing'",
        "DELETE FROM audit_log",
        "UPDATE alembic_version SET version_num = '0001'",
        # The search vocabulary is written by the courses' and partners' triggers only.
        "INSERT INTO search_vocabulary (word) VALUES ('planted')",
        "DELETE FROM search_vocabulary",
        "SET ROLE postgres",
        "ALTER ROLE prakerja_app BYPASSRLS",
    ],
)
async def test_the_app_role_cannot_change_the_schema_or_the_record(
    app_connection: asyncpg.Connection, statement: str
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_connection.execute(statement)


async def test_the_app_role_owns_nothing_and_may_use_every_table(
    app_connection: asyncpg.Connection,
) -> None:
    role = await app_connection.fetchrow(
        "SELECT rolsuper, rolbypassrls, rolcreatedb, rolcreaterole FROM pg_roles"
        " WHERE rolname = current_user"
    )
    assert role is not None and not any(role.values())
    owned = await app_connection.fetchval(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
    )
    assert owned == 0
    # A new table without its grant would fail in production only: every table of the
    # model is readable by the app (and every sequence usable).
    for table in Base.metadata.tables:
        assert await app_connection.fetchval("SELECT has_table_privilege($1, 'SELECT')", table), (
            table
        )
    sequences = await app_connection.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'S'"
    )
    for row in sequences:
        assert await app_connection.fetchval(
            "SELECT has_sequence_privilege($1, 'USAGE')", row["relname"]
        ), row["relname"]


async def test_migrations_run_as_the_owner_and_the_app_role_serves(
    databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await databases.create("owner_migrates")
    app = as_role(owner, APP_ROLE)
    monkeypatch.setenv("PRAKERJA_DATABASE_URL", app)
    monkeypatch.setenv("PRAKERJA_MIGRATION_DATABASE_URL", owner)
    assert await asyncio.to_thread(main, ["migrate"]) == 0
    connection = await asyncpg.connect(owner)
    try:
        owners = await connection.fetch(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        )
        assert [row["tableowner"] for row in owners] == [await connection.fetchval("SELECT user")]
    finally:
        await connection.close()
    # As the app role alone, the migration cannot even begin to change the schema.
    with pytest.raises(Exception, match=r"permission denied|must be owner"):
        await asyncio.to_thread(migrate.downgrade, app, "0011")
    # Prune runs as the app role (it needs DML only).
    monkeypatch.delenv("PRAKERJA_MIGRATION_DATABASE_URL")
    assert await asyncio.to_thread(main, ["prune"]) == 0
