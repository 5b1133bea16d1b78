"""Client secrets: made random, shown once, stored only as a slow scrypt hash.

The stored form is ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (salt and hash in url-safe base64),
so the cost parameters can be raised later without invalidating existing secrets.

Why these parameters: n=2**14, r=8, p=1 is the interactive-login setting of the scrypt paper
(16 MiB and some tens of milliseconds per check). A client secret is 256 random bits, so the
slow hash protects a stolen table more than any secret needs; the price is paid at the token
endpoint, where every client authentication costs one scrypt run. Clients hold a token for its
whole lifetime (15 minutes), so the endpoint's throughput (one CPU core gives tens of
tokens/s) is far above what partners need; see bench/token_endpoint.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
SECRET_BYTES = 32
# scrypt needs 128 * n * r bytes; leave headroom over OpenSSL's 32 MiB default cap.
_MAXMEM = 64 * 1024 * 1024


def generate_secret() -> str:
    """A new client secret: 256 random bits, url-safe text."""
    return secrets.token_urlsafe(SECRET_BYTES)


def generate_client_id(prefix: str) -> str:
    """A client id: readable prefix (the partner code) and random tail; not a secret."""
    return f"{prefix.lower()}-{secrets.token_hex(8)}"


def hash_secret(secret: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(secret, salt, n, r, p)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str | None) -> bool:
    """True when ``secret`` matches ``stored``; the comparison takes constant time.

    With no stored hash (an unknown client, or one that authenticates by key only) the same
    scrypt work is still done against a throw-away hash, so the answer's timing does not
    tell a caller whether the client exists.
    """
    candidate = stored if stored is not None else _DUMMY_HASH
    try:
        scheme, n, r, p, salt, expected = candidate.split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        digest = _scrypt(secret, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    matches = hmac.compare_digest(digest, _unb64(expected))
    return matches and stored is not None


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=HASH_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# Made once per process; matches no secret anyone holds.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(SECRET_BYTES))
