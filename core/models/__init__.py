"""The whole data model; importing this package registers every table on ``Base.metadata``."""

from core.models.base import Base
from core.models.catalog import (
    Course,
    CourseListing,
    Schedule,
    SearchVocabulary,
    SearchVocabularyVersion,
)
from core.models.certificates import Certificate, Completion, CredentialKey
from core.models.disbursements import (
    DisbursementBatch,
    DisbursementItem,
    DisbursementReport,
    IncentiveInstallment,
    PaymentAccount,
)
from core.models.documents import TrustedDocument
from core.models.enrollment import Attendance, PlatformAccount, Purchase
from core.models.events import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.models.geography import Province, Regency
from core.models.partners import (
    OAuthClient,
    Partner,
    RevokedToken,
    SigningKey,
    UsedClientAssertion,
)
from core.models.platform import (
    AuditRecord,
    AuthFailure,
    ClientWritePosition,
    IdempotencyRecord,
    OutboxMessage,
    RateLimitBucket,
)
from core.models.programme import (
    Participant,
    RegistrationConsent,
    Scheme,
    Wave,
    WaveSelection,
)
from core.models.statistics import ProgrammeFigure, ProgrammeFigureTotal

__all__ = [
    "Attendance",
    "AuditRecord",
    "AuthFailure",
    "Base",
    "Certificate",
    "ClientWritePosition",
    "Completion",
    "Course",
    "CourseListing",
    "CredentialKey",
    "DisbursementBatch",
    "DisbursementItem",
    "DisbursementReport",
    "Event",
    "IdempotencyRecord",
    "IncentiveInstallment",
    "OAuthClient",
    "OutboxMessage",
    "Participant",
    "Partner",
    "PaymentAccount",
    "PlatformAccount",
    "ProgrammeFigure",
    "ProgrammeFigureTotal",
    "Province",
    "Purchase",
    "RateLimitBucket",
    "Regency",
    "RegistrationConsent",
    "RevokedToken",
    "Schedule",
    "Scheme",
    "SearchVocabulary",
    "SearchVocabularyVersion",
    "SigningKey",
    "TrustedDocument",
    "UsedClientAssertion",
    "Wave",
    "WaveSelection",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
