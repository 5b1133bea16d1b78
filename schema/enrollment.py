"""Enrollment: platforms sell trainings by OTP consent; providers redeem and record attendance."""

from __future__ import annotations

import re
from datetime import datetime

import strawberry

from auth.permissions import requires
from auth.scopes import Scope
from core.clock import utc_now
from core.enums import PurchaseStatus
from core.errors import BadInput
from core.limits import (
    COURSE_CODE_LENGTH,
    PARTNER_CODE_LENGTH,
    PARTNER_REFERENCE_LENGTH,
    PROGRAMME_CODE_LENGTH,
)
from resolvers import enrollment as enrollment_resolvers
from resolvers.enrollment.records import AttendanceRecord, PurchaseRecord
from schema.catalog import Course, Schedule
from schema.common import (
    Connection,
    Node,
    build_connection,
    check_card_number,
    check_code,
    check_page_size,
    id_after,
    to_global_id,
)
from schema.info import Info, actor_of
from schema.scalars import Rupiah

PurchaseStatusEnum = strawberry.enum(
    PurchaseStatus,
    description=(
        "PENDING_OTP: waiting for the participant's one-time password; SUCCESS: paid, seat "
        "taken, redeem code issued; FAILED: three wrong OTPs; EXPIRED: the payment token "
        "expired; VOIDED: cancelled by the platform before redemption."
    ),
)

_OTP = re.compile(r"^[0-9]{6}\Z")


@strawberry.type(description="One attendance record: 1 redemption, 2-10 sessions, 999 post-test.")
class Attendance:
    sequence: int
    score: int | None = strawberry.field(description="Post-test score, 0-100 (999 only).")
    attended_at: datetime

    @classmethod
    def from_record(cls, record: AttendanceRecord) -> Attendance:
        return cls(sequence=record.sequence, score=record.score, attended_at=record.attended_at)


@strawberry.type(description="A training bought by a participant through a platform.")
class Purchase(Node):
    invoice_code: str = strawberry.field(description="The platform's own invoice code.")
    invoice_url: str | None
    transaction_code: str | None = strawberry.field(
        description="Issued by the programme on success; needed to void."
    )
    redeem_code: str | None = strawberry.field(
        description="Issued on success; the participant gives it to the provider."
    )
    amount: Rupiah
    status: PurchaseStatusEnum  # type: ignore[valid-type]
    platform_user_id: str
    created_at: datetime
    authorized_at: datetime | None
    voided_at: datetime | None
    redeemed_at: datetime | None
    pk: strawberry.Private[int]
    course_pk: strawberry.Private[int]
    schedule_pk: strawberry.Private[int]

    @classmethod
    def from_record(cls, record: PurchaseRecord) -> Purchase:
        return cls(
            id=to_global_id("Purchase", record.id),
            pk=record.id,
            course_pk=record.course_id,
            schedule_pk=record.schedule_id,
            invoice_code=record.invoice_code,
            invoice_url=record.invoice_url,
            transaction_code=record.transaction_code,
            redeem_code=record.redeem_code,
            amount=Rupiah(record.amount),
            status=record.status,
            platform_user_id=record.platform_user_id,
            created_at=record.created_at,
            authorized_at=record.authorized_at,
            voided_at=record.voided_at,
            redeemed_at=record.redeemed_at,
        )

    @strawberry.field(description="The course bought.")
    async def course(self, info: Info) -> Course:
        row = await info.context.loaders.course_by_id.load(self.course_pk)
        assert row is not None
        return Course.from_record(row)

    @strawberry.field(description="The schedule bought, with its seats now.")
    async def schedule(self, info: Info) -> Schedule:
        row = await info.context.loaders.schedule_by_id.load(self.schedule_pk)
        assert row is not None
        return Schedule.from_record(row)

    @strawberry.field(description="Attendance recorded so far, by sequence.")
    async def attendances(self, info: Info) -> list[Attendance]:
        rows = await info.context.loaders.attendances_by_purchase_id.load(self.pk)
        return [Attendance.from_record(row) for row in rows]


@strawberry.input(description="A platform's request to sell a training to a card holder.")
class StartPurchaseInput:
    card_number: str = strawberry.field(description="The participant's 16-digit card number.")
    course_code: str
    schedule_code: str
    platform_user_id: str = strawberry.field(
        description="The participant's account at the platform; bound to one card for good."
    )
    invoice_code: str = strawberry.field(description="Unique per platform.")
    amount: Rupiah = strawberry.field(description="Must equal the course's price.")
    invoice_url: str | None = None


@strawberry.type(description="A started purchase: the OTP went to the participant.")
class StartPurchasePayload:
    purchase: Purchase
    payment_token: str = strawberry.field(
        description="Submit it with the participant's OTP to authorizePurchase; shown once."
    )
    expires_at: datetime


@strawberry.input
class AuthorizePurchaseInput:
    payment_token: str
    otp: str = strawberry.field(description="The 6-digit one-time password; 3 tries.")


@strawberry.input
class VoidPurchaseInput:
    invoice_code: str
    transaction_code: str


@strawberry.input
class RecordAttendanceInput:
    redeem_code: str
    sequence: int = strawberry.field(description="1 redeems; 2-10 sessions; 999 post-test.")
    score: int | None = strawberry.field(default=None, description="Post-test score, 0-100.")


@strawberry.type
class RecordAttendancePayload:
    attendance: Attendance
    purchase: Purchase


