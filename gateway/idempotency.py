"""Idempotency keys for mutations: same key and same body, the same answer, exactly once.

A client sends ``Idempotency-Key`` with a mutation. The key is claimed with an insert into
``idempotency_records`` inside the request's own transaction, so:

* the record and the mutation's effects commit together: a crash between commit and reply
  still leaves the answer to replay, and a rolled-back mutation leaves no claim behind;
* concurrent requests with one key queue on the unique index: the first runs, the others
  wait for its commit and then replay its answer;
* the key belongs to the client that sent it; another client's identical key is another key;
* the same key with another body is refused with ``IDEMPOTENCY_KEY_REUSED``.

A refused mutation has undone its own writes in its savepoint; its answer is stored with the
claim like any other, so a retry gets the same refusal rather than a second attempt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.sealed import open_jwk, seal_jwk

IDEMPOTENCY_HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"
KEY_RETENTION = timedelta(days=7)
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


class InvalidIdempotencyKey(ValueError):
    """The header is present but not a usable key."""


@dataclass(frozen=True)
class Claim:
    client_id: str
    key: str
    request_hash: bytes


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


class KeyReused(Exception):
    """The key was used before with another request body."""


def request_hash(payload: dict[str, Any]) -> bytes:
    """A hash of what the operation means: document, variables and operation name."""
    canonical = json.dumps(
        {
            "query": payload.get("query"),
            "variables": payload.get("variables") or {},
            "operationName": payload.get("operationName"),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).digest()


def check_key(value: str) -> str:
    if not _VALID_KEY.match(value):
        raise InvalidIdempotencyKey(
            "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces"
        )
    return value


_CLAIM_SQL = text(
    """
    INSERT INTO idempotency_records (client_id, key, request_hash, expires_at)
    VALUES (:client_id, :key, :request_hash, now() + :retention)
    ON CONFLICT (client_id, key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, expires_at = EXCLUDED.expires_at,
           response_status = NULL, response_body = NULL, created_at = now()
     WHERE idempotency_records.expires_at < now()
    RETURNING id
    """
)

_EXISTING_SQL = text(
    """
    SELECT id, request_hash, response_status, response_body FROM idempotency_records
     WHERE client_id = :client_id AND key = :key
    """
)


async def claim(session: AsyncSession, claim: Claim, master_key: bytes) -> int | Replay:
    """Claims the key (returning the record id) or returns the answer to replay.

    Raises ``KeyReused`` when the key was used with another body.
    """
    params = {
        "client_id": claim.client_id,
        "key": claim.key,
        "request_hash": claim.request_hash,
        "retention": KEY_RETENTION,
    }
    record_id = await session.scalar(_CLAIM_SQL, params)
    if record_id is not None:
        return int(record_id)
    row = (await session.execute(_EXISTING_SQL, params)).one()
    if bytes(row.request_hash) != claim.request_hash:
        raise KeyReused
    body = _open(master_key, int(row.id), row.response_body or {})
    return Replay(status=int(row.response_status or 200), body=body)


async def complete(
    session: AsyncSession, record_id: int, status: int, body: dict[str, Any], master_key: bytes
) -> None:
    """Stores the answer in the claim's row, in the mutation's own transaction, sealed."""
    await session.execute(
        text(
            "UPDATE idempotency_records SET response_status = :status,"
            " response_body = CAST(:body AS jsonb) WHERE id = :id"
        ),
        {"status": status, "body": json.dumps(_seal(master_key, record_id, body)), "id": record_id},
    )


# An answer kept for replay can hold a secret (startPurchase's paymentToken, usable until it
# expires): it is stored encrypted (AES-GCM under a key derived from the master key, bound to
# its row), so a copy of the table or a backup holds no usable token.
_PURPOSE = b"prakerja idempotent answers v1"


def _seal(master_key: bytes, record_id: int, body: dict[str, Any]) -> dict[str, Any]:
    sealed = seal_jwk(master_key, _PURPOSE, str(record_id), body)
    return {"sealed": base64.b64encode(sealed).decode()}


def _open(master_key: bytes, record_id: int, stored: dict[str, Any]) -> dict[str, Any]:
    sealed = stored.get("sealed")
    if not isinstance(sealed, str) or len(stored) != 1:
        return stored  # kept before answers were sealed
    return open_jwk(master_key, _PURPOSE, str(record_id), base64.b64decode(sealed))
