"""The keys that sign certificates: made on first use, encrypted at rest, published forever.

They are not the access-token keys (``auth/keys.py``): those rotate every few hours and are
deleted once their tokens expire, while a certificate must verify for years. A credential
key is ES256 (P-256), with its RFC 7638 thumbprint as kid; rotating retires the active key
(it signs nothing more) and every key ever used stays in the JWKS.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from joserfc.jwk import ECKey
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import record_audit
from core.enums import CredentialKeyStatus
from core.models import CredentialKey
from core.sealed import open_jwk, seal_jwk

ALGORITHM = "ES256"
JWT_TYPE = "vc+jwt"
_CURVE = "P-256"
_PURPOSE = b"prakerja-gateway/credential-keys/v1"
# One constant lock id: two requests never both make the first key, nor rotate at once.
_KEYS_LOCK_ID = 7_368_205_009


@dataclass
class CredentialKeys:
    """Decrypted private keys and imported public keys by kid, for one process."""

    # Resolved on first use: a process that never signs never needs (or makes) one.
    resolve_master_key: Callable[[], bytes]
    _private: dict[str, ECKey] = field(default_factory=dict)
    _public: dict[str, ECKey] = field(default_factory=dict)

    @cached_property
    def master_key(self) -> bytes:
        return self.resolve_master_key()

    def private(self, kid: str, blob: bytes) -> ECKey:
        key = self._private.get(kid)
        if key is None:
            jwk = open_jwk(self.master_key, _PURPOSE, kid, blob)
            key = self._private[kid] = ECKey.import_key(jwk, {"kid": kid, "alg": ALGORITHM})
        return key

    def public(self, kid: str, jwk: dict[str, Any]) -> ECKey:
        key = self._public.get(kid)
        if key is None:
            key = self._public[kid] = ECKey.import_key(jwk)
        return key


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: ECKey

    @cached_property
    def private(self) -> EllipticCurvePrivateKey:
        private = self.key.private_key
        if private is None:
            raise ValueError(f"credential key {self.kid} has no private half")
        return private

    @cached_property
    def header_segment(self) -> bytes:
        """The base64url JWS protected header every credential this key signs carries."""
        header = {"alg": ALGORITHM, "typ": JWT_TYPE, "cty": "vc", "kid": self.kid}
        encoded = json.dumps(header, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(encoded).rstrip(b"=")


def _new_key(master_key: bytes) -> CredentialKey:
    key = ECKey.generate_key(_CURVE, private=True)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": ALGORITHM, "use": "sig"}
    return CredentialKey(
        kid=kid,
        algorithm=ALGORITHM,
        public_jwk=public,
        private_jwk_encrypted=seal_jwk(master_key, _PURPOSE, kid, key.as_dict(private=True)),
        status=CredentialKeyStatus.ACTIVE,
    )


_ACTIVE = select(CredentialKey.kid, CredentialKey.private_jwk_encrypted).where(
    CredentialKey.status == CredentialKeyStatus.ACTIVE
)


async def signing_key(session: AsyncSession, keys: CredentialKeys) -> SigningKey:
    """The active key (made if there is none yet): read once per request that signs."""
    row = (await session.execute(_ACTIVE)).first()
    if row is None:
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _KEYS_LOCK_ID})
        row = (await session.execute(_ACTIVE)).first()
        if row is None:
            made = _new_key(keys.master_key)
            session.add(made)
            await session.flush()
            row = (await session.execute(_ACTIVE)).one()
    return SigningKey(kid=row.kid, key=keys.private(row.kid, row.private_jwk_encrypted))


@dataclass(frozen=True, slots=True)
class KeyRotation:
    retired: str | None  # None when there was no key yet
    activated: str


async def rotate(
    session: AsyncSession, master_key: bytes, *, operator: str, request_id: str | None = None
) -> KeyRotation:
    """Retires the active key and makes a new one that signs from the commit on; audited.

    The retired key signs nothing more, but its public half stays in the JWKS, so every
    certificate it signed still verifies (and its kid says which key to use)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _KEYS_LOCK_ID})
    retired = await session.scalar(
        update(CredentialKey)
        .where(CredentialKey.status == CredentialKeyStatus.ACTIVE)
        .values(status=CredentialKeyStatus.RETIRED, retired_at=datetime.now(UTC))
        .returning(CredentialKey.kid)
    )
    made = _new_key(master_key)
    session.add(made)
    await session.flush()
    await record_audit(
        session,
        action="certificate.key_rotated",
        request_id=request_id,
        entity_type="credential_key",
        entity_id=made.kid,
        before={"active": retired},
        after={"active": made.kid, "retired": retired},
        detail={"operator": operator},
    )
    return KeyRotation(retired=retired, activated=made.kid)


async def published_jwks(session: AsyncSession) -> dict[str, Any]:
    """Every credential key ever used (public halves), oldest first."""
    rows = await session.scalars(select(CredentialKey.public_jwk).order_by(CredentialKey.id))
    return {"keys": list(rows.all())}


async def public_key(session: AsyncSession, keys: CredentialKeys, kid: str) -> ECKey | None:
    jwk = await session.scalar(select(CredentialKey.public_jwk).where(CredentialKey.kid == kid))
    return None if jwk is None else keys.public(kid, jwk)
