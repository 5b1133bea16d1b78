"""The gateway's token-signing keys: made, encrypted at rest, published, rotated.

Keys are ES256 (P-256): every JOSE library verifies them, with none of the naming churn of
Ed25519 ("EdDSA" vs "Ed25519"). The private half is stored as a JWK encrypted with AES-GCM
under a key derived (HKDF-SHA256) from the master key in settings; the kid is the
authenticated data, so a ciphertext cannot be moved to another key's row.

Lifecycle: a key is born ``NEXT`` (published in the JWKS, signing nothing), becomes
``ACTIVE`` at the following rotation (signs every new token), then ``RETIRED`` (still
published, so its tokens verify until they expire) and is deleted once its last token must
have expired. A verifier that caches the JWKS thus always knows a key before it signs.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.jwk import ECKey
from sqlalchemy import delete, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import SigningKeyStatus
from core.models import SigningKey
from core.sealed import open_jwk, seal_jwk

ALGORITHM = "ES256"
CURVE = "P-256"
_HKDF_INFO = b"prakerja-gateway/signing-keys/v1"
# One constant lock id: rotations and first-key creation never run twice at once.
_KEYS_LOCK_ID = 7_368_205_001


@dataclass(frozen=True)
class PrivateSigningKey:
    kid: str
    key: ECKey

    @cached_property
    def _header(self) -> bytes:
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": "at+jwt"}
        return _b64(json.dumps(header, separators=(",", ":")).encode())

    def sign_access_token(self, claims: dict[str, Any]) -> str:
        """An RFC 9068 access token: the JWS compact serialization, ES256 (RFC 7518 3.4).

        Written out here rather than through joserfc's generic encoder, which checked the
        header registry, chose the key and serialized the header anew on every token: a
        third of a token's CPU. The signature is cryptography's ECDSA P-256 over SHA-256,
        turned from DER into the fixed 64 bytes of R and S that JWS requires. Tokens are
        verified with joserfc (auth/tokens.py) and tested against it.
        """
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = self._header + b"." + payload
        private = self.key.private_key
        assert private is not None  # made from a private JWK (PrivateKeyCache.load)
        der = private.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return (signing_input + b"." + signature).decode("ascii")


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def encrypt_private_jwk(master_key: bytes, kid: str, jwk: dict[str, Any]) -> bytes:
    return seal_jwk(master_key, _HKDF_INFO, kid, jwk)


def decrypt_private_jwk(master_key: bytes, kid: str, blob: bytes) -> dict[str, Any]:
    return open_jwk(master_key, _HKDF_INFO, kid, blob)


def new_signing_key(master_key: bytes, status: SigningKeyStatus) -> SigningKey:
    """A fresh key row (not yet added to a session); its kid is the RFC 7638 thumbprint."""
    key = ECKey.generate_key(CURVE, private=True)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": ALGORITHM, "use": "sig"}
    now = datetime.now(UTC)
    return SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        public_jwk=public,
        private_jwk_encrypted=encrypt_private_jwk(master_key, kid, key.as_dict(private=True)),
        status=status,
        activated_at=now if status is SigningKeyStatus.ACTIVE else None,
    )


class PrivateKeyCache:
    """Decrypted private keys by kid, so a token costs no AES-GCM and no key import."""

    def __init__(self, master_key: bytes) -> None:
        self._master_key = master_key
        self._keys: dict[str, PrivateSigningKey] = {}

    def cached(self, kid: str | None) -> PrivateSigningKey | None:
        return self._keys.get(kid) if kid is not None else None

    def load(self, row: SigningKey) -> PrivateSigningKey:
        cached = self._keys.get(row.kid)
        if cached is None:
            jwk = decrypt_private_jwk(self._master_key, row.kid, row.private_jwk_encrypted)
            key = ECKey.import_key(jwk, {"kid": row.kid, "alg": ALGORITHM, "use": "sig"})
            cached = self._keys[row.kid] = PrivateSigningKey(kid=row.kid, key=key)
        return cached


async def _lock(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _KEYS_LOCK_ID})


async def active_key(session: AsyncSession) -> SigningKey | None:
    return await session.scalar(
        select(SigningKey).where(SigningKey.status == SigningKeyStatus.ACTIVE)
    )


async def ensure_signing_keys(session: AsyncSession, master_key: bytes) -> SigningKey:
    """The active key, making the first one (and its successor) if there is none yet."""
    existing = await active_key(session)
    if existing is not None:
        return existing
    await _lock(session)
    existing = await active_key(session)  # another request may have made it meanwhile
    if existing is not None:
        return existing
    first = new_signing_key(master_key, SigningKeyStatus.ACTIVE)
    session.add(first)
    if not await session.scalar(
        select(SigningKey.id).where(SigningKey.status == SigningKeyStatus.NEXT)
    ):
        session.add(new_signing_key(master_key, SigningKeyStatus.NEXT))
    await session.flush()
    return first


@dataclass(frozen=True)
class Rotation:
    activated: str | None
    retired: str | None
    next: str
    deleted: list[str]


async def rotate_signing_keys(
    session: AsyncSession, master_key: bytes, *, retain: timedelta
) -> Rotation:
    """Promote the published NEXT key, retire the active one, publish a new NEXT.

    ``retain`` is how long a retired key stays published: at least the token lifetime plus
    clock leeway. Older retired keys are deleted. With no NEXT key yet (a fresh database),
    this only publishes one, so that no key ever signs before it was listed.
    """
    await _lock(session)
    now = datetime.now(UTC)
    rows = (await session.scalars(select(SigningKey))).all()
    current = next((row for row in rows if row.status is SigningKeyStatus.ACTIVE), None)
    upcoming = next((row for row in rows if row.status is SigningKeyStatus.NEXT), None)
    activated = retired = None
    if upcoming is not None:
        if current is not None:
            current.status = SigningKeyStatus.RETIRED
            current.retired_at = now
            retired = current.kid
            # The demotion goes first: at most one key is ACTIVE (a unique index says so).
            await session.flush()
        upcoming.status = SigningKeyStatus.ACTIVE
        upcoming.activated_at = now
        activated = upcoming.kid
        await session.flush()
    fresh = new_signing_key(master_key, SigningKeyStatus.NEXT)
    session.add(fresh)
    expired = [
        row.kid
        for row in rows
        if row.status is SigningKeyStatus.RETIRED
        and row.retired_at is not None
        and row.retired_at < now - retain
    ]
    if expired:
        await session.execute(delete(SigningKey).where(SigningKey.kid.in_(expired)))
    await session.flush()
    return Rotation(activated=activated, retired=retired, next=fresh.kid, deleted=expired)


async def published_keys(session: AsyncSession, *, retain: timedelta) -> list[SigningKey]:
    """Keys a verifier must know: the next, the active, and retired ones still in use."""
    cutoff = datetime.now(UTC) - retain
    rows = await session.scalars(
        select(SigningKey)
        .where(
            or_(
                SigningKey.status != SigningKeyStatus.RETIRED,
                SigningKey.retired_at >= cutoff,
            )
        )
        .order_by(SigningKey.id)
    )
    return list(rows.all())
