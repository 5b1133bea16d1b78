"""Verifying a presented credential, for anyone: signature, dates and status, and precisely
why not. The same checks a verifier makes offline with the JWKS and the status lists
(``examples/verify_certificate.py``), made here against the issuer's own records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import CertificateStatus
from core.errors import ErrorCode
from core.models import Certificate
from resolvers.certificates.credentials import (
    Issuer,
    Malformed,
    parse_timestamp,
    read_unverified,
    signature_holds,
)
from resolvers.certificates.keys import public_key


@dataclass(frozen=True, slots=True)
class Verification:
    valid: bool
    code: ErrorCode | None
    message: str
    number: str | None = None
    status: CertificateStatus | None = None
    reason: str | None = None
    kid: str | None = None


def _refused(code: ErrorCode, message: str, **known: Any) -> Verification:
    return Verification(valid=False, code=code, message=message, **known)


async def verify_credential(
    session: AsyncSession, issuer: Issuer, token: str, *, now: datetime
) -> Verification:
    try:
        unverified = read_unverified(token)
    except Malformed as exc:
        return _refused(ErrorCode.CREDENTIAL_MALFORMED, str(exc))
    kid = unverified.kid
    key = await public_key(session, issuer.keys, kid)
    if key is None:
        return _refused(
            ErrorCode.CREDENTIAL_UNKNOWN_KEY,
            "the programme never published the key this credential names",
            kid=kid,
        )
    if not signature_holds(token, key):
        return _refused(
            ErrorCode.CREDENTIAL_SIGNATURE_INVALID,
            "the signature does not match: the credential was altered or not issued here",
            kid=kid,
        )
    credential = unverified.credential
    valid_from = parse_timestamp(credential.get("validFrom"))
    if valid_from is None:
        return _refused(ErrorCode.CREDENTIAL_MALFORMED, "validFrom is missing", kid=kid)
    if valid_from > now:
        return _refused(
            ErrorCode.CREDENTIAL_NOT_YET_VALID, f"valid from {valid_from.isoformat()}", kid=kid
        )
    valid_until = parse_timestamp(credential.get("validUntil"))
    if credential.get("validUntil") is not None and (valid_until is None or valid_until < now):
        return _refused(ErrorCode.CREDENTIAL_EXPIRED, "the credential has expired", kid=kid)
    credential_id = credential.get("id")
    prefix = issuer.certificate_url("")
    number = (
        credential_id[len(prefix) :]
        if isinstance(credential_id, str) and credential_id.startswith(prefix)
        else None
    )
    row = (
        None
        if number is None
        else (
            await session.execute(
                select(
                    Certificate.status, Certificate.revoke_reason, Certificate.suspend_reason
                ).where(Certificate.number == number)
            )
        ).first()
    )
    if row is None:
        return _refused(
            ErrorCode.CREDENTIAL_STATUS_UNKNOWN,
            "the programme holds no certificate with this credential's id",
            kid=kid,
        )
    known = {"number": number, "status": row.status, "kid": kid}
    if row.status is CertificateStatus.REVOKED:
        return _refused(
            ErrorCode.CERTIFICATE_REVOKED,
            "the certificate was revoked",
            reason=row.revoke_reason,
            **known,
        )
    if row.status is CertificateStatus.SUSPENDED:
        return _refused(
            ErrorCode.CERTIFICATE_SUSPENDED,
            "the certificate is suspended",
            reason=row.suspend_reason,
            **known,
        )
    return Verification(valid=True, code=None, message="the certificate is valid", **known)
