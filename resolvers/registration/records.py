"""What the registration domain hands the schema: frozen records, built by keyword."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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
from core.errors import ErrorCode


@dataclass(frozen=True)
class ConsentInput:
    method: ConsentMethod
    office_user: str
    reference: str | None = None
    witness: str | None = None


@dataclass(frozen=True)
class RegistrationRequest:
    """One person as an office's paper form states them; the NIK and KK only pass through."""

    nik: str
    kk: str
    full_name: str
    birth_date: date
    sex: Sex
    address: str
    regency_code: str
    education: Education
    employment_status: EmploymentStatus
    consent: ConsentInput
    phone: str | None = None
    disabilities: tuple[DisabilityCategory, ...] = ()
    accommodation: str | None = None


@dataclass(frozen=True)
class RegistrantRecord:
    id: int
    nik_masked: str
    full_name: str
    birth_date: date
    sex: Sex | None
    education: Education
    employment_status: EmploymentStatus | None
    disabilities: tuple[DisabilityCategory, ...]
    accommodation: str | None
    regency_code: str
    regency_name: str
    channel: RegistrationChannel
    status: ParticipantStatus
    card_number: str | None
    phone_masked: str | None
    registered_at: datetime


@dataclass(frozen=True)
class ItemError:
    code: ErrorCode
    message: str
    field: str | None = None


@dataclass(frozen=True)
class RegistrationResult:
    """One item of a bulk registration: the registrant, or why not."""

    registrant: RegistrantRecord | None = None
    errors: tuple[ItemError, ...] = ()


@dataclass(frozen=True)
class JourneyRecord:
    """A registrant's way through the programme: counts and dates, nobody's business data."""

    registered_at: datetime
    wave_number: int | None
    selected_at: datetime | None
    purchases: int
    first_purchased_at: datetime | None
    completions: int
    first_completed_at: datetime | None
    incentives_paid: int
    incentives_paid_amount: int
    last_paid_at: datetime | None


@dataclass(frozen=True)
class WaveRecord:
    id: int
    number: int
    scheme_code: str
    quota: int | None
    reserved_disability_share: float
    reserved_offline_share: float
    opens_at: datetime
    closes_at: datetime
    selection_seed: int
    selected_at: datetime | None
    selected: int


@dataclass(frozen=True)
class PoolRecord:
    pool: SelectionPool
    reserved: int
    selected: int
    cutoff_key: int | None


@dataclass(frozen=True)
class SelectionRecord:
    wave: WaveRecord
    considered: int
    selected: int
    family_card_limited: int
    pools: tuple[PoolRecord, ...]


@dataclass(frozen=True)
class ExplanationRecord:
    wave_number: int
    registrant_id: int
    outcome: SelectionOutcome | None  # None: considered, drawn behind the cut-off, or not eligible
    pool: SelectionPool | None
    draw_key: int
    family_ahead: int | None
    cutoff_key: int | None
    reason: str
