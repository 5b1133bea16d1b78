"""Payment accounts: registered by a payment partner for a participant at itself, and
verified when the account inquiry's holder name matches the participant's record. Only a
verified primary account is ever paid into (batch making takes no other, and migration
0006's trigger refuses an item for any other). Answers show the number masked only; the
number itself goes out only in a batch item its partner must pay (``records.item_select``).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.db.actor import acting_as_system
from core.db.session import execute_core
from core.enums import PaymentAccountKind
from core.errors import BadInput, ErrorCode, GatewayError
from core.models import Participant, Partner, PaymentAccount
from core.models.programme import card_holder
from core.principal import Principal
from resolvers.disbursements.records import PaymentAccountRecord
from resolvers.tenancy import payment_accounts_visible_to, payment_partner_registering

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


# Bank account numbers and e-wallet numbers (a phone number) are digits; 34 is IBAN's
# length, the column's size.
_ACCOUNT_NUMBER: Final = re.compile(r"^[0-9]{6,34}\Z")
_HOLDER_NAME_LENGTH: Final = 200


def masked(account_number: str) -> str:
    """All but the last four digits hidden, as banks print it."""
    return "*" * (len(account_number) - 4) + account_number[-4:]


def _account_select() -> Select[Any]:
    statement: Select[Any] = (
        select(  # type: ignore[assignment]
            PaymentAccount.id,
            Participant.card_number,
            Partner.code.label("payment_partner_code"),
            PaymentAccount.kind,
            PaymentAccount.account_masked,
            PaymentAccount.holder_name,
            PaymentAccount.name_matched,
            PaymentAccount.verified_at,
            PaymentAccount.is_primary,
            PaymentAccount.created_at,
        )
        .join(Participant, Participant.id == PaymentAccount.participant_id)
        .join(Partner, Partner.id == PaymentAccount.payment_partner_id)
    )
    return statement


def _account_record(row: Any) -> PaymentAccountRecord:
    return PaymentAccountRecord(
        id=row.id,
        card_number=row.card_number,
        payment_partner_code=row.payment_partner_code,
        kind=PaymentAccountKind(row.kind),
        masked_account_number=row.account_masked,
        holder_name=row.holder_name,
        name_matched=row.name_matched,
        verified_at=row.verified_at,
        is_primary=row.is_primary,
        created_at=row.created_at,
    )


async def accounts_of(
    session: AsyncSession, principal: Principal | None, card_number: str
) -> list[PaymentAccountRecord]:
    """The participant's accounts the caller may see (none for an unknown card), oldest
    first."""
    rows = await execute_core(
        session,
        _account_select()
        .where(card_holder(card_number), payment_accounts_visible_to(principal))
        .order_by(PaymentAccount.id),
    )
    return [_account_record(row) for row in rows]


async def register_payment_account(
    session: AsyncSession,
    actor: Actor,
    *,
    card_number: str,
    kind: PaymentAccountKind,
    account_number: str,
    holder_name: str,
    now: datetime,
) -> PaymentAccountRecord:
    """Registers the participant's account at the calling payment partner and verifies it
    with the holder name its account inquiry returned.

    The same account again (participant, partner, kind, number) is the same account: its
    inquiry is recorded again, nothing is added. The account becomes the participant's
    primary (the one batches pay) when the participant has none, or when the primary is
    this partner's own and this one verifies; an account at another partner is never
    displaced by this one."""
    partner_id = payment_partner_registering(actor.principal)
    if partner_id is None:
        raise GatewayError(ErrorCode.FORBIDDEN, "only a payment partner registers accounts")
    if not _ACCOUNT_NUMBER.match(account_number):
        raise BadInput("accountNumber is 6 to 34 digits", field="accountNumber")
    holder_name = " ".join(holder_name.split())
    if not holder_name or len(holder_name) > _HOLDER_NAME_LENGTH:
        raise BadInput(
            f"holderName is the inquiry's name, 1 to {_HOLDER_NAME_LENGTH} characters",
            field="holderName",
        )
    # The participant's row lock serialises registrations of one participant: the
    # same account is found (not made twice) and the primary is chosen once.
    participant = (
        await session.execute(
            select(Participant.id, Participant.full_name)
            .where(card_holder(card_number))
            .with_for_update()
        )
    ).one_or_none()
    if participant is None:
        raise GatewayError(
            ErrorCode.PARTICIPANT_NOT_FOUND,
            "no participant has this card number; check it with the participant",
            field="cardNumber",
        )
    existing = (
        await session.execute(
            select(PaymentAccount.id, PaymentAccount.holder_name, PaymentAccount.verified_at)
            .where(
                PaymentAccount.participant_id == participant.id,
                PaymentAccount.payment_partner_id == partner_id,
                PaymentAccount.kind == kind,
                PaymentAccount.account_number == account_number,
            )
            .order_by(PaymentAccount.id)
            .limit(1)
        )
    ).one_or_none()
    if existing is None:
        account_id = await session.scalar(
            insert(PaymentAccount)
            .values(
                participant_id=participant.id,
                payment_partner_id=partner_id,
                kind=kind,
                account_reference=f"acct_{secrets.token_hex(12)}",
                account_number=account_number,
                account_masked=masked(account_number),
                holder_name=holder_name,
                name_matched=False,
                is_primary=False,
            )
            .returning(PaymentAccount.id)
        )
        assert account_id is not None
    else:
        account_id = existing.id
    unchanged = (
        existing is not None
        and existing.holder_name == holder_name
        and existing.verified_at is not None
    )
    verified = unchanged or await verify_payment_account(
        session, actor, account_id, holder_name, now=now
    )
    if verified:
        await _make_primary_if_free(session, participant.id, partner_id, account_id)
    await record_audit(
        session,
        action="payment_account.registered",
        actor=actor,
        entity_type="payment_account",
        entity_id=account_id,
        after={"kind": kind.value, "account": masked(account_number), "verified": verified},
        detail={"new": existing is None},
    )
    (record,) = await _records(session, actor.principal, [account_id])
    return record


async def _make_primary_if_free(
    session: AsyncSession, participant_id: int, partner_id: int, account_id: int
) -> None:
    # Whether another payment partner holds the primary: a fact across partners, which
    # row-level security would hide from this one (only the answer leaves the block).
    async with acting_as_system(session):
        other_partner_primary = await session.scalar(
            select(
                exists().where(
                    PaymentAccount.participant_id == participant_id,
                    PaymentAccount.is_primary,
                    PaymentAccount.payment_partner_id != partner_id,
                )
            )
        )
    if other_partner_primary:
        return
    # One primary per participant (a unique index): the old one steps down first.
    await session.execute(
        update(PaymentAccount)
        .where(
            PaymentAccount.participant_id == participant_id,
            PaymentAccount.is_primary,
            PaymentAccount.id != account_id,
        )
        .values(is_primary=False)
    )
    await session.execute(
        update(PaymentAccount).where(PaymentAccount.id == account_id).values(is_primary=True)
    )


async def _records(
    session: AsyncSession, principal: Principal | None, ids: Sequence[int]
) -> list[PaymentAccountRecord]:
    rows = await execute_core(
        session,
        _account_select()
        .where(PaymentAccount.id.in_(list(ids)), payment_accounts_visible_to(principal))
        .order_by(PaymentAccount.id),
    )
    return [_account_record(row) for row in rows]
