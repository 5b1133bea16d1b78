"""OAuth clients as authlib sees them, loaded from the database before authlib runs.

authlib is synchronous and may not touch the database from inside a request: the token,
introspection and revocation routes load the calling client (with its partner) first, and
hand authlib this record. An unknown client id gets a stand-in that fails every check
after doing the same work as a real one, so neither the answer nor its timing tells a
caller whether a client exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.secrets import SecretHasher, Verdict
from core.enums import ClientStatus, PartnerStatus, PartnerType
from core.models import OAuthClient, Partner

GRANT_TYPE = "client_credentials"
SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
KEY_METHOD = "private_key_jwt"


@dataclass(frozen=True)
class ClientRecord:
    """One client row and the partner it belongs to, as read at the start of a request."""

    client_id: str
    name: str
    status: ClientStatus
    secret_hash: str | None
    jwks: dict[str, Any] | None
    scopes: frozenset[str]
    partner_id: int
    partner_code: str
    partner_type: PartnerType
    partner_status: PartnerStatus
    regency_id: int | None

    @property
    def usable(self) -> bool:
        return self.status is ClientStatus.ACTIVE and self.partner_status is PartnerStatus.ACTIVE


async def load_client(session: AsyncSession, client_id: str) -> ClientRecord | None:
    if not client_id or len(client_id) > 64:
        return None
    row = (
        await session.execute(
            select(OAuthClient, Partner)
            .join(Partner, Partner.id == OAuthClient.partner_id)
            .where(OAuthClient.client_id == client_id)
        )
    ).one_or_none()
    if row is None:
        return None
    client, partner = row
    return ClientRecord(
        client_id=client.client_id,
        name=client.name,
        status=client.status,
        secret_hash=client.secret_hash,
        jwks=client.jwks,
        scopes=frozenset(client.scopes),
        partner_id=partner.id,
        partner_code=partner.code,
        partner_type=partner.type,
        partner_status=partner.status,
        regency_id=partner.regency_id,
    )


class GatewayClient(ClientMixin):  # type: ignore[misc]
    """authlib's view of a client; ``record`` is None for a client id nobody registered."""

    def __init__(self, client_id: str, record: ClientRecord | None, hasher: SecretHasher) -> None:
        self.client_id = client_id
        self.record = record
        self._hasher = hasher
        # The secret's keyed hash, when it was right but stored in the legacy (scrypt) form:
        # the route writes it in the request's transaction (auth/secrets.py).
        self.rehashed: str | None = None

    @property
    def usable(self) -> bool:
        return self.record is not None and self.record.usable

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # client credentials only: no redirects

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE

    def granted_scopes(self) -> frozenset[str]:
        return self.record.scopes if self.record is not None else frozenset()

    def get_allowed_scope(self, scope: str | None) -> str:
        # Requested scopes were checked against the grant before (invalid_scope otherwise);
        # no scope asked for means every scope the client holds.
        granted = self.granted_scopes()
        wanted = granted if not scope else frozenset(scope.split()) & granted
        return " ".join(sorted(wanted))

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.record.secret_hash if self.record is not None else None
        # The hash is checked first and always, disabled or not, so timing says nothing.
        verdict = self._hasher.verify(client_secret, stored)
        if verdict is Verdict.REHASH:
            self.rehashed = self._hasher.hash(client_secret)
        return verdict.matches and self.usable

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if not self.usable or self.record is None:
            return False
        if method in SECRET_METHODS:
            return self.record.secret_hash is not None
        if method == KEY_METHOD:
            return bool(self.record.jwks)
        return False

    def public_jwks(self) -> dict[str, Any]:
        if self.record is None or not self.record.jwks:
            return {"keys": []}
        return self.record.jwks
