"""Scopes and the partner-type matrix: the one table of who may hold what."""

from __future__ import annotations

from enum import StrEnum

from core.enums import PartnerType


class Scope(StrEnum):
    """OAuth2 scopes, ``resource:action``."""

    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    ENROLLMENT_READ = "enrollment:read"
    ENROLLMENT_WRITE = "enrollment:write"
    ATTENDANCE_WRITE = "attendance:write"
    COMPLETION_WRITE = "completion:write"
    CERTIFICATE_READ = "certificate:read"
    DISBURSEMENT_READ = "disbursement:read"
    DISBURSEMENT_WRITE = "disbursement:write"
    REGISTRATION_READ = "registration:read"
    REGISTRATION_WRITE = "registration:write"
    PROGRAM_ADMIN = "program:admin"


READ_SCOPES = frozenset(scope for scope in Scope if scope.value.endswith(":read"))

# Which scopes a client of each partner type may be granted. A client holds a subset.
SCOPES_BY_PARTNER_TYPE: dict[PartnerType, frozenset[Scope]] = {
    PartnerType.PLATFORM: frozenset(
        {Scope.CATALOG_READ, Scope.ENROLLMENT_READ, Scope.ENROLLMENT_WRITE, Scope.CERTIFICATE_READ}
    ),
    PartnerType.TRAINING_PROVIDER: frozenset(
        {
            Scope.CATALOG_READ,
            Scope.CATALOG_WRITE,
            Scope.ENROLLMENT_READ,
            Scope.ATTENDANCE_WRITE,
            Scope.COMPLETION_WRITE,
            Scope.CERTIFICATE_READ,
        }
    ),
    PartnerType.PAYMENT_PARTNER: frozenset({Scope.DISBURSEMENT_READ, Scope.DISBURSEMENT_WRITE}),
    PartnerType.REGIONAL_OFFICE: frozenset({Scope.REGISTRATION_READ, Scope.REGISTRATION_WRITE}),
    PartnerType.PROGRAM_MANAGEMENT: frozenset({Scope.PROGRAM_ADMIN} | READ_SCOPES),
}


def allowed_scopes(partner_type: PartnerType) -> frozenset[Scope]:
    return SCOPES_BY_PARTNER_TYPE[partner_type]


def parse_scopes(value: str | None) -> frozenset[str]:
    """A space-separated scope string (RFC 6749 section 3.3) as a set."""
    return frozenset(part for part in (value or "").split(" ") if part)
