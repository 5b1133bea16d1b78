"""Revocation (final), suspension and reinstatement, by programme management, audited.

The status lists are built from the certificates table, so a change is in them the moment
its transaction commits.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.enums import CertificateStatus, EventType
from core.errors import ErrorCode, GatewayError
from core.models import Certificate
from resolvers.certificates.queries import records_by_number
from resolvers.certificates.records import CertificateRecord
from resolvers.events import record_certificate_events

MAX_REASON: Final = 500


class StatusChange(StrEnum):
    REVOKE = "revoke"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"


_AUDIT_ACTION: Final = {
    StatusChange.REVOKE: "certificate.revoked",
    StatusChange.SUSPEND: "certificate.suspended",
    StatusChange.REINSTATE: "certificate.reinstated",
}


def _reason(reason: str | None) -> str:
    cleaned = (reason or "").strip()
    if not 1 <= len(cleaned) <= MAX_REASON:
        raise GatewayError(
            ErrorCode.REASON_REQUIRED,
            f"give the reason, 1 to {MAX_REASON} characters: the certificate's page shows it",
            field="reason",
        )
    return cleaned


def _refuse_unless(certificate: Certificate, change: StatusChange) -> None:
    status = certificate.status
    if status is CertificateStatus.REVOKED:
        raise GatewayError(
            ErrorCode.CERTIFICATE_REVOKED,
            "the certificate is revoked, and a revocation is final",
        )
    if change is StatusChange.SUSPEND and status is CertificateStatus.SUSPENDED:
        raise GatewayError(ErrorCode.CERTIFICATE_SUSPENDED, "the certificate is already suspended")
    if change is StatusChange.REINSTATE and status is not CertificateStatus.SUSPENDED:
        raise GatewayError(
            ErrorCode.CERTIFICATE_NOT_SUSPENDED, "only a suspended certificate can be reinstated"
        )


def _snapshot(certificate: Certificate) -> dict[str, object]:
    return {
        "status": certificate.status.value,
        "reason": certificate.revoke_reason or certificate.suspend_reason,
    }


async def change_status(
    session: AsyncSession,
    actor: Actor,
    number: str,
    change: StatusChange,
    reason: str | None,
    *,
    now: datetime,
) -> CertificateRecord:
    cleaned = _reason(reason) if change is not StatusChange.REINSTATE else None
    certificate = await session.scalar(
        select(Certificate).where(Certificate.number == number).with_for_update()
    )
    if certificate is None:
        raise GatewayError(ErrorCode.CERTIFICATE_NOT_FOUND, f"no certificate {number!r}")
    _refuse_unless(certificate, change)
    before = _snapshot(certificate)
    certificate.suspended_at = certificate.suspend_reason = None
    match change:
        case StatusChange.REVOKE:
            certificate.status = CertificateStatus.REVOKED
            certificate.revoked_at = now
            certificate.revoke_reason = cleaned
        case StatusChange.SUSPEND:
            certificate.status = CertificateStatus.SUSPENDED
            certificate.suspended_at = now
            certificate.suspend_reason = cleaned
        case StatusChange.REINSTATE:
            certificate.status = CertificateStatus.VALID
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action=_AUDIT_ACTION[change],
        entity_type="certificate",
        entity_id=certificate.id,
        before=before,
        after=_snapshot(certificate),
        detail={"number": number},
    )
    if change is StatusChange.REVOKE:
        await record_certificate_events(session, EventType.CERTIFICATE_REVOKED, [number])
    return (await records_by_number(session, [number]))[number]
