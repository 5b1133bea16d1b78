"""Scopes and the partner-type matrix: the one table of who may hold what."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from core.enums import EventType, PartnerType


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


# The scope a token needs to hear of each event family (the type's part before the dot):
# the scope that reads the family's rows through the API, so an event never tells a token
# what the same token could not read. None: news of the partner's own webhook endpoints,
# heard with any token. Every family of ``EventType`` is listed (a unit test checks it).
EVENT_FAMILY_SCOPES: dict[str, Scope | None] = {
    "purchase": Scope.ENROLLMENT_READ,
    "attendance": Scope.ENROLLMENT_READ,
    "course": Scope.CATALOG_READ,
    "certificate": Scope.CERTIFICATE_READ,
    "installment": Scope.DISBURSEMENT_READ,
    "batch": Scope.DISBURSEMENT_READ,
    "registrant": Scope.REGISTRATION_READ,
    "webhook_endpoint": None,
    "webhook": None,
}


def event_family(event_type: EventType) -> str:
    return event_type.value.split(".", 1)[0]


def scope_for_event(event_type: EventType) -> Scope | None:
    """The scope that lets a token subscribe to, and read in the feed, ``event_type``."""
    return EVENT_FAMILY_SCOPES[event_family(event_type)]


def event_types_allowed(scopes: Iterable[str]) -> frozenset[EventType]:
    """The event types a token holding ``scopes`` may subscribe to and read in the feed
    (which of those events reach its partner is the tenancy's audience, on top)."""
    held = frozenset(scopes)
    return frozenset(
        event_type
        for event_type in EventType
        if (needed := scope_for_event(event_type)) is None or needed.value in held
    )


def parse_scopes(value: str | None) -> frozenset[str]:
    """A space-separated scope string (RFC 6749 section 3.3) as a set."""
    return frozenset(part for part in (value or "").split(" ") if part)
