"""Schemes, waves (gelombang) and participants."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CHAR,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import Education, ParticipantStatus, RegistrationChannel
from core.models.base import Base, BigId, CreatedAt, Rupiah, text_enum


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
    __table_args__ = (CheckConstraint("closes_at > opens_at", name="window"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    scheme_id: Mapped[int] = mapped_column(SmallInteger, ForeignKey("schemes.id"))
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (
        CheckConstraint("card_number ~ '^[0-9]{16}$'", name="card_number_digits"),
        CheckConstraint("training_balance >= 0", name="balance_not_negative"),
        CheckConstraint(
            "status <> 'RECIPIENT' OR "
            "(wave_id IS NOT NULL AND first_purchase_deadline IS NOT NULL)",
            name="recipient_in_wave",
        ),
    )

    id: Mapped[BigId]
    card_number: Mapped[str] = mapped_column(CHAR(16), unique=True)
    # The national ID (NIK) is never stored: an HMAC keyed with the master key finds
    # duplicates, and a masked form (first 6 and last 2 digits) is shown to people.
    nik_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    nik_masked: Mapped[str] = mapped_column(CHAR(16))
    full_name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    education: Mapped[Education] = mapped_column(text_enum(Education, "education"))
    regency_id: Mapped[int] = mapped_column(SmallInteger, ForeignKey("regencies.id"), index=True)
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("waves.id"), index=True)
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
