"""Regional offices register people offline and follow their registrants."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from auth.permissions import requires
from auth.scopes import Scope
from core.clock import utc_now
from core.enums import (
    ConsentMethod,
    DisabilityCategory,
    EmploymentStatus,
    ParticipantStatus,
    RegistrationChannel,
    Sex,
)
from core.errors import ErrorCode, GatewayError
from resolvers import registration as registration_resolvers
from resolvers.registration.records import (
    ConsentInput as ConsentRequest,
)
from resolvers.registration.records import (
    JourneyRecord,
    RegistrantRecord,
    RegistrationRequest,
    RegistrationResult,
)
from schema.catalog import EducationEnum
from schema.common import (
    Connection,
    Node,
    build_connection,
    check_page_size,
    from_global_id,
    id_after,
    to_global_id,
)
from schema.errors import UserError
from schema.info import Info, actor_of
from schema.scalars import Rupiah

SexEnum = strawberry.enum(Sex, description="Sex as the NIK encodes it.")
EmploymentStatusEnum = strawberry.enum(
    EmploymentStatus, description="Work situation at registration."
)
DisabilityCategoryEnum = strawberry.enum(
    DisabilityCategory,
    description="Categories of disability of Law 8/2016 (a person may have several).",
)
ConsentMethodEnum = strawberry.enum(
    ConsentMethod,
    description=(
        "SIGNED_FORM: a signed paper form (give its reference); THUMBPRINT: a thumbprint on "
        "the form; READ_ALOUD_WITNESSED: read aloud to the person before a witness (name them)."
    ),
)
RegistrationChannelEnum = strawberry.enum(
    RegistrationChannel, description="Online on the site, or offline at a regional office."
)
ParticipantStatusEnum = strawberry.enum(
    ParticipantStatus,
    description="REGISTERED: waiting for a wave; RECIPIENT: selected; REVOKED: taken out.",
)


def master_key(info: Info) -> bytes:
    """The key of the NIK and KK hashes (the settings' master key), read once per process."""
    state = info.context.request.app.state
    key: bytes | None = getattr(state, "nik_hash_key", None)
    if key is None:
        key = state.settings.resolved_master_key()
        state.nik_hash_key = key
    assert key is not None
    return key


@strawberry.type(description="A registrant's way through the programme: counts and dates only.")
class Journey:
    registered_at: datetime
    wave_number: int | None = strawberry.field(description="The wave that selected them.")
    selected_at: datetime | None
    purchases: int = strawberry.field(description="Trainings bought (successful purchases).")
    first_purchased_at: datetime | None
    completions: int
    first_completed_at: datetime | None
    incentives_paid: int = strawberry.field(description="Incentive payments received.")
    incentives_paid_amount: Rupiah
    last_paid_at: datetime | None

    @classmethod
    def from_record(cls, record: JourneyRecord) -> Journey:
        return cls(
            registered_at=record.registered_at,
            wave_number=record.wave_number,
            selected_at=record.selected_at,
            purchases=record.purchases,
            first_purchased_at=record.first_purchased_at,
            completions=record.completions,
            first_completed_at=record.first_completed_at,
            incentives_paid=record.incentives_paid,
            incentives_paid_amount=Rupiah(record.incentives_paid_amount),
            last_paid_at=record.last_paid_at,
        )


@strawberry.type(description="A person registered with the programme (the NIK only masked).")
class Registrant(Node):
    nik_masked: str = strawberry.field(description="First 6 and last 2 digits of the NIK.")
    full_name: str
    birth_date: date
    sex: SexEnum | None  # type: ignore[valid-type]
    education: EducationEnum  # type: ignore[valid-type]
    employment_status: EmploymentStatusEnum | None  # type: ignore[valid-type]
    disabilities: list[DisabilityCategoryEnum]  # type: ignore[valid-type]
    accommodation: str | None
    regency_code: str
    regency_name: str
    channel: RegistrationChannelEnum  # type: ignore[valid-type]
    status: ParticipantStatusEnum  # type: ignore[valid-type]
    card_number: str | None = strawberry.field(description="Issued at selection.")
    phone_masked: str | None
    registered_at: datetime
    pk: strawberry.Private[int]

    @classmethod
    def from_record(cls, record: RegistrantRecord) -> Registrant:
        return cls(
            id=to_global_id("Registrant", record.id),
            pk=record.id,
            nik_masked=record.nik_masked,
            full_name=record.full_name,
            birth_date=record.birth_date,
            sex=record.sex,
            education=record.education,
            employment_status=record.employment_status,
            disabilities=list(record.disabilities),
            accommodation=record.accommodation,
            regency_code=record.regency_code,
            regency_name=record.regency_name,
            channel=record.channel,
            status=record.status,
            card_number=record.card_number,
            phone_masked=record.phone_masked,
            registered_at=record.registered_at,
        )

    @strawberry.field(description="Registered, selected, purchased, completed, paid.")
    async def journey(self, info: Info) -> Journey:
        record = await registration_resolvers.journey_of(info.context.session, self.pk)
        return Journey.from_record(record)


@strawberry.input(description="How the person consented, and which office user took it.")
class ConsentInput:
    method: ConsentMethodEnum  # type: ignore[valid-type]
    office_user: str = strawberry.field(description="The office user who took the consent.")
    reference: str | None = strawberry.field(
        default=None, description="The signed form's reference (required for SIGNED_FORM)."
    )
    witness: str | None = strawberry.field(
        default=None, description="The witness (required for READ_ALOUD_WITNESSED)."
    )


@strawberry.input(description="One person, as the office's registration form states them.")
class RegisterParticipantInput:
    nik: str = strawberry.field(description="The 16-digit national ID; never stored in clear.")
    kk: str = strawberry.field(description="The 16-digit family card number.")
    full_name: str
    birth_date: date
    sex: SexEnum  # type: ignore[valid-type]
    address: str
    regency_code: str = strawberry.field(description="Where the person lives: the office's own.")
    education: EducationEnum  # type: ignore[valid-type]
    employment_status: EmploymentStatusEnum  # type: ignore[valid-type]
    consent: ConsentInput
    phone: str | None = strawberry.field(
        default=None, description="Mobile number; without one, the office is the contact."
    )
    disabilities: list[DisabilityCategoryEnum] = strawberry.field(  # type: ignore[valid-type]
        default_factory=list
    )
    accommodation: str | None = strawberry.field(
        default=None, description="What the person needs to take part in training."
    )

    def to_request(self) -> RegistrationRequest:
        return RegistrationRequest(
            nik=self.nik,
            kk=self.kk,
            full_name=self.full_name,
            birth_date=self.birth_date,
            sex=self.sex,
            address=self.address,
            regency_code=self.regency_code,
            education=self.education,
            employment_status=self.employment_status,
            consent=ConsentRequest(
                method=self.consent.method,
                office_user=self.consent.office_user,
                reference=self.consent.reference,
                witness=self.consent.witness,
            ),
            phone=self.phone,
            disabilities=tuple(self.disabilities),
            accommodation=self.accommodation,
        )


@strawberry.type(description="One item of registerParticipants: the registrant, or why not.")
class RegistrationItemResult:
    registrant: Registrant | None
    errors: list[UserError]

    @classmethod
    def from_record(cls, record: RegistrationResult) -> RegistrationItemResult:
        return cls(
            registrant=None
            if record.registrant is None
            else Registrant.from_record(record.registrant),
            errors=[
                UserError(code=error.code, message=error.message, field=error.field)
                for error in record.errors
            ],
        )


@strawberry.type
class RegisterParticipantsPayload:
    results: list[RegistrationItemResult] = strawberry.field(description="In input order.")


def registrant_pk(id: strawberry.ID) -> int:
    try:
        type_name, pk = from_global_id(id)
    except Exception:
        type_name, pk = "", 0
    if type_name != "Registrant":
        raise GatewayError(ErrorCode.REGISTRANT_NOT_FOUND, "no registrant has this id")
    return pk


@strawberry.type
class RegistrationQuery:
    @strawberry.field(
        description=(
            "Registrants of the office's own regency (programme management: all), a page at a "
            "time (at most 100), filtered by channel, disability, status and registration date."
        ),
        permission_classes=[requires(Scope.REGISTRATION_READ)],
    )
    async def registrants(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        channel: RegistrationChannelEnum | None = None,  # type: ignore[valid-type]
        disability: DisabilityCategoryEnum | None = None,  # type: ignore[valid-type]
        has_disability: bool | None = None,
        status: ParticipantStatusEnum | None = None,  # type: ignore[valid-type]
        registered_from: datetime | None = None,
        registered_before: datetime | None = None,
    ) -> Connection[Registrant]:
        page_size = check_page_size(first)
        after_id = id_after(after)
        records = await registration_resolvers.registrants_page(
            info.context.session,
            info.context.principal,
            registration_resolvers.RegistrantFilter(
                channel=channel,
                disability=disability,
                has_disability=has_disability,
                status=status,
                registered_from=registered_from,
                registered_before=registered_before,
            ),
            after_id=after_id,
            limit=page_size + 1,
        )
        return build_connection(
            [Registrant.from_record(record) for record in records],
            page_size=page_size,
            key_of=lambda registrant: (registrant.pk,),
            after=after,
        )

    @strawberry.field(
        description="One registrant of the office's own regency, with their journey.",
        permission_classes=[requires(Scope.REGISTRATION_READ)],
    )
    async def registrant(self, info: Info, id: strawberry.ID) -> Registrant:
        record = await registration_resolvers.registrant_by_id(
            info.context.session, info.context.principal, registrant_pk(id)
        )
        if record is None:
            raise GatewayError(ErrorCode.REGISTRANT_NOT_FOUND, "no registrant has this id")
        return Registrant.from_record(record)


@strawberry.type
class RegistrationMutation:
    @strawberry.mutation(
        description=(
            "Registers a resident of the office's own regency offline, with their consent. "
            "The NIK must agree with the birth date and sex given (day + 40 for women)."
        ),
        permission_classes=[requires(Scope.REGISTRATION_WRITE)],
    )
    async def register_participant(
        self, info: Info, input: RegisterParticipantInput
    ) -> Registrant | None:
        record = await registration_resolvers.register_participant(
            info.context.session,
            actor_of(info),
            input.to_request(),
            master_key=master_key(info),
            now=utc_now(),
        )
        return Registrant.from_record(record)

    @strawberry.mutation(
        description=(
            "Registers 1 to 200 people (paper forms collected at an event); each item is "
            "answered on its own, in input order, and one refusal leaves the others standing."
        ),
        permission_classes=[requires(Scope.REGISTRATION_WRITE)],
    )
    async def register_participants(
        self, info: Info, items: list[RegisterParticipantInput]
    ) -> RegisterParticipantsPayload | None:
        results = await registration_resolvers.register_participants(
            info.context.session,
            actor_of(info),
            [item.to_request() for item in items],
            master_key=master_key(info),
            now=utc_now(),
        )
        return RegisterParticipantsPayload(
            results=[RegistrationItemResult.from_record(result) for result in results]
        )
