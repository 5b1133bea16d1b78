"""A purchase's codes and the part of its state that audit records show; shared by every change."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    Row,
    bindparam,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.enums import (
    PurchaseStatus,
)
from core.models import (
    Purchase,
)

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
assert 256 % len(_CODE_ALPHABET) == 0, "random_code draws one byte per letter"


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def hash_otp(token_hash: bytes, otp: str) -> bytes:
    # Keyed by the payment token's hash: an OTP is meaningless without its token.
    return hmac.new(token_hash, otp.encode(), hashlib.sha256).digest()


def random_code(prefix: str, length: int) -> str:
    # One read of the system's random source for the whole code, not one per letter
    # (secrets.choice reads it for each: 27 µs for a 16-letter code, 2 µs this way). The
    # alphabet's 32 letters divide 256, so a byte's remainder picks each without bias.
    return prefix + "".join(
        _CODE_ALPHABET[byte % len(_CODE_ALPHABET)] for byte in secrets.token_bytes(length)
    )


@dataclass(frozen=True)
class PurchaseState:
    """The part of a purchase its audit records show (status and OTP tries), known before
    the statement that writes it (and audits it) runs."""

    status: PurchaseStatus
    otp_attempts: int


def audited_state(purchase: Purchase | Row[Any] | PurchaseState) -> dict[str, object]:
    return {"status": purchase.status.value, "otp_attempts": purchase.otp_attempts}


STARTED = PurchaseState(PurchaseStatus.PENDING_OTP, 0)


PURCHASE_COLUMNS = tuple(Purchase.__table__.c)


def status_parameter(name: str, status: PurchaseStatus) -> BindParameter[PurchaseStatus]:
    """A purchase status in a text statement: the enum's value, bound, never a literal."""
    return bindparam(name, status, type_=Purchase.__table__.c.status.type)


async def audit_change(
    session: AsyncSession,
    actor: Actor,
    purchase: Purchase,
    before: dict[str, object],
    action: str,
    detail: dict[str, object] | None = None,
) -> None:
    """Flushes the purchase's new state and records the change from ``before`` to it."""
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action=action,
        entity_type="purchase",
        entity_id=purchase.id,
        before=before,
        after=audited_state(purchase),
        detail=detail,
    )
