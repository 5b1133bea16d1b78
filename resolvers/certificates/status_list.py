"""Bitstring Status Lists (W3C): where each certificate's revocation and suspension bits are.

Every certificate has one entry (list, index), the same in the revocation list and in the
suspension list of that number. Indexes are drawn at random from the whole list (131,072
entries, the spec's minimum), so an index says nothing about when or to whom a certificate
was issued; a list is filled to half, so a free index is found at once. The unique
constraint on (list, index) is the guarantee; the draw avoids what is already taken.

The lists are built from the certificates table on every request: a revocation is in the
list the moment it commits. Verifiers may keep a list for ``STATUS_LIST_TTL``.
"""

from __future__ import annotations

import base64
import gzip
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Integer, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import CertificateStatus, StatusPurpose
from core.models import Certificate
from core.models.certificates import STATUS_LIST_SIZE
from resolvers.certificates.credentials import VC_CONTEXT, Issuer, sign
from resolvers.certificates.keys import SigningKey

FILL_PER_LIST: Final = STATUS_LIST_SIZE // 2
STATUS_LIST_TTL: Final = timedelta(minutes=5)
# Which certificate status sets the bit of each list.
PURPOSE_STATUS: Final = {
    StatusPurpose.REVOCATION: CertificateStatus.REVOKED,
    StatusPurpose.SUSPENSION: CertificateStatus.SUSPENDED,
}
# Indexes are masked random bits, which is uniform only over a power of two.
if STATUS_LIST_SIZE & (STATUS_LIST_SIZE - 1):
    raise RuntimeError("STATUS_LIST_SIZE must be a power of two")

# Slots are shared by every provider's certificates, and row security shows a provider
# only its own: the list being filled, and which drawn indexes are taken, are facts the
# SECURITY DEFINER functions of migration 0018 answer (numbers, never rows).
_CURRENT_LIST = select(column("list_number", Integer), column("used", Integer)).select_from(
    func.prakerja_status_list_fill()
)
# One array parameter, not an IN list of as many: one prepared statement for every draw.
_TAKEN = select(
    func.prakerja_status_slots_taken(
        bindparam("status_list", type_=Integer),
        bindparam("candidates", type_=ARRAY(Integer)),
    )
)


@dataclass(frozen=True, slots=True)
class StatusEntry:
    status_list: int
    status_index: int


def _random_indexes(count: int) -> list[int]:
    """``count`` random indexes of a list, in the order drawn (one read of the OS's
    randomness, where drawing them one by one cost more than signing)."""
    drawn = secrets.token_bytes(4 * count)
    return [value & (STATUS_LIST_SIZE - 1) for (value,) in struct.iter_unpack(">I", drawn)]


async def allocate(session: AsyncSession, count: int) -> list[StatusEntry]:
    """``count`` free random entries of the list being filled (two statements)."""
    if count == 0:
        return []
    current = (await session.execute(_CURRENT_LIST)).first()
    status_list, used = (current[0], current[1]) if current is not None else (1, 0)
    if used + count > FILL_PER_LIST:
        status_list, used = status_list + 1, 0
    chosen: dict[int, None] = {}  # a set that keeps the order drawn
    while len(chosen) < count:
        wanted = count - len(chosen)
        candidates = [
            index
            for index in dict.fromkeys(_random_indexes(min(2 * wanted + 8, 4096)))
            if index not in chosen
        ]
        taken = set(
            (await session.execute(_TAKEN, {"status_list": status_list, "candidates": candidates}))
            .scalars()
            .all()
        )
        chosen.update(dict.fromkeys([index for index in candidates if index not in taken][:wanted]))
    return [StatusEntry(status_list, index) for index in chosen]


def encode_bitstring(set_indexes: list[int]) -> str:
    """Multibase (``u``: base64url, no padding) of the GZIP of the bitstring, index 0 the
    most significant bit of the first byte, as the spec says."""
    bits = bytearray(STATUS_LIST_SIZE // 8)
    for index in set_indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")


def decode_bitstring(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("the encoded list is not multibase base64url")
    raw = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def bit_is_set(bitstring: bytes, index: int) -> bool:
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


async def list_exists(session: AsyncSession, status_list: int) -> bool:
    highest = await session.scalar(select(func.max(Certificate.status_list)))
    return highest is not None and 1 <= status_list <= highest


async def set_indexes(session: AsyncSession, purpose: StatusPurpose, status_list: int) -> list[int]:
    rows = await session.scalars(
        select(Certificate.status_index).where(
            Certificate.status_list == status_list,
            Certificate.status == PURPOSE_STATUS[purpose],
        )
    )
    return list(rows.all())


def status_list_credential(
    issuer: Issuer, purpose: StatusPurpose, status_list: int, indexes: list[int], now: datetime
) -> dict[str, Any]:
    url = issuer.status_list_url(purpose, status_list)
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.profile(),
        "validFrom": now.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose.value,
            "encodedList": encode_bitstring(indexes),
            # milliseconds, per the spec: how long a verifier may rely on this copy
            "ttl": int(STATUS_LIST_TTL.total_seconds() * 1000),
        },
    }


async def signed_status_list(
    session: AsyncSession,
    issuer: Issuer,
    key: SigningKey,
    purpose: StatusPurpose,
    status_list: int,
) -> str | None:
    """The list as a signed credential (VC-JOSE JWT), or None when there is no such list."""
    if not await list_exists(session, status_list):
        return None
    indexes = await set_indexes(session, purpose, status_list)
    document = status_list_credential(issuer, purpose, status_list, indexes, datetime.now(UTC))
    return sign(key, document)
