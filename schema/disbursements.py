"""Disbursements: payment partners fetch their batches, acknowledge them and report
results; programme management makes batches and reconciles them all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from auth.permissions import requires
from auth.scopes import Scope
from core.clock import utc_now
from core.enums import (
    BatchStatus,
    DisbursementItemStatus,
    DisbursementResult,
    IncentiveKind,
    InstallmentStatus,
    PaymentAccountKind,
    ReportOutcome,
)
from core.errors import BadInput, ErrorCode, GatewayError
from core.limits import PROGRAMME_CODE_LENGTH
from resolvers.compiled_reads import ReadPlan
from resolvers.disbursements import accounts as account_resolvers
from resolvers.disbursements import batches as batch_resolvers
from resolvers.disbursements import reconciliation as reconciliation_resolvers
from resolvers.disbursements import results as result_resolvers
from resolvers.disbursements.records import (
    BatchReconciliation,
    BatchRecord,
    DayReconciliation,
    InstallmentHistory,
    ItemHistory,
    ItemRecord,
    PaymentAccountRecord,
    ReportRecord,
    ResultOutcomeRecord,
    StatusTotal,
    UserErrorRecord,
)
from schema.common import (
    Connection,
    Node,
    build_connection,
    check_card_number,
    check_code,
    check_page_size,
    from_global_id,
    id_after,
    to_global_id,
)
from schema.compiled import CompiledFieldRead, column, global_id, record_values
from schema.errors import UserError
from schema.info import Info, actor_of
from schema.scalars import Rupiah

BatchStatusEnum = strawberry.enum(
    BatchStatus,
    name="DisbursementBatchStatus",
    description=(
        "READY: made, waiting for the payment partner to echo its header; ACKNOWLEDGED: "
        "echoed, items sent; PARTIAL: some results in; COMPLETED: every item paid, failed "
        "or reversed."
    ),
)
ItemStatusEnum = strawberry.enum(
    DisbursementItemStatus,
    description=(
        "PENDING: in a batch not yet acknowledged; SENT: to be paid; PAID; FAILED (with a "
        "reason code; the installment returns to the pool); UNKNOWN: timed out at the "
        "partner, blocks its installment until reconciled; REVERSED: a payment undone (the "
        "installment returns to the pool)."
    ),
)
ResultStatusEnum = strawberry.enum(
    DisbursementResult, description="What a payment partner reports of one item."
)
ReportOutcomeEnum = strawberry.enum(
    ReportOutcome,
    description=(
        "APPLIED: the item took the result; DUPLICATE: the same report came before, nothing "
        "changed; STALE: an UNKNOWN after the item's final result, kept as history only."
    ),
)
IncentiveKindEnum = strawberry.enum(IncentiveKind)
InstallmentStatusEnum = strawberry.enum(InstallmentStatus)
PaymentAccountKindEnum = strawberry.enum(PaymentAccountKind)

MAX_RECONCILIATION_DAYS = 92


def _check_batch_code(code: str) -> str:
    return check_code(code, "code", PROGRAMME_CODE_LENGTH)


@strawberry.type(description="One transfer to make: an installment, to one account.")
class DisbursementItem:
    end_to_end_id: str = column(
        description="Stable across retries of this item (at most 35 characters); quote it "
        "in every result."
    )
    batch_code: str = column()
    amount: Rupiah = column()
    status: ItemStatusEnum = column()  # type: ignore[valid-type]
    reason_code: str | None = column()
    partner_reference: str | None = column()
    reported_at: datetime | None = column(description="The latest result's time.")
    created_at: datetime = column()
    installment_id: strawberry.ID = global_id(
        "installment_id",
        type_name="Installment",
        description="The installment paid (see installmentHistory).",
    )
    installment_kind: IncentiveKindEnum = column()  # type: ignore[valid-type]
    installment_sequence: int = column()
    beneficiary_name: str = column(description="The account holder's name.")
    account_kind: PaymentAccountKindEnum = column()  # type: ignore[valid-type]
    account_number: str = column(
        description="The account number in an item its payment partner must pay; masked "
        "everywhere else (see accountNumberMasked)."
    )
    account_number_masked: bool = column()
    pk: strawberry.Private[int]

    @classmethod
    def from_record(cls, record: ItemRecord) -> DisbursementItem:
        return cls(pk=record.id, **record_values(cls, record))


def _items_page_arguments(
    first: int | None = None, after: str | None = None
) -> tuple[int, int | None]:
    """The ``items`` arguments, validated: the page size and the key to start after.
    Where both ways of answering the page start (the resolver and ``_compiled_items``)."""
    return check_page_size(first, maximum=batch_resolvers.MAX_ITEMS_PAGE), id_after(after)


async def _compiled_items(
    batch: DisbursementBatch, info: Info, plan: ReadPlan, arguments: dict[str, Any]
) -> tuple[Connection[ItemRecord], dict[str, Any]]:
    """A batch's ``items`` page for its compiled plan (up to 1,000 items, where value
    completion one field at a time was nearly all of a page's time): the same arguments,
    the same page statement, the same connection as the resolver."""
    page_size, after_id = _items_page_arguments(**arguments)
    rows = await batch_resolvers.compiled_items_page(
        info.context.session,
        info.context.principal,
        batch.pk,
        plan,
        after_id=after_id,
        limit=page_size + 1,
    )
    connection = build_connection(
        rows.records,
        page_size=page_size,
        key_of=lambda record: (record.id,),
        after=arguments.get("after"),
    )
    return connection, rows.related


@strawberry.type(description="Items of one payment partner, with a header it echoes.")
class DisbursementBatch(Node):
    code: str
    payment_partner_code: str
    item_count: int = strawberry.field(description="Header: the number of items.")
    control_sum: Rupiah = strawberry.field(description="Header: the sum of the items' amounts.")
    status: BatchStatusEnum  # type: ignore[valid-type]
    created_at: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None
    pk: strawberry.Private[int]

    @classmethod
    def from_record(cls, record: BatchRecord) -> DisbursementBatch:
        return cls(
            id=to_global_id("DisbursementBatch", record.id),
            pk=record.id,
            code=record.code,
            payment_partner_code=record.payment_partner_code,
            item_count=record.item_count,
            control_sum=Rupiah(record.control_sum),
            status=record.status,
            created_at=record.created_at,
            acknowledged_at=record.acknowledged_at,
            completed_at=record.completed_at,
        )

    @strawberry.field(
        description="The batch's items in a fixed order, up to 1,000 a page.",
        # The switch is the one of every compiled read (Settings.compiled_reads).
        extensions=[
            CompiledFieldRead(_compiled_items, enabled=lambda info: info.context.compiled_reads)
        ],
    )
    async def items(  # see also _compiled_items (the same page, compiled)
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DisbursementItem]:
        page_size, after_id = _items_page_arguments(first, after)
        records = await batch_resolvers.items_page(
            info.context.session,
            info.context.principal,
            self.pk,
            after_id=after_id,
            limit=page_size + 1,
        )
        return build_connection(
            [DisbursementItem.from_record(record) for record in records],
            page_size=page_size,
            key_of=lambda item: (item.pk,),
            after=after,
        )


@strawberry.type(description="Items of one status: how many, and their sum.")
class DisbursementTotal:
    status: ItemStatusEnum  # type: ignore[valid-type]
    count: int
    amount: Rupiah

    @classmethod
    def from_record(cls, record: StatusTotal) -> DisbursementTotal:
        return cls(status=record.status, count=record.count, amount=Rupiah(record.amount))


@strawberry.type(description="A batch's header against its items' results.")
class BatchReconciliationType:
    batch: DisbursementBatch
    totals: list[DisbursementTotal] = strawberry.field(description="Every status, even if 0.")
    reported_count: int = strawberry.field(description="Items with a result.")
    reported_amount: Rupiah

    @classmethod
    def from_record(cls, record: BatchReconciliation) -> BatchReconciliationType:
        return cls(
            batch=DisbursementBatch.from_record(record.batch),
            totals=[DisbursementTotal.from_record(total) for total in record.totals],
            reported_count=record.reported_count,
            reported_amount=Rupiah(record.reported_amount),
        )


@strawberry.type(description="Items by the day (WIB) of their latest result, by status.")
class DayReconciliationType:
    day: date
    totals: list[DisbursementTotal]

    @classmethod
    def from_record(cls, record: DayReconciliation) -> DayReconciliationType:
        return cls(
            day=record.day,
            totals=[DisbursementTotal.from_record(total) for total in record.totals],
        )


@strawberry.type(description="One result a payment partner reported of an item.")
class DisbursementReport:
    status: ResultStatusEnum  # type: ignore[valid-type]
    reason_code: str | None
    partner_reference: str | None
    reported_at: datetime = strawberry.field(description="The partner's time of the result.")
    received_at: datetime
    applied: bool = strawberry.field(description="Whether it changed the item.")

    @classmethod
    def from_record(cls, record: ReportRecord) -> DisbursementReport:
        return cls(
            status=record.status,
            reason_code=record.reason_code,
            partner_reference=record.partner_reference,
            reported_at=record.reported_at,
            received_at=record.received_at,
            applied=record.applied,
        )


@strawberry.type(description="An item of an installment, with every report it received.")
class DisbursementItemHistory:
    item: DisbursementItem
    reports: list[DisbursementReport]

    @classmethod
    def from_record(cls, record: ItemHistory) -> DisbursementItemHistory:
        return cls(
            item=DisbursementItem.from_record(record.item),
            reports=[DisbursementReport.from_record(report) for report in record.reports],
        )


@strawberry.type(description="An incentive installment and every attempt to pay it.")
class InstallmentHistoryType:
    installment_id: strawberry.ID
    kind: IncentiveKindEnum  # type: ignore[valid-type]
    sequence: int
    amount: Rupiah
    status: InstallmentStatusEnum  # type: ignore[valid-type]
    due_at: datetime | None
    items: list[DisbursementItemHistory] = strawberry.field(description="Oldest first.")

    @classmethod
    def from_record(cls, record: InstallmentHistory) -> InstallmentHistoryType:
        return cls(
            installment_id=to_global_id("Installment", record.installment_id),
            kind=record.kind,
            sequence=record.sequence,
            amount=Rupiah(record.amount),
            status=record.status,
            due_at=record.due_at,
            items=[DisbursementItemHistory.from_record(item) for item in record.items],
        )


@strawberry.input(description="One item's result.")
class DisbursementResultInput:
    end_to_end_id: str
    status: ResultStatusEnum  # type: ignore[valid-type]
    reason_code: str | None = strawberry.field(
        default=None, description="Required with FAILED: 1-16 of A-Z, 0-9, _."
    )
    partner_reference: str | None = strawberry.field(
        default=None, description="Your own reference of the transfer."
    )
    reported_at: datetime = strawberry.field(description="When it happened at your side.")


@strawberry.type(description="What one reported result did, or why it was refused.")
class DisbursementResultOutcome:
    end_to_end_id: str
    outcome: ReportOutcomeEnum | None  # type: ignore[valid-type]
    item: DisbursementItem | None
    errors: list[UserError]

    @classmethod
    def from_record(cls, record: ResultOutcomeRecord) -> DisbursementResultOutcome:
        return cls(
            end_to_end_id=record.end_to_end_id,
            outcome=record.outcome,
            item=None if record.item is None else DisbursementItem.from_record(record.item),
            errors=[_user_error(error) for error in record.errors],
        )


def _selects_result_items(info: Info) -> bool:
    """Whether the document asks for ``results { item }`` (through fragments too)."""

    def asks(selections: Sequence[Selection], path: tuple[str, ...]) -> bool:
        for selection in selections:
            if not isinstance(selection, SelectedField):
                if asks(selection.selections, path):
                    return True
            elif selection.name == path[0] and (
                len(path) == 1 or asks(selection.selections, path[1:])
            ):
                return True
        return False

    return asks(info.selected_fields, ("reportDisbursementResults", "results", "item"))


def _user_error(record: UserErrorRecord) -> UserError:
    return UserError(code=record.code, message=record.message, field=record.field)


@strawberry.type
class ReportDisbursementResultsPayload:
    batch: DisbursementBatch
    results: list[DisbursementResultOutcome] = strawberry.field(description="In input order.")


@strawberry.type(
    description="A participant's bank or e-wallet account at one payment partner. Only a "
    "verified primary account is paid into; its number is shown masked here (the number "
    "itself only in a batch item its payment partner must pay)."
)
class PaymentAccount(Node):
    card_number: str = strawberry.field(description="The participant's Prakerja card.")
    payment_partner_code: str
    kind: PaymentAccountKindEnum  # type: ignore[valid-type]
    masked_account_number: str = strawberry.field(description="All but the last 4 digits hidden.")
    holder_name: str = strawberry.field(description="The holder's name your inquiry returned.")
    name_matched: bool = strawberry.field(
        description="Whether the holder name is the participant's name on record."
    )
    verified: bool = strawberry.field(description="Verified accounts, and only they, are paid.")
    verified_at: datetime | None
    is_primary: bool = strawberry.field(description="The account the participant is paid into.")
    created_at: datetime

    @classmethod
    def from_record(cls, record: PaymentAccountRecord) -> PaymentAccount:
        return cls(
            id=to_global_id("PaymentAccount", record.id),
            card_number=record.card_number,
            payment_partner_code=record.payment_partner_code,
            kind=record.kind,
            masked_account_number=record.masked_account_number,
            holder_name=record.holder_name,
            name_matched=record.name_matched,
            verified=record.verified_at is not None,
            verified_at=record.verified_at,
            is_primary=record.is_primary,
            created_at=record.created_at,
        )


@strawberry.input(
    description="A participant's account at your institution, as your inquiry saw it."
)
class RegisterPaymentAccountInput:
    card_number: str = strawberry.field(description="The participant's Prakerja card (16 digits).")
    kind: PaymentAccountKindEnum  # type: ignore[valid-type]
    account_number: str = strawberry.field(
        description="6 to 34 digits (an e-wallet's phone number)."
    )
    holder_name: str = strawberry.field(
        description="The holder's name your account inquiry returned; the account is verified "
        "when it is the participant's name on record (titles, case and punctuation aside)."
    )


@strawberry.type
class RegisterPaymentAccountPayload:
    account: PaymentAccount


@strawberry.type
class DisbursementQuery:
    @strawberry.field(
        description="Disbursement batches, newest first (a payment partner's own only).",
        permission_classes=[requires(Scope.DISBURSEMENT_READ)],
    )
    async def disbursement_batches(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: BatchStatusEnum | None = None,  # type: ignore[valid-type]
        created_from: datetime | None = None,
        created_before: datetime | None = None,
    ) -> Connection[DisbursementBatch]:
        page_size = check_page_size(first)
        records = await batch_resolvers.batches_page(
            info.context.session,
            info.context.principal,
            filter=batch_resolvers.BatchFilter(
                status=status, created_from=created_from, created_before=created_before
            ),
            after_id=id_after(after),
            limit=page_size + 1,
        )
        return build_connection(
            [DisbursementBatch.from_record(record) for record in records],
            page_size=page_size,
            key_of=lambda batch: (batch.pk,),
            after=after,
        )

    @strawberry.field(
        description="One batch by its code (a payment partner's own only).",
        permission_classes=[requires(Scope.DISBURSEMENT_READ)],
    )
    async def disbursement_batch(self, info: Info, code: str) -> DisbursementBatch:
        record = await batch_resolvers.batch_by_code(
            info.context.session, info.context.principal, _check_batch_code(code)
        )
        return DisbursementBatch.from_record(record)

    @strawberry.field(
        description="A batch's counts and sums by status against its header.",
        permission_classes=[requires(Scope.DISBURSEMENT_READ)],
    )
    async def disbursement_reconciliation(
        self, info: Info, batch_code: str
    ) -> BatchReconciliationType:
        record = await reconciliation_resolvers.batch_reconciliation(
            info.context.session, info.context.principal, _check_batch_code(batch_code)
        )
        return BatchReconciliationType.from_record(record)

    @strawberry.field(
        description=f"Counts and sums by status per day (WIB), at most "
        f"{MAX_RECONCILIATION_DAYS} days.",
        permission_classes=[requires(Scope.DISBURSEMENT_READ)],
    )
    async def daily_disbursement_reconciliation(
        self, info: Info, first_day: date, last_day: date
    ) -> list[DayReconciliationType]:
        if last_day < first_day or last_day - first_day >= timedelta(days=MAX_RECONCILIATION_DAYS):
            raise GatewayError(
                ErrorCode.INVALID_DATE_RANGE,
                f"lastDay must be on or after firstDay, at most {MAX_RECONCILIATION_DAYS} days",
            )
        records = await reconciliation_resolvers.daily_reconciliation(
            info.context.session, info.context.principal, first_day=first_day, last_day=last_day
        )
        return [DayReconciliationType.from_record(record) for record in records]

    @strawberry.field(
        description="An installment's every item and report: by installmentId, or by "
        "cardNumber, kind and sequence.",
        permission_classes=[requires(Scope.DISBURSEMENT_READ)],
    )
    async def installment_history(
        self,
        info: Info,
        installment_id: strawberry.ID | None = None,
        card_number: str | None = None,
        kind: IncentiveKindEnum | None = None,  # type: ignore[valid-type]
        sequence: int | None = None,
    ) -> InstallmentHistoryType:
        pk: int | None = None
        if installment_id is not None:
            type_name, pk = from_global_id(installment_id)
            if type_name != "Installment":
                raise BadInput("installmentId is not an installment's id", field="installmentId")
        elif card_number is None or kind is None or sequence is None:
            raise BadInput("give installmentId, or cardNumber with kind and sequence")
        else:
            check_card_number(card_number)
        record = await reconciliation_resolvers.installment_history(
            info.context.session,
            info.context.principal,
            installment_id=pk,
            card_number=card_number,
            kind=kind,
            sequence=sequence,
        )
        return InstallmentHistoryType.from_record(record)

    @strawberry.field(
        description="A participant's payment accounts (a payment partner's own only), oldest "
        "first; none for an unknown card.",
        permission_classes=[requires(Scope.DISBURSEMENT_READ)],
    )
    async def payment_accounts(self, info: Info, card_number: str) -> list[PaymentAccount]:
        check_card_number(card_number)
        records = await account_resolvers.accounts_of(
            info.context.session, info.context.principal, card_number
        )
        return [PaymentAccount.from_record(record) for record in records]


@strawberry.type
class DisbursementMutation:
    @strawberry.mutation(
        description="Makes a batch for each payment partner from the due installments "
        "(at most 10,000 items each; the rest waits for the next run). Safe to repeat.",
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def create_disbursement_batches(self, info: Info) -> list[DisbursementBatch]:
        records = await batch_resolvers.create_batches(
            info.context.session, actor_of(info), now=utc_now()
        )
        return [DisbursementBatch.from_record(record) for record in records]

    @strawberry.mutation(
        description="Acknowledges your batch by echoing its header; its items become SENT. "
        "A mismatch is BATCH_HEADER_MISMATCH and acknowledges nothing.",
        permission_classes=[requires(Scope.DISBURSEMENT_WRITE)],
    )
    async def acknowledge_batch(
        self, info: Info, code: str, item_count: int, control_sum: Rupiah
    ) -> DisbursementBatch | None:
        record = await batch_resolvers.acknowledge_batch(
            info.context.session,
            actor_of(info),
            _check_batch_code(code),
            item_count=item_count,
            control_sum=control_sum,
            now=utc_now(),
        )
        return DisbursementBatch.from_record(record)

    @strawberry.mutation(
        description="Reports 1 to 1,000 results of your batch's items. Each result is "
        "answered on its own, in input order; the same report again changes nothing.",
        permission_classes=[requires(Scope.DISBURSEMENT_WRITE)],
    )
    async def report_disbursement_results(
        self, info: Info, code: str, results: list[DisbursementResultInput]
    ) -> ReportDisbursementResultsPayload | None:
        actor = actor_of(info)
        outcomes = await result_resolvers.report_results(
            info.context.session,
            actor,
            _check_batch_code(code),
            [
                result_resolvers.ReportedResult(
                    end_to_end_id=result.end_to_end_id,
                    status=result.status,
                    reason_code=result.reason_code,
                    partner_reference=result.partner_reference,
                    reported_at=result.reported_at,
                )
                for result in results
            ],
            now=utc_now(),
            with_items=_selects_result_items(info),
        )
        batch = await batch_resolvers.batch_by_code(info.context.session, actor.principal, code)
        return ReportDisbursementResultsPayload(
            batch=DisbursementBatch.from_record(batch),
            results=[DisbursementResultOutcome.from_record(outcome) for outcome in outcomes],
        )

    @strawberry.mutation(
        description="Registers a participant's account at your institution and verifies it "
        "with the holder name of your account inquiry. The same account again records the "
        "inquiry again. It becomes the account the participant is paid into when verified "
        "and the participant has no primary account at another payment partner.",
        permission_classes=[requires(Scope.DISBURSEMENT_WRITE)],
    )
    async def register_payment_account(
        self, info: Info, input: RegisterPaymentAccountInput
    ) -> RegisterPaymentAccountPayload | None:
        check_card_number(input.card_number)
        record = await account_resolvers.register_payment_account(
            info.context.session,
            actor_of(info),
            card_number=input.card_number,
            kind=input.kind,
            account_number=input.account_number,
            holder_name=input.holder_name,
            now=utc_now(),
        )
        return RegisterPaymentAccountPayload(account=PaymentAccount.from_record(record))
