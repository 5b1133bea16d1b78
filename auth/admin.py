"""Administrative operations on partner identity, each leaving an audit record.

The CLI calls these; so do the test fixtures. A secret is returned once, to be shown once,
and is never stored or logged: only its keyed hash is kept (auth/secrets.py), made under the
master key the gateway serves with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import AuditAction, Origin, audit
from auth.keys import Rotation, rotate_signing_keys
from auth.scopes import Scope, allowed_scopes
from auth.secrets import SecretHasher, generate_client_id, generate_secret
from auth.server import ASSERTION_ALGORITHMS
from auth.tokens import key_retention
from core.enums import ClientStatus, PartnerStatus, PartnerType
from core.models import OAuthClient, Partner, Regency
from core.settings import Settings


class AdminError(Exception):
    """An administrative request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class IssuedCredentials:
    client_id: str
    client_secret: str | None  # None for a key-only (private_key_jwt) client
    partner_code: str
    scopes: tuple[str, ...]


async def partner_by_code(session: AsyncSession, code: str) -> Partner:
    partner = await session.scalar(select(Partner).where(Partner.code == code))
    if partner is None:
        raise AdminError(f"no partner with code {code!r}")
    return partner


async def client_by_id(session: AsyncSession, client_id: str) -> OAuthClient:
    client = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None:
        raise AdminError(f"no client {client_id!r}")
    return client


async def create_partner(
    session: AsyncSession,
    origin: Origin,
    *,
    code: str,
    name: str,
    partner_type: PartnerType,
    regency_code: str | None = None,
) -> Partner:
    regency_id: int | None = None
    if partner_type is PartnerType.REGIONAL_OFFICE:
        if regency_code is None:
            raise AdminError("a regional office needs --regency")
        regency_id = await session.scalar(select(Regency.id).where(Regency.code == regency_code))
        if regency_id is None:
            raise AdminError(f"no regency with code {regency_code!r}")
    elif regency_code is not None:
        raise AdminError("only a regional office has a regency")
    if await session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        raise AdminError(f"a partner with code {code!r} exists")
    partner = Partner(
        code=code, name=name, type=partner_type, status=PartnerStatus.ACTIVE, regency_id=regency_id
    )
    session.add(partner)
    await session.flush()
    await audit(
        session,
        AuditAction.PARTNER_CREATED,
        origin,
        entity=("partner", code),
        after={"code": code, "name": name, "type": partner_type.value, "regency": regency_code},
    )
    return partner


async def set_partner_status(
    session: AsyncSession, origin: Origin, code: str, status: PartnerStatus
) -> None:
    """Suspending a partner refuses its live tokens at once (checked on every request)."""
    partner = await partner_by_code(session, code)
    before = partner.status
    partner.status = status
    await session.flush()
    await audit(
        session,
        AuditAction.PARTNER_STATUS_CHANGED,
        origin,
        entity=("partner", code),
        before={"status": before.value},
        after={"status": status.value},
    )


