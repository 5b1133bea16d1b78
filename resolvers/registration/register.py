"""``registerParticipant(s)``: a regional office registers a resident of its regency offline.

Every check answers a stable code; the NIK and the KK are read, hashed (``core.identity``)
and forgotten: neither is stored, logged, audited or answered in clear.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.db.actor import acting_as_system
from core.db.session import execute_core
from core.eligibility import FAMILY_CARD_RECIPIENTS_MAX, MIN_REGISTRATION_AGE, age_on
from core.enums import (
    ConsentMethod,
    OutboxStatus,
    ParticipantStatus,
    RegistrationChannel,
)
from core.errors import ErrorCode, GatewayError
from core.identity import hash_family_card, hash_nik, mask_nik, read_nik
from core.models import OutboxMessage, Participant, Regency, RegistrationConsent
from resolvers.events import record_registered
from resolvers.registration.queries import registrant_by_id
from resolvers.registration.records import (
    ItemError,
    RegistrantRecord,
    RegistrationRequest,
    RegistrationResult,
)
from resolvers.tenancy import may_register_in

MAX_ITEMS: Final = 200
_DIGITS16 = re.compile(r"^[0-9]{16}\Z")
_PHONE = re.compile(r"^(\+62|0)8[0-9]{7,12}\Z")
NAME_LENGTH: Final = 200
ADDRESS_LENGTH: Final = 300
ACCOMMODATION_LENGTH: Final = 500
REFERENCE_LENGTH: Final = 64
OFFICE_USER_LENGTH: Final = 100
WITNESS_LENGTH: Final = 200

# Where a registration's notice goes: the person's phone, or the office that registered them.
SMS_CHANNEL: Final = "sms"
OFFICE_CHANNEL: Final = "office"
REGISTERED_TEMPLATE: Final = "registration_received"


def mask_phone(phone: str) -> str:
    """``081234567890`` -> ``0812****7890`` (the seed's form)."""
    local = "0" + phone[3:] if phone.startswith("+62") else phone
    return local[:4] + "****" + local[-4:]


def _text(value: str | None, field: str, longest: int, *, required: bool = True) -> None:
    if value is None or not value.strip():
        if required:
            raise GatewayError(ErrorCode.BAD_USER_INPUT, f"{field} is required", field=field)
        return
    if len(value) > longest:
        raise GatewayError(
            ErrorCode.BAD_USER_INPUT, f"{field} is at most {longest} characters", field=field
        )


def _check_form(request: RegistrationRequest, now: datetime) -> None:
    """What the form alone can refuse, before any SQL."""
    _text(request.full_name, "fullName", NAME_LENGTH)
    _text(request.address, "address", ADDRESS_LENGTH)
    _text(request.accommodation, "accommodation", ACCOMMODATION_LENGTH, required=False)
    consent = request.consent
    _text(consent.office_user, "consent.officeUser", OFFICE_USER_LENGTH)
    _text(consent.reference, "consent.reference", REFERENCE_LENGTH, required=False)
    _text(consent.witness, "consent.witness", WITNESS_LENGTH, required=False)
    if consent.method is ConsentMethod.SIGNED_FORM and not (consent.reference or "").strip():
        raise GatewayError(
            ErrorCode.CONSENT_INCOMPLETE,
            "a signed form's consent needs the form's reference",
            field="consent.reference",
        )
    if consent.method is ConsentMethod.READ_ALOUD_WITNESSED and not (consent.witness or "").strip():
        raise GatewayError(
            ErrorCode.CONSENT_INCOMPLETE,
            "consent read aloud needs the witness's name",
            field="consent.witness",
        )
    if request.phone is not None and not _PHONE.match(request.phone):
        raise GatewayError(
            ErrorCode.BAD_USER_INPUT,
            "phone is an Indonesian mobile number (08... or +628...), or leave it out",
            field="phone",
        )
    if not _DIGITS16.match(request.kk):
        raise GatewayError(ErrorCode.BAD_USER_INPUT, "kk is 16 digits", field="kk")
    facts = read_nik(request.nik)
    if facts is None:
        raise GatewayError(
            ErrorCode.NIK_INVALID,
            "nik must be 16 digits: regency, district, birth date (day + 40 for women), serial",
            field="nik",
        )
    born = request.birth_date
    if (facts.birth_date.day, facts.birth_date.month, facts.birth_date.year % 100) != (
        born.day,
        born.month,
        born.year % 100,
    ):
        raise GatewayError(
            ErrorCode.NIK_MISMATCH, "the NIK encodes another birth date", field="birthDate"
        )
    if facts.female != (request.sex.value == "FEMALE"):
        raise GatewayError(ErrorCode.NIK_MISMATCH, "the NIK encodes the other sex", field="sex")
    if born > now.date():
        raise GatewayError(
            ErrorCode.BAD_USER_INPUT, "birthDate is in the future", field="birthDate"
        )
    if age_on(born, now.date()) < MIN_REGISTRATION_AGE:
        raise GatewayError(
            ErrorCode.UNDER_AGE,
            f"the programme registers people aged {MIN_REGISTRATION_AGE} or older",
            field="birthDate",
        )
    if request.nik[:4] != request.regency_code:
        raise GatewayError(
            ErrorCode.NIK_MISMATCH,
            "the NIK was issued in another regency than the one given",
            field="regencyCode",
        )


async def _office_regency(session: AsyncSession, code: str) -> int:
    regency_id = await session.scalar(select(Regency.id).where(Regency.code == code))
    if regency_id is None:
        raise GatewayError(
            ErrorCode.NIK_REGENCY_UNKNOWN,
            f"{code!r} is not a regency or city code",
            field="regencyCode",
        )
    return int(regency_id)


async def register_participant(
    session: AsyncSession,
    actor: Actor,
    request: RegistrationRequest,
    *,
    master_key: bytes,
    now: datetime,
) -> RegistrantRecord:
    _check_form(request, now)
    regency_id = await _office_regency(session, request.regency_code)
    if not may_register_in(actor.principal, regency_id):
        raise GatewayError(
            ErrorCode.OUTSIDE_OWN_REGENCY,
            "an office registers residents of its own regency or city only",
            field="regencyCode",
        )
    nik_hash = hash_nik(master_key, request.nik)
    kk_hash = hash_family_card(master_key, request.kk)
    await _refuse_registered(session, nik_hash)
    # A card whose recipients are complete takes no new member: none could be drawn. No lock:
    # only a wave's selection makes recipients, and it counts the card again when it draws.
    # A family's members may live in other regencies: the limit counts them all (a count
    # leaves the block, no other regency's row).
    async with acting_as_system(session):
        recipients = await session.scalar(
            select(func.count())
            .select_from(Participant)
            .where(
                Participant.kk_hash == kk_hash,
                Participant.status == ParticipantStatus.RECIPIENT,
            )
        )
    if (recipients or 0) >= FAMILY_CARD_RECIPIENTS_MAX:
        raise GatewayError(
            ErrorCode.FAMILY_CARD_FULL,
            f"this family card already has {FAMILY_CARD_RECIPIENTS_MAX} recipients, the most"
            " one card may have",
            field="kk",
        )
    office_id = actor.partner_id
    participant_id = await session.scalar(
        pg_insert(Participant)
        .values(
            card_number=None,
            nik_hash=nik_hash,
            nik_masked=mask_nik(request.nik),
            full_name=request.full_name.strip(),
            birth_date=request.birth_date,
            sex=request.sex,
            education=request.education,
            regency_id=regency_id,
            wave_id=None,
            training_balance=0,
            status=ParticipantStatus.REGISTERED,
            first_purchase_deadline=None,
            registration_channel=RegistrationChannel.OFFLINE,
            registered_by_partner_id=office_id,
            phone_masked=None if request.phone is None else mask_phone(request.phone),
            created_at=now,
            kk_hash=kk_hash,
            address=request.address.strip(),
            employment_status=request.employment_status,
            disabilities=sorted({category.value for category in request.disabilities}),
            accommodation=request.accommodation,
        )
        .on_conflict_do_nothing(index_elements=[Participant.nik_hash])
        .returning(Participant.id)
    )
    if participant_id is None:  # registered by a concurrent request since the check above
        await _refuse_registered(session, nik_hash)
        raise AssertionError("unreachable: the NIK is registered")
    consent = request.consent
    await execute_core(
        session,
        insert(RegistrationConsent).values(
            participant_id=participant_id,
            method=consent.method,
            reference=consent.reference,
            witness=consent.witness,
            office_user=consent.office_user,
            office_id=office_id,
            given_at=now,
        ),
    )
    await execute_core(
        session,
        insert(OutboxMessage).values(
            **notice(
                participant_id=participant_id,
                phone=request.phone,
                office_id=office_id,
                office_code=actor.principal.partner_code,
                template=REGISTERED_TEMPLATE,
                payload={"registeredAt": now.isoformat()},
            )
        ),
    )
    await record_audit(
        session,
        actor=actor,
        action="participant.registered",
        entity_type="participant",
        entity_id=participant_id,
        after={"channel": RegistrationChannel.OFFLINE.value, "regencyCode": request.regency_code},
        detail={"nikMasked": mask_nik(request.nik), "consentMethod": consent.method.value},
    )
    await record_registered(session, participant_id)
    record = await registrant_by_id(session, actor.principal, participant_id)
    assert record is not None
    return record


def notice(
    *,
    participant_id: int,
    phone: str | None,
    office_id: int | None,
    office_code: str,
    template: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """An outbox row to the person's phone, or to their office when they have none."""
    to: dict[str, Any]
    if phone is not None:
        channel, to = SMS_CHANNEL, {"phone": phone}
    else:
        channel, to = OFFICE_CHANNEL, {"officeId": office_id, "officeCode": office_code}
    return {
        "channel": channel,
        "participant_id": participant_id,
        "template": template,
        "payload": {**payload, "to": to},
        "status": OutboxStatus.PENDING,
        "attempts": 0,
    }


async def _refuse_registered(session: AsyncSession, nik_hash: bytes) -> None:
    # Registered anywhere (online, in another regency) counts: only the channel leaves.
    async with acting_as_system(session):
        channel = await session.scalar(
            select(Participant.registration_channel).where(Participant.nik_hash == nik_hash)
        )
    if channel is not None:
        raise GatewayError(
            ErrorCode.ALREADY_REGISTERED,
            f"this NIK is already registered ({RegistrationChannel(channel).value.lower()})",
            field="nik",
            channel=RegistrationChannel(channel).value,
        )


async def register_participants(
    session: AsyncSession,
    actor: Actor,
    requests: Sequence[RegistrationRequest],
    *,
    master_key: bytes,
    now: datetime,
) -> list[RegistrationResult]:
    """Each item in a savepoint of its own: one refusal never undoes another's success."""
    if not 1 <= len(requests) <= MAX_ITEMS:
        raise GatewayError(
            ErrorCode.TOO_MANY_ITEMS, f"send 1 to {MAX_ITEMS} registrations a call", field="items"
        )
    results = []
    for request in requests:
        try:
            async with session.begin_nested():
                record = await register_participant(
                    session, actor, request, master_key=master_key, now=now
                )
        except GatewayError as error:
            field = error.extensions.get("field")
            results.append(
                RegistrationResult(errors=(ItemError(error.code, error.message, field),))
            )
        else:
            results.append(RegistrationResult(registrant=record))
    return results
