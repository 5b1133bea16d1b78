"""Every enumerated status and kind of the programme, shared by models and schema."""

from enum import StrEnum


class PartnerType(StrEnum):
    PLATFORM = "PLATFORM"
    TRAINING_PROVIDER = "TRAINING_PROVIDER"
    PAYMENT_PARTNER = "PAYMENT_PARTNER"
    REGIONAL_OFFICE = "REGIONAL_OFFICE"
    PROGRAM_MANAGEMENT = "PROGRAM_MANAGEMENT"


class PartnerStatus(StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class ClientStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


class SigningKeyStatus(StrEnum):
    NEXT = "NEXT"  # published in the JWKS, not yet signing
    ACTIVE = "ACTIVE"  # signs new tokens
    RETIRED = "RETIRED"  # published until its last token has expired


class RegencyKind(StrEnum):
    KABUPATEN = "KABUPATEN"
    KOTA = "KOTA"


class Education(StrEnum):
    """Highest education finished, in increasing order (courses set a minimum)."""

    SD = "SD"
    SMP = "SMP"
    SMA = "SMA"
    D3 = "D3"
    S1 = "S1"
    S2 = "S2"
    S3 = "S3"

    @property
    def rank(self) -> int:
        return list(Education).index(self)


class ParticipantStatus(StrEnum):
    REGISTERED = "REGISTERED"
    RECIPIENT = "RECIPIENT"
    REVOKED = "REVOKED"


class RegistrationChannel(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"


class Sex(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"


class EmploymentStatus(StrEnum):
    UNEMPLOYED = "UNEMPLOYED"
    LAID_OFF = "LAID_OFF"  # dismissed (PHK) or furloughed
    INFORMAL = "INFORMAL"  # informal or own-account work, micro business
    EMPLOYED = "EMPLOYED"
    STUDENT = "STUDENT"


class DisabilityCategory(StrEnum):
    """The categories of Law 8/2016 on persons with disabilities (a person may have several)."""

    PHYSICAL = "PHYSICAL"
    INTELLECTUAL = "INTELLECTUAL"
    MENTAL = "MENTAL"
    SENSORY = "SENSORY"


class ConsentMethod(StrEnum):
    """How a person registered at an office consented."""

    SIGNED_FORM = "SIGNED_FORM"  # a signed paper form, kept by the office under a reference
    THUMBPRINT = "THUMBPRINT"  # a thumbprint on the form, for people who cannot sign
    READ_ALOUD_WITNESSED = "READ_ALOUD_WITNESSED"  # read aloud to the person before a witness


class SelectionPool(StrEnum):
    """Which share of a wave's quota a selected person was drawn in, in drawing order."""

    DISABILITY = "DISABILITY"
    OFFLINE = "OFFLINE"
    GENERAL = "GENERAL"


class SelectionOutcome(StrEnum):
    SELECTED = "SELECTED"
    # Drawn behind as many members of the same family card as may be recipients.
    FAMILY_CARD_LIMIT = "FAMILY_CARD_LIMIT"


class LearningMethod(StrEnum):
    WEBINAR = "WEBINAR"
    SELF_PACED = "SELF_PACED"
    OFFLINE = "OFFLINE"


class CourseStatus(StrEnum):
    DRAFT = "DRAFT"
    IN_REVIEW = "IN_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


class PurchaseStatus(StrEnum):
    PENDING_OTP = "PENDING_OTP"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    VOIDED = "VOIDED"


class CertificateStatus(StrEnum):
    VALID = "VALID"
    SUSPENDED = "SUSPENDED"  # reversible: programme management may reinstate it
    REVOKED = "REVOKED"  # final: a revocation is never undone


class StatusPurpose(StrEnum):
    """The two Bitstring Status Lists every certificate has an entry in (same index)."""

    REVOCATION = "revocation"
    SUSPENSION = "suspension"


class CredentialKeyStatus(StrEnum):
    ACTIVE = "ACTIVE"  # signs new certificates
    RETIRED = "RETIRED"  # signs nothing, stays published for good: certificates outlive keys


class PaymentAccountKind(StrEnum):
    BANK = "BANK"
    EWALLET = "EWALLET"


class IncentiveKind(StrEnum):
    TRAINING = "TRAINING"
    SURVEY = "SURVEY"


class InstallmentStatus(StrEnum):
    SCHEDULED = "SCHEDULED"  # not yet due: no completed training
    DUE = "DUE"  # in the pool: the next batch takes it
    IN_BATCH = "IN_BATCH"  # in an open item (pending, sent, or unknown until reconciled)
    PAID = "PAID"


class BatchStatus(StrEnum):
    READY = "READY"  # made; the payment partner has not echoed its header yet
    ACKNOWLEDGED = "ACKNOWLEDGED"  # header echoed; items sent, no result yet
    PARTIAL = "PARTIAL"  # some results in; items still sent or unknown
    COMPLETED = "COMPLETED"  # every item paid, failed or reversed


class DisbursementItemStatus(StrEnum):
    """``PENDING -> SENT -> PAID | FAILED | UNKNOWN``; ``UNKNOWN -> PAID | FAILED``;
    ``PAID -> REVERSED`` (also straight from SENT or UNKNOWN, when the reversal arrives
    before the payment it undoes). The database refuses every other change."""

    PENDING = "PENDING"
    SENT = "SENT"
    PAID = "PAID"
    FAILED = "FAILED"
    REVERSED = "REVERSED"
    UNKNOWN = "UNKNOWN"  # timed out at the partner: neither paid nor failed until reconciled


class DisbursementResult(StrEnum):
    """What a payment partner may report of an item (the item's status becomes it)."""

    PAID = "PAID"
    FAILED = "FAILED"
    REVERSED = "REVERSED"
    UNKNOWN = "UNKNOWN"


class ReportOutcome(StrEnum):
    """What a payment partner's result report did to its item."""

    APPLIED = "APPLIED"  # the item took the reported status
    DUPLICATE = "DUPLICATE"  # the same report was received before: nothing changed
    STALE = "STALE"  # an UNKNOWN arriving after the item's final result: kept as history only


class OutboxStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class FigureBreakdown(StrEnum):
    """How the programme's figures are grouped."""

    PROVINCE = "PROVINCE"
    REGENCY = "REGENCY"
    WAVE = "WAVE"
    SCHEME = "SCHEME"


class EventType(StrEnum):
    """What happened, as partners name it: ``<subject>.<past tense>``. A name is stable for
    good; a change to its payload's shape is a new ``EVENT_VERSIONS`` entry, never a rename."""

    PURCHASE_SUCCEEDED = "purchase.succeeded"
    PURCHASE_VOIDED = "purchase.voided"
    PURCHASE_REDEEMED = "purchase.redeemed"
    ATTENDANCE_RECORDED = "attendance.recorded"
    COURSE_APPROVED = "course.approved"
    COURSE_REJECTED = "course.rejected"
    COURSE_WITHDRAWN = "course.withdrawn"
    CERTIFICATE_ISSUED = "certificate.issued"
    CERTIFICATE_REVOKED = "certificate.revoked"
    INSTALLMENT_DUE = "installment.due"
    BATCH_READY = "batch.ready"
    BATCH_ACKNOWLEDGED = "batch.acknowledged"
    BATCH_COMPLETED = "batch.completed"
    REGISTRANT_REGISTERED = "registrant.registered"
    REGISTRANT_SELECTED = "registrant.selected"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    WEBHOOK_TEST = "webhook.test"


# The payload version of each event type; partners read it from the envelope's ``version``.
EVENT_VERSIONS: dict[EventType, int] = dict.fromkeys(EventType, 1)


class WebhookEndpointStatus(StrEnum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"  # by its partner, or by the worker after failing for days


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its (next) attempt
    SUCCEEDED = "SUCCEEDED"  # the endpoint answered 2xx
    FAILED = "FAILED"  # retried for the whole retry period, or its endpoint was disabled