def check_scopes(partner_type: PartnerType, scopes: list[str]) -> tuple[str, ...]:
    """The scopes, if every one exists and the partner type may hold it (the one table)."""
    known = {scope.value for scope in Scope}
    unknown = sorted(set(scopes) - known)
    if unknown:
        raise AdminError(f"unknown scope(s): {', '.join(unknown)}")
    allowed = {scope.value for scope in allowed_scopes(partner_type)}
    refused = sorted(set(scopes) - allowed)
    if refused:
        raise AdminError(
            f"a {partner_type.value} may not hold: {', '.join(refused)} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )
    if not scopes:
        raise AdminError("a client needs at least one scope")
    return tuple(sorted(set(scopes)))


async def create_client(
    session: AsyncSession,
    origin: Origin,
    *,
    partner_code: str,
    scopes: list[str],
    master_key: bytes,
    name: str | None = None,
    jwks: dict[str, Any] | None = None,
    with_secret: bool = True,
) -> IssuedCredentials:
    partner = await partner_by_code(session, partner_code)
    granted = check_scopes(partner.type, scopes)
    secret = generate_secret() if with_secret else None
    if secret is None and jwks is None:
        raise AdminError("a client needs a secret or a public key")
    client = OAuthClient(
        client_id=generate_client_id(partner.code),
        partner_id=partner.id,
        name=name or f"{partner.code} client",
        secret_hash=SecretHasher(master_key).hash(secret) if secret is not None else None,
        jwks=check_public_jwks(jwks) if jwks is not None else None,
        scopes=list(granted),
        status=ClientStatus.ACTIVE,
    )
    session.add(client)
    await session.flush()
    await audit(
        session,
        AuditAction.CLIENT_CREATED,
        origin,
        partner_id=partner.id,
        entity=("oauth_client", client.client_id),
        after={"partner": partner.code, "scopes": list(granted), "secret": secret is not None},
    )
    return IssuedCredentials(client.client_id, secret, partner.code, granted)


def check_public_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    """A JWK Set of public signing keys only, each with a kid and an accepted algorithm."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise AdminError('expected a JWK Set: {"keys": [...]}')
    for key in keys:
        if not isinstance(key, dict) or "d" in key or "k" in key:
            raise AdminError("only public asymmetric keys may be registered")
        if not isinstance(key.get("kid"), str):
            raise AdminError("every key needs a kid")
        if key.get("alg") is not None and key["alg"] not in ASSERTION_ALGORITHMS:
            raise AdminError(f"alg must be one of {', '.join(ASSERTION_ALGORITHMS)}")
    try:
        KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise AdminError(f"the JWK Set does not import: {exc}") from None
    return jwks


async def register_client_key(
    session: AsyncSession, origin: Origin, client_id: str, jwks: dict[str, Any]
) -> None:
    client = await client_by_id(session, client_id)
    client.jwks = check_public_jwks(jwks)
    await session.flush()
    await audit(
        session,
        AuditAction.CLIENT_KEY_REGISTERED,
        origin,
        partner_id=client.partner_id,
        entity=("oauth_client", client_id),
        after={"kids": [key["kid"] for key in jwks["keys"]]},
    )


async def rotate_client_secret(
    session: AsyncSession, origin: Origin, client_id: str, *, master_key: bytes
) -> str:
    """A new secret replaces the old one at once; tokens already issued stay valid."""
    client = await client_by_id(session, client_id)
    secret = generate_secret()
    client.secret_hash = SecretHasher(master_key).hash(secret)
    await session.flush()
    await audit(
        session,
        AuditAction.CLIENT_SECRET_ROTATED,
        origin,
        partner_id=client.partner_id,
        entity=("oauth_client", client_id),
    )
    return secret


async def disable_client(session: AsyncSession, origin: Origin, client_id: str) -> None:
    """The client gets no new token, and its live tokens are refused from the next request."""
    client = await client_by_id(session, client_id)
    before = client.status
    client.status = ClientStatus.DISABLED
    client.disabled_at = datetime.now(UTC)
    await session.flush()
    await audit(
        session,
        AuditAction.CLIENT_DISABLED,
        origin,
        partner_id=client.partner_id,
        entity=("oauth_client", client_id),
        before={"status": before.value},
        after={"status": ClientStatus.DISABLED.value},
    )


async def rotate_keys(session: AsyncSession, origin: Origin, settings: Settings) -> Rotation:
    rotation = await rotate_signing_keys(
        session, settings.resolved_master_key(), retain=key_retention(settings)
    )
    await audit(
        session,
        AuditAction.SIGNING_KEYS_ROTATED,
        origin,
        entity=("signing_key", rotation.activated or rotation.next),
        after={
            "activated": rotation.activated,
            "retired": rotation.retired,
            "next": rotation.next,
            "deleted": rotation.deleted,
        },
    )
    return rotation
