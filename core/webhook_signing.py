"""Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme").

A secret is ``whsec_`` and the base64 of 24-64 random bytes; the signed content is
``{webhook-id}.{webhook-timestamp}.{body}``; ``webhook-signature`` holds space-separated
``v1,<base64 HMAC-SHA256>`` entries, one per secret that is valid at the time (a rotated
endpoint's old and new secret during the overlap).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32
# A receiver refuses timestamps further than this from its clock (replays).
TIMESTAMP_TOLERANCE_SECONDS = 5 * 60


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


class Signer:
    """Signs with one secret; its HMAC key is set up once (the worker keeps one per
    endpoint secret) and copied for each message."""

    __slots__ = ("_keyed",)

    def __init__(self, secret: str) -> None:
        self._keyed = hmac.new(_key(secret), digestmod=hashlib.sha256)

    def sign(self, message_id: str, timestamp: int, body: bytes) -> str:
        """One ``v1,<signature>`` entry."""
        mac = self._keyed.copy()
        mac.update(f"{message_id}.{timestamp}.".encode())
        mac.update(body)
        return "v1," + base64.b64encode(mac.digest()).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<signature>`` entry."""
    return Signer(secret).sign(message_id, timestamp, body)


def signature_header(secrets_: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets_)


def signed_header(signers: Iterable[Signer], message_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature``: one entry per signer (both secrets during a rotation)."""
    return " ".join(signer.sign(message_id, timestamp, body) for signer in signers)


def verify(secret: str, message_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """Whether any ``v1`` entry of ``header`` is the signature under ``secret``."""
    expected = sign(secret, message_id, timestamp, body)
    return any(
        hmac.compare_digest(entry.encode(), expected.encode()) for entry in header.split(" ")
    )
