"""Identity subcommands of ``prakerja-gateway``: partners, clients, signing keys, demo clients.

Each command runs one administrative operation from ``auth.admin`` in one transaction,
which writes its audit record (the operator is the OS user). A secret is printed once and
exists nowhere else afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import shlex
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import admin
from auth.audit import Origin
from auth.keys import Rotation, ensure_signing_keys
from auth.scopes import Scope, allowed_scopes
from core.db import migrate
from core.db.database import Database
from core.enums import ClientStatus, PartnerStatus, PartnerType
from core.models import OAuthClient, Partner
from core.settings import Settings
from gateway.walkthrough import token_variable

T = TypeVar("T")
DEMO_CLIENT_NAME = "demo client"
WALKTHROUGH_CLIENT_NAME = "demo walkthrough client"
DEMO_PARTNERS = ("DP-001", "LP-0001", "PP-001", "DISNAKER-*", "PMO")


def operator_origin() -> Origin:
    return Origin(request_id=f"cli-{uuid.uuid4().hex[:12]}", operator=_operator())


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in containers without a passwd entry
        return "unknown"


async def _in_transaction(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    database = Database.connect(url, pool_size=1)
    try:
        async with database.sessionmaker() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await database.dispose()


def run_admin(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    migrate.upgrade(url)
    return asyncio.run(_in_transaction(url, work))


def _fail(exc: admin.AdminError) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


def cmd_partner_create(settings: Settings, url: str, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> Partner:
        return await admin.create_partner(
            session,
            operator_origin(),
            code=args.code,
            name=args.name,
            partner_type=PartnerType(args.type),
            regency_code=args.regency,
        )

    try:
        partner = run_admin(url, work)
    except admin.AdminError as exc:
        return _fail(exc)
    print(f"partner {partner.code} ({partner.type.value}) created")
    return 0


def cmd_partner_status(settings: Settings, url: str, args: argparse.Namespace) -> int:
    status = PartnerStatus.SUSPENDED if args.partner_command == "suspend" else PartnerStatus.ACTIVE

    async def work(session: AsyncSession) -> None:
        await admin.set_partner_status(session, operator_origin(), args.code, status)

    try:
        run_admin(url, work)
    except admin.AdminError as exc:
        return _fail(exc)
    print(f"partner {args.code} is {status.value}")
    return 0


def _read_jwks(path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


def cmd_client_create(settings: Settings, url: str, args: argparse.Namespace) -> int:
    jwks = _read_jwks(args.jwks_file) if args.jwks_file else None

    async def work(session: AsyncSession) -> admin.IssuedCredentials:
        return await admin.create_client(
            session,
            operator_origin(),
            partner_code=args.partner,
            scopes=args.scope,
            master_key=settings.resolved_master_key(),
            name=args.name,
            jwks=jwks,
            with_secret=not args.no_secret,
        )

    try:
        credentials = run_admin(url, work)
    except admin.AdminError as exc:
        return _fail(exc)
    print(f"client_id:     {credentials.client_id}")
    if credentials.client_secret is not None:
        print(f"client_secret: {credentials.client_secret}")
        print("(the secret is shown this once; only its hash is stored)")
    print(f"scopes:        {' '.join(credentials.scopes)}")
    return 0


def cmd_client_add_key(settings: Settings, url: str, args: argparse.Namespace) -> int:
    jwks = _read_jwks(args.jwks_file)

    async def work(session: AsyncSession) -> None:
        await admin.register_client_key(session, operator_origin(), args.client_id, jwks)

    try:
        run_admin(url, work)
    except admin.AdminError as exc:
        return _fail(exc)
    print(f"client {args.client_id} may now authenticate with private_key_jwt")
    return 0


def cmd_client_rotate_secret(settings: Settings, url: str, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> str:
        return await admin.rotate_client_secret(
            session, operator_origin(), args.client_id, master_key=settings.resolved_master_key()
        )

    try:
        secret = run_admin(url, work)
    except admin.AdminError as exc:
        return _fail(exc)
    print(f"client_secret: {secret}\n(the old secret no longer works; shown this once)")
    return 0


def cmd_client_disable(settings: Settings, url: str, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> None:
        await admin.disable_client(session, operator_origin(), args.client_id)

    try:
        run_admin(url, work)
    except admin.AdminError as exc:
        return _fail(exc)
    print(f"client {args.client_id} disabled; its live tokens are refused from now on")
    return 0


def cmd_keys_rotate(settings: Settings, url: str, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> Rotation:
        return await admin.rotate_keys(session, operator_origin(), settings)

    rotation = run_admin(url, work)
    if rotation.activated is None:
        print(f"published next key {rotation.next}; rotate again to make it sign")
    else:
        print(f"now signing with {rotation.activated}; retired {rotation.retired}")
        print(f"published next key {rotation.next}")
    if rotation.deleted:
        print(f"deleted expired keys: {', '.join(rotation.deleted)}")
    return 0


def add_identity_commands(commands: Any, with_url: Callable[[Any], Any]) -> None:
    """Registers ``partner``, ``client`` and ``keys``; ``with_url`` wraps each handler."""
    partner = commands.add_parser("partner", help="manage programme partners")
    partner_commands = partner.add_subparsers(dest="partner_command", required=True)
    create = partner_commands.add_parser("create", help="add a partner")
    create.add_argument("--code", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--type", required=True, choices=[t.value for t in PartnerType])
    create.add_argument("--regency", help="regency code (regional offices only)")
    create.set_defaults(handler=with_url(cmd_partner_create))
    for verb, text in (("suspend", "refuse the partner's tokens"), ("activate", "allow again")):
        status = partner_commands.add_parser(verb, help=text)
        status.add_argument("code")
        status.set_defaults(handler=with_url(cmd_partner_status))

    client = commands.add_parser("client", help="manage partners' OAuth clients")
    client_commands = client.add_subparsers(dest="client_command", required=True)
    make = client_commands.add_parser("create", help="a client for a partner; prints its secret")
    make.add_argument("--partner", required=True, help="partner code, e.g. DP-001")
    make.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=[s.value for s in Scope],
        help="repeat for each scope",
    )
    make.add_argument("--name")
    make.add_argument("--jwks-file", help="public JWK Set for private_key_jwt")
    make.add_argument("--no-secret", action="store_true", help="key-only client")
    make.set_defaults(handler=with_url(cmd_client_create))
    add_key = client_commands.add_parser("add-key", help="register public keys (JWK Set)")
    add_key.add_argument("--client-id", required=True)
    add_key.add_argument("--jwks-file", required=True)
    add_key.set_defaults(handler=with_url(cmd_client_add_key))
    rotate = client_commands.add_parser("rotate-secret", help="replace a client's secret")
    rotate.add_argument("--client-id", required=True)
    rotate.set_defaults(handler=with_url(cmd_client_rotate_secret))
    disable = client_commands.add_parser("disable", help="disable a client and its tokens")
    disable.add_argument("--client-id", required=True)
    disable.set_defaults(handler=with_url(cmd_client_disable))

    keys = commands.add_parser("keys", help="token-signing keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    keys_rotate = keys_commands.add_parser("rotate", help="promote the next key, publish a new")
    keys_rotate.set_defaults(handler=with_url(cmd_keys_rotate))


@dataclass(frozen=True)
class DemoClient:
    partner_code: str
    partner_type: PartnerType
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


async def _demo_clients(
    session: AsyncSession,
    settings: Settings,
    *,
    name: str = DEMO_CLIENT_NAME,
    partners: tuple[str, ...] = DEMO_PARTNERS,
) -> list[DemoClient]:
    """One client per partner type, with every scope of its type and a fresh secret."""
    master_key = settings.resolved_master_key()
    await ensure_signing_keys(session, master_key)
    origin = operator_origin()
    made = []
    for wanted in partners:
        query = select(Partner).order_by(Partner.code).limit(1)
        if wanted.endswith("*"):
            query = query.where(Partner.code.like(wanted[:-1] + "%"))
        else:
            query = query.where(Partner.code == wanted)
        partner = await session.scalar(query)
        if partner is None:
            continue
        scopes = sorted(scope.value for scope in allowed_scopes(partner.type))
        existing = await session.scalar(
            select(OAuthClient).where(
                OAuthClient.partner_id == partner.id,
                OAuthClient.name == name,
                OAuthClient.status == ClientStatus.ACTIVE,
            )
        )
        if existing is None:
            credentials = await admin.create_client(
                session,
                origin,
                partner_code=partner.code,
                scopes=scopes,
                master_key=master_key,
                name=name,
            )
            client_id, secret = credentials.client_id, credentials.client_secret
            assert secret is not None
        else:
            # Secrets cannot be shown twice: every demo start gives the demo client a new one.
            existing.scopes = scopes
            client_id = existing.client_id
            secret = await admin.rotate_client_secret(
                session, origin, client_id, master_key=master_key
            )
        made.append(DemoClient(partner.code, partner.type, client_id, secret, tuple(scopes)))
    return made


_CATALOG_QUERY = "{ viewer { code scopes } courses(first: 3) { edges { node { code title } } } }"
DEMO_QUERIES: dict[PartnerType, str] = {
    PartnerType.PLATFORM: _CATALOG_QUERY,
    PartnerType.TRAINING_PROVIDER: _CATALOG_QUERY,
    PartnerType.PROGRAM_MANAGEMENT: (
        "{ viewer { code } programStatistics { recipients completions incentivesPaid } }"
    ),
}


def walkthrough_clients(
    settings: Settings, url: str, partners: tuple[str, ...]
) -> list[DemoClient]:
    """Clients of their own for ``demo --walkthrough``: the demo's printed secrets stay valid."""
    return asyncio.run(
        _in_transaction(
            url,
            lambda session: _demo_clients(
                session, settings, name=WALKTHROUGH_CLIENT_NAME, partners=partners
            ),
        )
    )


def print_demo_clients(settings: Settings, url: str, base: str) -> None:
    clients = asyncio.run(_in_transaction(url, lambda session: _demo_clients(session, settings)))
    print("\nDemo credentials (new secrets on every start; shown only here):")
    for demo in clients:
        query = DEMO_QUERIES.get(demo.partner_type, "{ viewer { code type clientId scopes } }")
        body = shlex.quote(json.dumps({"query": query}))
        basic = shlex.quote(f"{demo.client_id}:{demo.client_secret}")
        print(f"\n  {demo.partner_type.value} {demo.partner_code}")
        print(f"    client_id:     {demo.client_id}")
        print(f"    client_secret: {demo.client_secret}")
        print(f"    scopes:        {' '.join(demo.scopes)}")
        print(
            f"    {token_variable(demo.partner_type)}=$(curl -s -u {basic}"
            " -d grant_type=client_credentials "
            f"{base}/oauth/token | python3 -c 'import json,sys; "
            'print(json.load(sys.stdin)["access_token"])\')'
        )
        print(
            f"    curl -s {base}/graphql"
            f' -H "Authorization: Bearer ${token_variable(demo.partner_type)}" '
            f"-H 'Content-Type: application/json' -d {body}"
        )
    print()
