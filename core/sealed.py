"""Private keys at rest: AES-GCM under a key derived (HKDF-SHA256) from the master key.

Each kind of key derives its own AES key (``purpose``), and the key's kid is the
authenticated data, so a ciphertext can be neither moved to another row nor to another kind.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


def _aead(master_key: bytes, purpose: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master_key)
    return AESGCM(derived)


def seal_jwk(master_key: bytes, purpose: bytes, kid: str, jwk: dict[str, Any]) -> bytes:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    plain = json.dumps(jwk).encode()
    return nonce + _aead(master_key, purpose).encrypt(nonce, plain, kid.encode())


class WrongMasterKey(Exception):
    """What the database holds was sealed under another master key: a deployment mistake
    (``PRAKERJA_MASTER_KEY`` differs from the one the keys were made with), not a client's."""


def open_jwk(master_key: bytes, purpose: bytes, kid: str, blob: bytes) -> dict[str, Any]:
    nonce, ciphertext = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
    try:
        plain = _aead(master_key, purpose).decrypt(nonce, ciphertext, kid.encode())
    except InvalidTag:
        raise WrongMasterKey(
            f"key {kid} does not open with the configured master key (PRAKERJA_MASTER_KEY)"
        ) from None
    jwk: dict[str, Any] = json.loads(plain)
    return jwk
