"""Client secrets: made random by the gateway, shown once, stored only as a keyed hash.

Stored forms; the first field names the scheme, so each row says how to check it:

``hmac-sha256$v1$<pepper id>$<digest>``
    HMAC-SHA256 of the secret under a 256-bit key (the "pepper") derived from the master key
    with HKDF-SHA256 (info ``prakerja-gateway/client-secrets/v1``); digest in url-safe
    base64. Every secret is written in this form.
``scrypt$<n>$<r>$<p>$<salt>$<hash>``
    The earlier form (n=2**14, r=8, p=1). Still accepted; a client that authenticates with
    one has its row rewritten in the keyed form in the same transaction
    (``Verdict.rehash``). Stored hashes cannot be converted by a migration: that needs the
    secret, which only the client holds.

Why a fast keyed hash and not a slow password hash: scrypt, argon2 and bcrypt make each
guess expensive, which matters when the secret is one of the few million a person might
choose. Our secrets are never chosen by anyone: ``generate_secret`` draws 256 bits from the
operating system's CSPRNG. Against such a secret an attacker holding its hash needs about
2**255 guesses however fast the hash is, so a slow hash adds no protection and cost 35-46 ms
of CPU on every token request (about 40 tokens/s per core). The key is what keeps a stolen
table useless: the pepper lives in the process (derived from ``PRAKERJA_MASTER_KEY``), never
in the database, so a dump of ``oauth_clients`` alone does not even let one test a guess.
No salt: salts defeat precomputed tables and reveal nothing about equal passwords; neither
applies to unique random values hashed under a secret key. The comparison is constant-time
(``hmac.compare_digest``).

The pepper id (8 bytes of an HMAC of a fixed label under the pepper) names the master key a
hash was made under without revealing anything of it: a hash made under another master key
is reported as such in the log, instead of looking like a wrong secret.

Master key rotation: the gateway has none. The master key also seals the token-signing keys
and the webhook secrets and keys the national-ID hashes and stored idempotent answers, so
changing ``PRAKERJA_MASTER_KEY`` is a re-keying of the whole deployment. For client secrets
it means: every keyed hash stops verifying (logged as "made under another master key") and
each client needs a new secret (``prakerja-gateway client rotate-secret``); the README says so.
Hashes still in the scrypt form do not depend on the master key.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import logging
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger("auth.secrets")

SECRET_BYTES = 32
KEYED_SCHEME = "hmac-sha256"
KEYED_VERSION = "v1"
LEGACY_SCHEME = "scrypt"
_PEPPER_INFO = b"prakerja-gateway/client-secrets/v1"
_PEPPER_ID_LABEL = b"pepper id"

# The legacy form's parameters, kept to verify (and, in tests, to make) such hashes.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
# scrypt needs 128 * n * r bytes; leave headroom over OpenSSL's 32 MiB default cap.
_MAXMEM = 64 * 1024 * 1024


def generate_secret() -> str:
    """A new client secret: 256 random bits, url-safe text."""
    return secrets.token_urlsafe(SECRET_BYTES)


def generate_client_id(prefix: str) -> str:
    """A client id: readable prefix (the partner code) and random tail; not a secret."""
    return f"{prefix.lower()}-{secrets.token_hex(8)}"


class Verdict(enum.Enum):
    WRONG = "wrong"
    RIGHT = "right"
    # Right, but stored in the legacy form: the caller writes ``SecretHasher.hash(secret)``.
    REHASH = "rehash"

    @property
    def matches(self) -> bool:
        return self is not Verdict.WRONG


def is_slow(stored: str | None) -> bool:
    """Whether checking against ``stored`` runs scrypt (worth a thread, not the event loop)."""
    return stored is not None and stored.startswith(LEGACY_SCHEME + "$")


class SecretHasher:
    """Makes and checks stored secrets under the pepper derived from one master key."""

    def __init__(self, master_key: bytes) -> None:
        self._pepper = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=_PEPPER_INFO
        ).derive(master_key)
        self.pepper_id = hmac.new(self._pepper, _PEPPER_ID_LABEL, hashlib.sha256).hexdigest()[:16]
        self._prefix = f"{KEYED_SCHEME}${KEYED_VERSION}${self.pepper_id}$"
        # Checked when no client (or no secret) was found: the same work, never a match.
        self._nobody = self.hash(generate_secret())

    def hash(self, secret: str) -> str:
        return self._prefix + _b64(self._digest(secret))

    def _digest(self, secret: str) -> bytes:
        return hmac.new(self._pepper, secret.encode(), hashlib.sha256).digest()

    def verify(self, secret: str, stored: str | None) -> Verdict:
        """Whether ``secret`` matches ``stored``, compared in constant time.

        With no stored hash (an unknown client, or one with a key only) a throw-away hash is
        checked all the same, so the timing does not say whether the client exists.
        """
        candidate = stored if stored is not None else self._nobody
        try:
            if candidate.startswith(self._prefix):
                expected = _unb64(candidate[len(self._prefix) :])
                matches = hmac.compare_digest(self._digest(secret), expected)
                return Verdict.RIGHT if matches and stored is not None else Verdict.WRONG
            if is_slow(candidate):
                return Verdict.REHASH if _verify_scrypt(secret, candidate) else Verdict.WRONG
        except (ValueError, TypeError):
            return Verdict.WRONG
        if candidate.startswith(f"{KEYED_SCHEME}$"):
            log.warning(
                "a client secret hash was made under another master key (pepper %s, ours %s):"
                " the client needs a new secret",
                candidate.split("$")[2] if candidate.count("$") == 3 else "?",
                self.pepper_id,
            )
        return Verdict.WRONG


def scrypt_hash(secret: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A hash in the legacy form: only for tests and benchmarks of the upgrade path."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(secret, salt, n, r, p)
    return f"{LEGACY_SCHEME}${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def _verify_scrypt(secret: str, stored: str) -> bool:
    scheme, n, r, p, salt, expected = stored.split("$")
    if scheme != LEGACY_SCHEME:
        raise ValueError(scheme)
    digest = _scrypt(secret, _unb64(salt), int(n), int(r), int(p))
    return hmac.compare_digest(digest, _unb64(expected))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=HASH_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
