"""Completions and certificates: providers submit completions, partners read certificates,
programme management revokes, suspends and reinstates them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext

from auth.permissions import requires
from auth.scopes import Scope
from core.clock import utc_now
from core.enums import CertificateStatus
from core.errors import BadInput, ErrorCode, GatewayError
from core.limits import COURSE_CODE_LENGTH
from resolvers.certificates import completions, queries, status_changes
from resolvers.certificates.legacy import with_credential
from resolvers.certificates.records import (
    CertificateRecord,
    CompletionItem,
    ItemError,
    ItemResult,
)
from schema.catalog import LearningMethodEnum
from schema.common import (
    Connection,
    Node,
    build_connection,
    check_code,
    check_page_size,
    id_after,
    to_global_id,
)
from schema.errors import ErrorCodeEnum
from schema.info import Info, actor_of

CertificateStatusEnum = strawberry.enum(
    CertificateStatus,
    description=(
        "VALID; SUSPENDED: held by programme management, may be reinstated; REVOKED: final."
    ),
)

_NUMBER = re.compile(r"^[A-Z0-9-]{6,40}\Z")


def _check_number(number: str) -> str:
    if not _NUMBER.match(number):
        raise BadInput("number is 6 to 40 capital letters, digits or -", field="number")
    return number


@strawberry.type(
    description=(
        "A certificate: a verifiable credential (W3C VC 2.0, Open Badges 3.0) issued for a "
        "completed training. Anyone may verify it at its url."
    )
)
class Certificate(Node):
    number: str
    status: CertificateStatusEnum  # type: ignore[valid-type]
    status_reason: str | None = strawberry.field(
        description="Why it was revoked or suspended (shown on its public page)."
    )
    issued_at: datetime
    revoked_at: datetime | None
    suspended_at: datetime | None
    completed_at: datetime
    score: int = strawberry.field(description="The post-test score, 0-100.")
    evidence_url: str | None
    course_code: str
    course_title: str
    course_hours: int
    learning_method: LearningMethodEnum  # type: ignore[valid-type]
    provider_code: str
    provider_name: str
    platform_code: str = strawberry.field(description="The platform that sold the training.")
    redeem_code: str
    invoice_code: str
    url: str = strawberry.field(description="Its public page and credential (no token needed).")
    credential: str | None = strawberry.field(
        description="The credential as issued: a VC-JOSE JWT (application/vc+jwt)."
    )
    pk: strawberry.Private[int]

    @classmethod
    def from_record(cls, record: CertificateRecord, info: Info) -> Certificate:
        return cls(
            id=to_global_id("Certificate", record.id),
            pk=record.id,
            number=record.number,
            status=record.status,
            status_reason=record.status_reason,
            issued_at=record.issued_at,
            revoked_at=record.revoked_at,
            suspended_at=record.suspended_at,
            completed_at=record.completed_at,
            score=record.score,
            evidence_url=record.evidence_url,
            course_code=record.course_code,
            course_title=record.course_title,
            course_hours=record.course_hours,
            learning_method=record.learning_method,
            provider_code=record.provider_code,
            provider_name=record.provider_name,
            platform_code=record.platform_code,
            redeem_code=record.redeem_code,
            invoice_code=record.invoice_code,
            url=info.context.certificate_issuer.certificate_url(record.number),
            credential=record.credential_jwt,
        )


@strawberry.input(description="One completed training.")
class CompletionInput:
    redeem_code: str
    completed_at: datetime = strawberry.field(
        description="When the participant completed it (with a time zone)."
    )
    evidence_url: str | None = strawberry.field(
        default=None, description="Optional https URL of the provider's evidence."
    )


@strawberry.input
class SubmitCompletionsInput:
    items: list[CompletionInput] = strawberry.field(description="1 to 500 completions.")


def _submit_completions_input(
    cls: type[SubmitCompletionsInput], value: Mapping[str, Any], _context: InputContext
) -> SubmitCompletionsInput:
    """The input built straight from graphql-core's coerced value (already validated against
    the schema: every item has its redeemCode and completedAt, parsed by their scalars).

    Why: strawberry converts an input value field by field, resolving each field's type and
    GraphQL name again for every item; for 500 items that took longer than signing their
    certificates. The time zone becomes a ``datetime.timezone`` of the same offset, which
    compares in C where dateutil's calls back into Python (the same instant, the same
    local time)."""
    return cls(
        items=[
            CompletionInput(
                redeem_code=item["redeemCode"],
                completed_at=_fixed_offset(item["completedAt"]),
                evidence_url=item.get("evidenceUrl"),
            )
            for item in value["items"]
        ]
    )


def _fixed_offset(moment: datetime) -> datetime:
    offset = moment.utcoffset()
    return moment if offset is None else moment.replace(tzinfo=timezone(offset))


# strawberry's documented hook for a type that builds its own value from the input value.
SubmitCompletionsInput.__strawberry_definition__.from_input = _submit_completions_input  # type: ignore[attr-defined]


@strawberry.type(description="Why an item produced no certificate.")
class CompletionError:
    code: ErrorCodeEnum  # type: ignore[valid-type]
    message: str
    field: str | None
    certificate: Certificate | None = strawberry.field(
        description="ALREADY_COMPLETED: the certificate of the earlier completion."
    )

    @classmethod
    def from_record(cls, error: ItemError, info: Info) -> CompletionError:
        return cls(
            code=error.code,
            message=error.message,
            field=error.field,
            certificate=(
                Certificate.from_record(error.certificate, info) if error.certificate else None
            ),
        )


@strawberry.type(description="One item's result, in the order of the input.")
class CompletionResult:
    redeem_code: str
    certificate: Certificate | None
    errors: list[CompletionError]

    @classmethod
    def from_record(cls, result: ItemResult, info: Info) -> CompletionResult:
        return cls(
            redeem_code=result.redeem_code,
            certificate=(
                Certificate.from_record(result.certificate, info) if result.certificate else None
            ),
            errors=[CompletionError.from_record(error, info) for error in result.errors],
        )


@strawberry.type
class SubmitCompletionsPayload:
    results: list[CompletionResult]


@strawberry.type
class CertificateQuery:
    @strawberry.field(
        description=(
            "A certificate by number: for the provider that trained, the platform that sold "
            "the training, and programme management."
        ),
        permission_classes=[requires(Scope.CERTIFICATE_READ)],
    )
    async def certificate(self, info: Info, number: str) -> Certificate:
        session = info.context.session
        record = await queries.visible_record(session, actor_of(info), _check_number(number))
        record = await with_credential(session, info.context.certificate_issuer, record)
        return Certificate.from_record(record, info)

    @strawberry.field(
        description=(
            "Certificates the caller may see (a provider's trainings, a platform's sales), "
            "oldest first, a page at a time (at most 100); issuedTo is exclusive."
        ),
        permission_classes=[requires(Scope.CERTIFICATE_READ)],
    )
    async def certificates(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        course_code: str | None = None,
        issued_from: datetime | None = None,
        issued_to: datetime | None = None,
    ) -> Connection[Certificate]:
        page_size = check_page_size(first)
        after_id = id_after(after)
        if course_code is not None:
            check_code(course_code, "courseCode", COURSE_CODE_LENGTH)
        for name, moment in (("issuedFrom", issued_from), ("issuedTo", issued_to)):
            # A time without an offset is ambiguous (and cannot be compared with one that has).
            if moment is not None and moment.utcoffset() is None:
                raise BadInput(f"{name} needs a UTC offset, e.g. 2024-01-01T00:00:00Z", field=name)
        if issued_from and issued_to and issued_from >= issued_to:
            raise GatewayError(ErrorCode.INVALID_DATE_RANGE, "issuedFrom must be before issuedTo")
        records = await queries.certificates_page(
            info.context.session,
            actor_of(info),
            after_id=after_id,
            limit=page_size + 1,
            course_code=course_code,
            issued_from=issued_from,
            issued_to=issued_to,
        )
        return build_connection(
            [Certificate.from_record(record, info) for record in records],
            page_size=page_size,
            key_of=lambda certificate: (certificate.pk,),
            after=after,
        )


async def _change(
    info: Info, number: str, change: status_changes.StatusChange, reason: str | None
) -> Certificate:
    record = await status_changes.change_status(
        info.context.session, actor_of(info), _check_number(number), change, reason, now=utc_now()
    )
    return Certificate.from_record(record, info)


@strawberry.type
class CertificateMutation:
    @strawberry.mutation(
        description=(
            "Reports completed trainings of the provider's own courses (1 to 500): each "
            "becomes a certificate, or says why not. A participant's first certificate "
            "creates their incentive installments."
        ),
        permission_classes=[requires(Scope.COMPLETION_WRITE)],
    )
    async def submit_completions(
        self, info: Info, input: SubmitCompletionsInput
    ) -> SubmitCompletionsPayload | None:
        items = [
            CompletionItem(
                redeem_code=item.redeem_code,
                completed_at=item.completed_at,
                evidence_url=item.evidence_url,
            )
            for item in input.items
        ]
        results = await completions.submit_completions(
            info.context.session,
            actor_of(info),
            info.context.certificate_issuer,
            items,
            now=utc_now(),
        )
        return SubmitCompletionsPayload(
            results=[CompletionResult.from_record(result, info) for result in results]
        )

    @strawberry.mutation(
        description="Revokes a certificate for good, with a reason shown to verifiers.",
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def revoke_certificate(self, info: Info, number: str, reason: str) -> Certificate | None:
        return await _change(info, number, status_changes.StatusChange.REVOKE, reason)

    @strawberry.mutation(
        description="Suspends a valid certificate (reversible), with a reason.",
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def suspend_certificate(self, info: Info, number: str, reason: str) -> Certificate | None:
        return await _change(info, number, status_changes.StatusChange.SUSPEND, reason)

    @strawberry.mutation(
        description="Reinstates a suspended certificate; a revoked one stays revoked.",
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def reinstate_certificate(self, info: Info, number: str) -> Certificate | None:
        return await _change(info, number, status_changes.StatusChange.REINSTATE, None)
