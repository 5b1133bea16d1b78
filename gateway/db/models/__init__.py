"""The whole data model; importing this package registers every table on ``Base.metadata``."""

from gateway.db.models.base import Base
from gateway.db.models.catalog import Course, CourseListing, Schedule
from gateway.db.models.certificates import Certificate, Completion
from gateway.db.models.disbursements import (
    DisbursementBatch,
    DisbursementItem,
    IncentiveInstallment,
    PaymentAccount,
)
from gateway.db.models.enrollment import Attendance, PlatformAccount, Purchase
from gateway.db.models.geography import Province, Regency
from gateway.db.models.partners import (
    OAuthClient,
    Partner,
    RevokedToken,
    SigningKey,
    UsedClientAssertion,
)
from gateway.db.models.platform import AuditRecord, IdempotencyRecord, OutboxMessage
from gateway.db.models.programme import Participant, Scheme, Wave

__all__ = [
    "Attendance",
    "AuditRecord",
    "Base",
    "Certificate",
    "Completion",
    "Course",
    "CourseListing",
    "DisbursementBatch",
    "DisbursementItem",
    "IdempotencyRecord",
    "IncentiveInstallment",
    "OAuthClient",
    "OutboxMessage",
    "Participant",
    "Partner",
    "PaymentAccount",
    "PlatformAccount",
    "Province",
    "Purchase",
    "Regency",
    "RevokedToken",
    "Schedule",
    "Scheme",
    "SigningKey",
    "UsedClientAssertion",
    "Wave",
]
