"""What the certificate resolvers hand the schema and the HTTP routes: frozen records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.enums import CertificateStatus, LearningMethod
from core.errors import ErrorCode


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    id: int
    number: str
    status: CertificateStatus
    status_reason: str | None
    issued_at: datetime
    revoked_at: datetime | None
    suspended_at: datetime | None
    completed_at: datetime
    score: int
    evidence_url: str | None
    course_code: str
    course_title: str
    course_description: str
    course_hours: int
    learning_method: LearningMethod
    provider_code: str
    provider_name: str
    platform_code: str
    redeem_code: str
    invoice_code: str
    status_list: int
    status_index: int
    credential_jwt: str | None


@dataclass(frozen=True, slots=True)
class CompletionItem:
    redeem_code: str
    completed_at: datetime
    evidence_url: str | None


@dataclass(frozen=True, slots=True)
class ItemError:
    code: ErrorCode
    message: str
    field: str | None = None
    # ALREADY_COMPLETED: the certificate the earlier completion produced
    certificate: CertificateRecord | None = None


@dataclass(frozen=True, slots=True)
class ItemResult:
    redeem_code: str
    certificate: CertificateRecord | None
    errors: tuple[ItemError, ...]