@strawberry.type
class EnrollmentQuery:
    @strawberry.field(
        description=(
            "A purchase by the platform's invoice code (a platform's own only). Invoice codes "
            "are unique per platform: callers who see several platforms' sales pass "
            "platformCode when one code was used by more than one platform."
        ),
        permission_classes=[requires(Scope.ENROLLMENT_READ)],
    )
    async def purchase(
        self, info: Info, invoice_code: str, platform_code: str | None = None
    ) -> Purchase:
        check_code(invoice_code, "invoiceCode", PARTNER_REFERENCE_LENGTH)
        if platform_code is not None:
            check_code(platform_code, "platformCode", PARTNER_CODE_LENGTH)
        row = await enrollment_resolvers.purchase_by_invoice(
            info.context.session, actor_of(info), invoice_code, platform_code
        )
        return Purchase.from_record(row)

    @strawberry.field(
        description=(
            "Authorized purchases: a platform's own sales, or a provider's students "
            "(purchases of its own courses), a page at a time (at most 100)."
        ),
        permission_classes=[requires(Scope.ENROLLMENT_READ)],
    )
    async def enrollments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        course_code: str | None = None,
    ) -> Connection[Purchase]:
        page_size = check_page_size(first)
        after_id = id_after(after)
        if course_code is not None:
            check_code(course_code, "courseCode", COURSE_CODE_LENGTH)
        rows = await enrollment_resolvers.enrollments_page(
            info.context.session,
            actor_of(info),
            after_id=after_id,
            limit=page_size + 1,
            course_code=course_code,
        )
        return build_connection(
            [Purchase.from_record(row) for row in rows],
            page_size=page_size,
            key_of=lambda purchase: (purchase.pk,),
            after=after,
        )


@strawberry.type
class EnrollmentMutation:
    @strawberry.mutation(
        description=(
            "Starts a purchase: validates every programme rule and sends the participant a "
            "one-time password. Returns a payment token valid for 5 minutes."
        ),
        permission_classes=[requires(Scope.ENROLLMENT_WRITE)],
    )
    async def start_purchase(
        self, info: Info, input: StartPurchaseInput
    ) -> StartPurchasePayload | None:
        check_card_number(input.card_number)
        if input.amount <= 0:
            raise BadInput("amount must be positive", field="amount")
        if input.invoice_url is not None and (
            len(input.invoice_url) > 500 or not input.invoice_url.startswith("https://")
        ):
            raise BadInput("invoiceUrl must be an https URL of at most 500 characters")
        request = enrollment_resolvers.PurchaseRequest(
            card_number=input.card_number,
            course_code=check_code(input.course_code, "courseCode", COURSE_CODE_LENGTH),
            schedule_code=check_code(input.schedule_code, "scheduleCode", PROGRAMME_CODE_LENGTH),
            platform_user_id=check_code(
                input.platform_user_id, "platformUserId", PARTNER_REFERENCE_LENGTH
            ),
            invoice_code=check_code(input.invoice_code, "invoiceCode", PARTNER_REFERENCE_LENGTH),
            invoice_url=input.invoice_url,
            amount=input.amount,
        )
        started = await enrollment_resolvers.start_purchase(
            info.context.session, actor_of(info), request, now=utc_now()
        )
        return StartPurchasePayload(
            purchase=Purchase.from_record(started.purchase),
            payment_token=started.payment_token,
            expires_at=started.expires_at,
        )

    @strawberry.mutation(
        description=(
            "Completes a purchase with the participant's OTP: the balance is debited, a seat "
            "taken, and a transaction code and a redeem code issued (status SUCCESS)."
        ),
        permission_classes=[requires(Scope.ENROLLMENT_WRITE)],
    )
    async def authorize_purchase(
        self, info: Info, input: AuthorizePurchaseInput
    ) -> Purchase | None:
        if not _OTP.match(input.otp):
            raise BadInput("otp is 6 digits", field="otp")
        if not 1 <= len(input.payment_token) <= 128:
            raise BadInput("paymentToken is malformed", field="paymentToken")
        row = await enrollment_resolvers.authorize_purchase(
            info.context.session,
            actor_of(info),
            input.payment_token,
            input.otp,
            now=utc_now(),
        )
        return Purchase.from_record(row)

    @strawberry.mutation(
        description="Voids a purchase not yet redeemed: the balance and the seat return.",
        permission_classes=[requires(Scope.ENROLLMENT_WRITE)],
    )
    async def void_purchase(self, info: Info, input: VoidPurchaseInput) -> Purchase | None:
        row = await enrollment_resolvers.void_purchase(
            info.context.session,
            actor_of(info),
            check_code(input.invoice_code, "invoiceCode", PARTNER_REFERENCE_LENGTH),
            check_code(input.transaction_code, "transactionCode", PROGRAMME_CODE_LENGTH),
            now=utc_now(),
        )
        return Purchase.from_record(row)

    @strawberry.mutation(
        description=(
            "Records attendance of a purchase of one of the provider's own courses: sequence "
            "1 redeems the code (while the schedule runs), 2-10 further sessions in order, "
            "999 the post-test with its score. Each once."
        ),
        permission_classes=[requires(Scope.ATTENDANCE_WRITE)],
    )
    async def record_attendance(
        self, info: Info, input: RecordAttendanceInput
    ) -> RecordAttendancePayload | None:
        row = await enrollment_resolvers.record_attendance(
            info.context.session,
            actor_of(info),
            check_code(input.redeem_code, "redeemCode", PROGRAMME_CODE_LENGTH),
            input.sequence,
            input.score,
            now=utc_now(),
        )
        purchase = await enrollment_resolvers.purchase_by_id(info.context.session, row.purchase_id)
        return RecordAttendancePayload(
            attendance=Attendance.from_record(row), purchase=Purchase.from_record(purchase)
        )
