"""RFC 9068 access tokens: how they are made (through authlib) and how they are checked.

A token is a JWS signed ES256 by the gateway's active key, ``typ`` ``at+jwt``, with ``iss``
(the gateway), ``aud`` (its GraphQL resource), ``sub`` (the partner's code), ``client_id``,
``scope``, ``jti``, ``iat`` and ``exp``. Checking one costs a signature verification with a
public key cached in-process, then one indexed query for the live state (client and partner
enabled, token not revoked): that query is what makes revocation and disabling take effect
at once on every process. A process answers a token it has verified before from its
principal cache instead (``auth/principal_cache.py``), which those same changes empty.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import ECKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.clients import GatewayClient
from auth.keys import ALGORITHM, PrivateSigningKey, published_keys
from auth.scopes import parse_scopes
from core.enums import ClientStatus, PartnerStatus, PartnerType
from core.principal import Principal
from core.settings import Settings

TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type
_ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
LEEWAY_SECONDS = 30
# A JWT of ours is ~700 bytes; anything far larger is not one, and is not parsed.
MAX_TOKEN_LENGTH = 4096


def issuer_of(settings: Settings) -> str:
    return settings.public_base_url


def audience_of(settings: Settings) -> str:
    """The resource the tokens are for: the GraphQL endpoint, not the issuer itself."""
    return f"{settings.public_base_url}/graphql"


def key_retention(settings: Settings) -> timedelta:
    """How long a retired key stays published: its last token's lifetime, plus leeway."""
    return timedelta(seconds=settings.access_token_ttl_seconds + 2 * LEEWAY_SECONDS)


