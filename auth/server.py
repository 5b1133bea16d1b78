"""The OAuth2 authorization server: authlib's classes over data loaded beforehand.

authlib is synchronous, and its hooks (``query_client``, ``validate_jti``, ``query_token``)
are called from deep inside its flow where nothing can be awaited. So the routes load all
a request can need first (the claimed client, the signing key, whether an assertion's jti
was seen, the presented token's state), build one ``GatewayAuthorizationServer`` per
request around that ``Preloaded`` data, run it (on the event loop: a keyed secret check takes
microseconds; in a worker thread only for a client whose secret is still a legacy scrypt
hash, see auth/routes.py ``_run``), and afterwards write what it decided (replay-cache
entry, revocation, audit, a rehashed secret).

One server per request also means no mutable state is shared between threads.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import (
    ClientCredentialsGrant,
    InvalidClientError,
    InvalidScopeError,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from starlette.datastructures import Headers

from auth.clients import KEY_METHOD, ClientRecord, GatewayClient
from auth.keys import PrivateSigningKey
from auth.scopes import Scope
from auth.secrets import SecretHasher
from auth.tokens import AccessTokenGenerator, VerifiedToken, audience_of, issuer_of
from core.settings import Settings

# authlib logs every issued token (``Issue token %r``) at DEBUG; tokens never reach a log.
logging.getLogger("authlib").setLevel(logging.INFO)

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", KEY_METHOD]
ASSERTION_ALGORITHMS = ["ES256", "RS256", "PS256"]
# Client assertions are single-use and short-lived; the replay cache keeps each jti until
# the assertion expires, so a long lifetime would only grow it.
MAX_ASSERTION_LIFETIME_SECONDS = 600
_NOBODYS_KEYS = KeySet([ECKey.generate_key("P-256", auto_kid=True)])
# Said for every failed client authentication, whatever the reason: no hint whether the
# client exists, is disabled, or the secret was wrong.
CLIENT_AUTH_FAILED = "client authentication failed"


@dataclass(frozen=True)
class PresentedToken:
    """A token handed to introspection or revocation, checked before authlib runs."""

    verified: VerifiedToken
    live: bool  # client and partner enabled, token not revoked

    def check_client(self, client: GatewayClient) -> bool:
        return self.verified.client_id == client.get_client_id()

    def is_expired(self) -> bool:
        return self.verified.expires_at <= int(time.time())

    def is_revoked(self) -> bool:
        return not self.live

    def get_scope(self) -> str:
        return " ".join(sorted(self.verified.scopes))


@dataclass
class Preloaded:
    """What the route loaded for authlib: it reads nothing else."""

    client: ClientRecord | None = None
    signing_key: PrivateSigningKey | None = None
    assertion_seen: bool = False
    presented: PresentedToken | None = None
    presented_string: str | None = None


@dataclass
class Decisions:
    """What authlib decided that the route must write afterwards."""

    authenticated: GatewayClient | None = None
    issued: dict[str, Any] | None = None
    assertion: tuple[str, str, int] | None = None  # client id, jti, exp
    revoke: VerifiedToken | None = None
    error: str | None = None
    error_detail: str | None = None


@dataclass(frozen=True)
class OAuthResult:
    status: int
    body: dict[str, Any] | str
    headers: list[tuple[str, str]] = field(default_factory=list)


class FormPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            self._datalist[name].append(value)
        self._data = {name: values[0] for name, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class GatewayOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """An already-parsed form request; the route did the reading (and the size limits)."""

    def __init__(self, uri: str, headers: Headers, pairs: list[tuple[str, str]]) -> None:
        super().__init__("POST", uri, headers=headers)
        self.payload = FormPayload(pairs)

    @property
    def form(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data

    @property
    def args(self) -> dict[str, str]:
        return {}


class ClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def validate_requested_scope(self) -> None:
        # A client may ask for any subset of what it was granted; anything else, including
        # another partner type's scope, is invalid_scope.
        client: GatewayClient = self.request.client
        requested = frozenset((self.request.payload.scope or "").split())
        if not requested <= client.granted_scopes():
            raise InvalidScopeError("the client may not hold the requested scope")
        if not client.granted_scopes():
            raise InvalidScopeError("the client holds no scope")


class PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 client authentication, with the replay cache answered from the preloaded data."""

    CLIENT_AUTH_METHOD = KEY_METHOD

    def __init__(self, server: GatewayAuthorizationServer, audiences: list[str]) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self._server = server
        self._audiences = audiences

    def get_audiences(self) -> list[str]:
        return self._audiences

    def resolve_client_public_key(self, client: GatewayClient) -> KeySet:
        # An unknown client (or one without keys) is checked against a key nobody holds:
        # the same work and the same failure as a wrong signature.
        jwks = client.public_jwks()
        if not jwks.get("keys"):
            return _NOBODYS_KEYS
        try:
            return KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            return _NOBODYS_KEYS

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except JoseError as exc:
            raise InvalidClientError(description=CLIENT_AUTH_FAILED) from exc
        self.verify_claims(token.claims)
        claims: dict[str, Any] = token.claims
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> None:
        super().verify_claims(claims)
        exp = claims["exp"]
        if exp > time.time() + MAX_ASSERTION_LIFETIME_SECONDS:
            raise InvalidClientError(description="the client assertion lives too long")

    def validate_jti(self, claims: dict[str, Any], jti: object) -> bool:
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            return False
        if self._server.preloaded.assertion_seen:
            return False
        self._server.decisions.assertion = (claims["sub"], jti, int(claims["exp"]))
        return True


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS
    SUPPORTED_TOKEN_TYPES = ("access_token",)
    server: GatewayAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return self.server.presented_token(token_string)

    def check_permission(self, token: PresentedToken, client: GatewayClient, request: Any) -> bool:
        # A partner introspects its own tokens only; any other token is simply inactive.
        return token.check_client(client)

    def introspect_token(self, token: PresentedToken) -> dict[str, Any]:
        verified = token.verified
        return {
            "active": True,
            "scope": token.get_scope(),
            "client_id": verified.client_id,
            "sub": verified.subject,
            "token_type": "Bearer",
            "exp": verified.expires_at,
            "iat": verified.issued_at,
            "iss": self.server.issuer,
            "aud": self.server.audience,
            "jti": verified.jti,
        }


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS
    SUPPORTED_TOKEN_TYPES = ("access_token",)
    server: GatewayAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return self.server.presented_token(token_string)

    def authenticate_token(self, request: Any, client: GatewayClient) -> Any:
        # RFC 7009 section 2.2: an invalid token gets 200 too. Another client's token is
        # treated exactly like garbage (nothing revoked, the same 200), so the answer never
        # tells a caller whether a token it does not own is valid.
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if token is None or not token.check_client(client):
            return None
        return token

    def revoke_token(self, token: PresentedToken, request: Any) -> None:
        if not token.is_expired():
            self.server.decisions.revoke = token.verified


class GatewayAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, settings: Settings, preloaded: Preloaded, hasher: SecretHasher) -> None:
        super().__init__(scopes_supported=[scope.value for scope in Scope])
        self.preloaded = preloaded
        self.hasher = hasher
        self.decisions = Decisions()
        self.issuer = issuer_of(settings)
        self.audience = audience_of(settings)
        self.generator: AccessTokenGenerator | None = None
        if preloaded.signing_key is not None:
            self.generator = AccessTokenGenerator(settings, preloaded.signing_key)
            self.register_token_generator("default", self.generator)
        self.register_grant(ClientCredentials)
        self.register_client_auth_method(
            KEY_METHOD,
            PrivateKeyJWT(self, [self.issuer, f"{self.issuer}/oauth/token"]),
        )
        self.register_endpoint(Introspection)
        self.register_endpoint(Revocation)

    def query_client(self, client_id: str) -> GatewayClient:
        record = self.preloaded.client
        if record is None or record.client_id != client_id:
            record = None
        return GatewayClient(client_id, record, self.hasher)

    def authenticate_client(self, request: Any, methods: list[str], endpoint: str = "token") -> Any:
        client = super().authenticate_client(request, methods, endpoint)
        self.decisions.authenticated = client
        return client

    def presented_token(self, token_string: str) -> PresentedToken | None:
        if self.preloaded.presented_string != token_string:
            return None
        return self.preloaded.presented

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        # Nothing to store: the token is a signed JWT, revoked by its jti if need be.
        self.decisions.issued = token

    def create_oauth2_request(self, request: GatewayOAuth2Request) -> GatewayOAuth2Request:
        return request

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def handle_response(
        self, status: int, body: dict[str, Any] | str, headers: list[tuple[str, str]]
    ) -> OAuthResult:
        return OAuthResult(status, body, list(headers))

    def handle_error_response(self, request: Any, error: OAuth2Error) -> OAuthResult:
        self.decisions.error = error.error
        self.decisions.error_detail = error.description
        if isinstance(error, InvalidClientError):
            error.description = CLIENT_AUTH_FAILED
        result: OAuthResult = self.handle_response(*error(self.get_error_uri(request, error)))
        return result
