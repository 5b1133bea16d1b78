"""Schemes, waves (gelombang) and participants."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    and_,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from core.enums import (
    ConsentMethod,
    DisabilityCategory,
    Education,
    EmploymentStatus,
    ParticipantStatus,
    RegistrationChannel,
    SelectionOutcome,
    SelectionPool,
    Sex,
)
from core.models.base import Base, BigId, CreatedAt, Rupiah, text_enum

_DISABILITIES = ", ".join(f"'{category.value}'" for category in DisabilityCategory)


class Scheme(Base):
    __tablename__ = "schemes"
    __table_args__ = (
        CheckConstraint("training_balance > 0", name="balance_positive"),
        CheckConstraint("incentive_amount >= 0 AND survey_incentive_amount >= 0", name="amounts"),
        CheckConstraint("incentive_count >= 0 AND survey_count >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    training_balance: Mapped[Rupiah]
    incentive_amount: Mapped[Rupiah]
    incentive_count: Mapped[int] = mapped_column(SmallInteger)
    survey_incentive_amount: Mapped[Rupiah]
    survey_count: Mapped[int] = mapped_column(SmallInteger)
    purchase_deadline_days: Mapped[int] = mapped_column(SmallInteger)


class Wave(Base):
    __tablename__ = "waves"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="window"),
        CheckConstraint("quota IS NULL OR quota > 0", name="quota_positive"),
        CheckConstraint(
            "reserved_disability_share >= 0 AND reserved_offline_share >= 0"
            " AND reserved_disability_share + reserved_offline_share <= 1",
            name="reserved_shares",
        ),
        CheckConstraint("(selected_at IS NULL) = (selection_summary IS NULL)", name="selected"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    scheme_id: Mapped[int] = mapped_column(SmallInteger, ForeignKey("schemes.id"))
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
    # Waves of the seed's history have no quota of record; a wave opened through the API has.
    quota: Mapped[int | None] = mapped_column(Integer)
    # Shares of the quota drawn first among people with a disability, then among offline
    # registrants (the programme's inclusion goal, per wave).
    reserved_disability_share: Mapped[Decimal] = mapped_column(
        Numeric(4, 3), server_default=text("0")
    )
    reserved_offline_share: Mapped[Decimal] = mapped_column(Numeric(4, 3), server_default=text("0"))
    # Drawn when the wave is opened and kept: the selection's order is a keyed hash of
    # (this seed, participant id), so anyone holding it can replay the draw.
    selection_seed: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    selected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Per pool: reserved, selected, and the last draw key taken (the cut-off).
    selection_summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (
        CheckConstraint("card_number ~ '^[0-9]{16}$'", name="card_number_digits"),
        # The card is the one the id gives, so the primary key makes cards unique and
        # finds a card's holder (``card_holder``); migration 0024 says why.
        CheckConstraint(
            "card_number IS NULL OR card_number = prakerja_card_number(id)",
            name="card_number_of_id",
        ),
        CheckConstraint(
            "status <> 'RECIPIENT' OR card_number IS NOT NULL", name="recipient_has_card"
        ),
        CheckConstraint(f"disabilities <@ ARRAY[{_DISABILITIES}]::text[]", name="disabilities"),
        CheckConstraint(
            "(registration_channel = 'OFFLINE') = (registered_by_partner_id IS NOT NULL)",
            name="offline_by_office",
        ),
        CheckConstraint("training_balance >= 0", name="balance_not_negative"),
        CheckConstraint(
            "status <> 'RECIPIENT' OR "
            "(wave_id IS NOT NULL AND first_purchase_deadline IS NOT NULL)",
            name="recipient_in_wave",
        ),
    )

    id: Mapped[BigId]
    # Issued at selection (the seed's history issued one at registration). Unique without
    # an index of its own, and the table keeps pages 15% free (fillfactor, migration 0024):
    # the selection's update of its recipients then stays on their pages (HOT).
    card_number: Mapped[str | None] = mapped_column(CHAR(16))
    # The national ID (NIK) is never stored: an HMAC keyed with the master key finds
    # duplicates, and a masked form (first 6 and last 2 digits) is shown to people.
    nik_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    nik_masked: Mapped[str] = mapped_column(CHAR(16))
    full_name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    education: Mapped[Education] = mapped_column(text_enum(Education, "education"))
    regency_id: Mapped[int] = mapped_column(SmallInteger, ForeignKey("regencies.id"), index=True)
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("waves.id"))
    training_balance: Mapped[Rupiah]
    status: Mapped[ParticipantStatus] = mapped_column(
        text_enum(ParticipantStatus, "participant_status")
    )
    first_purchase_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    registration_channel: Mapped[RegistrationChannel] = mapped_column(
        text_enum(RegistrationChannel, "registration_channel")
    )
    registered_by_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[CreatedAt]
    # Registration details (the seed's history predates some of them: nullable).
    sex: Mapped[Sex | None] = mapped_column(text_enum(Sex, "sex"))
    # The family card (KK), kept like the NIK: a keyed hash only.
    kk_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    employment_status: Mapped[EmploymentStatus | None] = mapped_column(
        text_enum(EmploymentStatus, "employment_status")
    )
    disabilities: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )
    accommodation: Mapped[str | None] = mapped_column(String(500))


def card_holder(card_number: Any) -> ColumnElement[bool]:
    """The participant holding this card (a value or a bound parameter), found through the
    primary key by inverting the card's bijection (``prakerja_card_holder``); the stored card
    is compared too, so a number that was never issued matches nobody."""
    return and_(
        Participant.id == func.prakerja_card_holder(card_number),
        Participant.card_number == card_number,
    )


class RegistrationConsent(Base):
    """How a person registered at an office consented, and which office user took it."""

    __tablename__ = "registration_consents"
    __table_args__ = (
        CheckConstraint(
            "method <> 'SIGNED_FORM' OR reference IS NOT NULL", name="signed_form_reference"
        ),
        CheckConstraint(
            "method <> 'READ_ALOUD_WITNESSED' OR witness IS NOT NULL", name="witnessed"
        ),
    )

    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), primary_key=True)
    method: Mapped[ConsentMethod] = mapped_column(text_enum(ConsentMethod, "consent_method"))
    reference: Mapped[str | None] = mapped_column(String(64))
    witness: Mapped[str | None] = mapped_column(String(200))
    office_user: Mapped[str] = mapped_column(String(100))
    office_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WaveSelection(Base):
    """Why a person considered in a wave's draw was selected, or set aside for the family
    card limit. People drawn behind the cut-off have no row: the wave's seed and summary
    explain them (their draw key ranks after the pool's last one)."""

    __tablename__ = "wave_selections"
    __table_args__ = (
        CheckConstraint("(outcome = 'SELECTED') = (pool IS NOT NULL)", name="pool_iff_selected"),
    )

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id"), primary_key=True, index=True
    )
    outcome: Mapped[SelectionOutcome] = mapped_column(
        text_enum(SelectionOutcome, "selection_outcome")
    )
    pool: Mapped[SelectionPool | None] = mapped_column(text_enum(SelectionPool, "selection_pool"))
    draw_key: Mapped[int] = mapped_column(BigInteger)
    # Members of the same family card selected before (earlier waves) or drawn ahead.
    family_ahead: Mapped[int] = mapped_column(SmallInteger)