class InvalidToken(Exception):
    """The bearer token is refused; the description is safe to show the caller."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True)
class VerifiedToken:
    jti: str
    client_id: str
    subject: str
    scopes: frozenset[str]
    issued_at: int
    expires_at: int
    kid: str


class AccessTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """authlib's RFC 9068 generator (expiry, token response), signing with the key the route
    loaded beforehand."""

    def __init__(self, settings: Settings, key: PrivateSigningKey) -> None:
        super().__init__(
            issuer=issuer_of(settings),
            alg=ALGORITHM,
            expires_generator=settings.access_token_ttl_seconds,
        )
        self._key = key
        self._audience = audience_of(settings)
        self._lifetime = settings.access_token_ttl_seconds
        self.issued_jti: str | None = None  # the token's id, for its audit record

    def access_token_generator(
        self, client: GatewayClient, grant_type: str, user: object, scope: str
    ) -> str:
        """The claims authlib's RFC 9068 generator writes for a client credentials grant,
        signed by ``PrivateSigningKey.sign_access_token`` (auth/keys.py says why)."""
        assert client.record is not None  # only an authenticated client gets here
        now = int(time.time())
        # 128 random bits (authlib's default draws 16 characters one by one).
        self.issued_jti = secrets.token_urlsafe(16)
        return self._key.sign_access_token(
            {
                "iss": self.issuer,
                "exp": now + self._lifetime,
                "client_id": client.get_client_id(),
                "iat": now,
                "jti": self.issued_jti,
                "scope": scope,
                "sub": client.record.partner_code,
                "aud": self._audience,
            }
        )


class PublicKeyCache:
    """The published keys by kid, held in-process; an unknown kid triggers a refresh.

    Refreshes are rate-limited, so a stream of tokens naming made-up kids cannot turn
    into a stream of database queries.
    """

    def __init__(self, retain: timedelta, *, min_refresh_seconds: float = 1.0) -> None:
        self._retain = retain
        self._min_refresh = min_refresh_seconds
        self._keys: dict[str, ECKey] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, session: AsyncSession, kid: str) -> ECKey | None:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self._keys.get(kid)
            stale = self._loaded_at is None or (
                time.monotonic() - self._loaded_at >= self._min_refresh
            )
            if key is None and stale:
                await self.refresh(session)
                key = self._keys.get(kid)
        return key

    def forget(self) -> None:
        """A signing key changed or went: re-read the published keys on the next token."""
        self._keys = {}
        self._loaded_at = None

    async def refresh(self, session: AsyncSession) -> None:
        rows = await published_keys(session, retain=self._retain)
        self._keys = {row.kid: ECKey.import_key(row.public_jwk) for row in rows}
        self._loaded_at = time.monotonic()


class TokenVerifier:
    def __init__(self, settings: Settings, keys: PublicKeyCache) -> None:
        self.keys = keys
        self._claims = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer_of(settings)},
            aud={"essential": True, "value": audience_of(settings)},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
        )

    async def verify_signature(self, session: AsyncSession, token: str) -> VerifiedToken:
        """Signature, header and claims; the session is used only to learn a new key."""
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise InvalidToken("the token is malformed")
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError):
            raise InvalidToken("the token is malformed") from None
        # Only our algorithm, checked before any key is chosen: this refuses "none" and
        # HMAC-with-the-public-key confusion outright.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("the token's algorithm is not accepted")
        if header.get("typ") not in _ACCEPTED_TYPES:
            raise InvalidToken("the token is not an access token")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("the token names no key")
        key = await self.keys.get(session, kid)
        if key is None:
            raise InvalidToken("the token's key is unknown")
        return self.check(token, key, kid)

    def check(self, token: str, key: ECKey, kid: str) -> VerifiedToken:
        try:
            decoded = jwt.decode(token, key, algorithms=[ALGORITHM])
            claims = decoded.claims
            self._claims.validate(claims)
        except JoseError as exc:
            raise InvalidToken(_describe(exc)) from None
        scope = claims.get("scope", "")
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(scope, str) or not isinstance(claims["client_id"], str):
            raise InvalidToken("the token's claims are malformed")
        return VerifiedToken(
            jti=claims["jti"],
            client_id=claims["client_id"],
            subject=claims["sub"],
            scopes=parse_scopes(scope),
            issued_at=int(iat),
            expires_at=int(exp),
            kid=kid,
        )


def _describe(exc: JoseError) -> str:
    if isinstance(exc, ExpiredTokenError):
        return "the token has expired"
    if isinstance(exc, BadSignatureError):
        return "the token's signature is invalid"
    if isinstance(exc, ClaimError):
        if exc.claim == "nbf":
            return "the token is not yet valid"
        if exc.claim.isidentifier():
            return f"the token's {exc.claim} claim is invalid or missing"
    return "the token is invalid"


# One query for everything that can change while a token lives; both lookups use a unique
# index (oauth_clients.client_id, revoked_tokens primary key).
_LIVE_STATE_SQL = text(
    """
    SELECT c.status AS client_status, c.scopes AS client_scopes,
           c.registered_documents_only AS registered_documents_only,
           p.id AS partner_id, p.code AS partner_code, p.type AS partner_type,
           p.status AS partner_status, p.regency_id AS regency_id,
           EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = :jti) AS revoked
      FROM oauth_clients c JOIN partners p ON p.id = c.partner_id
     WHERE c.client_id = :client_id
    """
)


async def live_principal(session: AsyncSession, token: VerifiedToken) -> Principal:
    """The caller, if the token's client, partner and the token itself are all still live.

    The token's scopes are narrowed to the client's current grant, so narrowing a client
    narrows its live tokens as well.
    """
    row = (
        await session.execute(_LIVE_STATE_SQL, {"jti": token.jti, "client_id": token.client_id})
    ).one_or_none()
    if row is None or row.partner_code != token.subject:
        raise InvalidToken("the token's client is unknown")
    if row.revoked:
        raise InvalidToken("the token has been revoked")
    if row.client_status != ClientStatus.ACTIVE.value:
        raise InvalidToken("the token's client is disabled")
    if row.partner_status != PartnerStatus.ACTIVE.value:
        raise InvalidToken("the token's partner is not active")
    return Principal(
        client_id=token.client_id,
        partner_id=row.partner_id,
        partner_type=PartnerType(row.partner_type),
        scopes=token.scopes & frozenset(row.client_scopes),
        token_id=token.jti,
        regency_id=row.regency_id,
        partner_code=row.partner_code,
        registered_documents_only=bool(row.registered_documents_only),
    )
