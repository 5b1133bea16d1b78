"""Payment accounts: verified when the account inquiry's holder name matches the
participant's record. Only a verified primary account is ever paid into (batch making
takes no other, and migration 0006's trigger refuses an item for any other)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.models import Participant, PaymentAccount

# Honorifics and titles banks print around a name; they say nothing about who holds it.
_TITLES: Final = frozenset({"BPK", "BAPAK", "IBU", "SDR", "SDRI", "TN", "NY", "NN", "HJ", "H"})


def normalised_name(name: str) -> str:
    """Upper case, accents and punctuation gone, titles dropped, single spaces."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^A-Za-z ]+", " ", plain).upper().split()
    return " ".join(word for word in words if word not in _TITLES)


def holder_name_matches(holder_name: str, full_name: str) -> bool:
    """The account inquiry's holder name is the participant's name on record."""
    holder = normalised_name(holder_name)
    return bool(holder) and holder == normalised_name(full_name)


async def verify_payment_account(
    session: AsyncSession, actor: Actor | None, account_id: int, holder_name: str, *, now: datetime
) -> bool:
    """Records the inquiry's holder name; verifies the account when it matches. Returns
    whether it did (a mismatch leaves the account unverified, so it is never paid into)."""
    full_name = await session.scalar(
        select(Participant.full_name)
        .join(PaymentAccount, PaymentAccount.participant_id == Participant.id)
        .where(PaymentAccount.id == account_id)
    )
    matched = full_name is not None and holder_name_matches(holder_name, full_name)
    await session.execute(
        update(PaymentAccount)
        .where(PaymentAccount.id == account_id)
        .values(holder_name=holder_name, name_matched=matched, verified_at=now if matched else None)
    )
    await record_audit(
        session,
        action="payment_account.verified" if matched else "payment_account.name_mismatch",
        actor=actor,
        entity_type="payment_account",
        entity_id=account_id,
    )
    return matched
