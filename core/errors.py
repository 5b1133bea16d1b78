"""The one error vocabulary of the API: every expected failure's stable code.

Each code ends up in ``extensions.code`` of a GraphQL error (or of a JSON refusal of the HTTP
layer). Every layer raises ``GatewayError`` with a member of ``ErrorCode``; there is no other
list of codes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # Request shape and paging
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_PAGE_SIZE = "INVALID_PAGE_SIZE"
    NOT_FOUND = "NOT_FOUND"
    # Catalog
    SEARCH_TEXT_EMPTY = "SEARCH_TEXT_EMPTY"
    SEARCH_TEXT_TOO_SHORT = "SEARCH_TEXT_TOO_SHORT"
    SEARCH_TEXT_TOO_LONG = "SEARCH_TEXT_TOO_LONG"
    INVALID_PRICE_RANGE = "INVALID_PRICE_RANGE"
    INVALID_DATE_RANGE = "INVALID_DATE_RANGE"
    COURSE_NOT_EDITABLE = "COURSE_NOT_EDITABLE"
    INVALID_STATUS_TRANSITION = "INVALID_STATUS_TRANSITION"
    QUOTA_BELOW_TAKEN = "QUOTA_BELOW_TAKEN"
    # Purchases and attendance
    COURSE_NOT_FOUND = "COURSE_NOT_FOUND"
    SCHEDULE_NOT_FOUND = "SCHEDULE_NOT_FOUND"
    SCHEDULE_NOT_IN_COURSE = "SCHEDULE_NOT_IN_COURSE"
    SCHEDULE_ENDED = "SCHEDULE_ENDED"
    QUOTA_EXHAUSTED = "QUOTA_EXHAUSTED"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    PARTICIPANT_NOT_FOUND = "PARTICIPANT_NOT_FOUND"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    PURCHASE_DEADLINE_PASSED = "PURCHASE_DEADLINE_PASSED"
    BALANCE_INSUFFICIENT = "BALANCE_INSUFFICIENT"
    PLATFORM_ACCOUNT_MISMATCH = "PLATFORM_ACCOUNT_MISMATCH"
    INVOICE_CODE_USED = "INVOICE_CODE_USED"
    PAYMENT_TOKEN_INVALID = "PAYMENT_TOKEN_INVALID"  # noqa: S105 (an error code)
    OTP_INVALID = "OTP_INVALID"
    OTP_EXPIRED = "OTP_EXPIRED"
    TRANSACTION_NOT_FOUND = "TRANSACTION_NOT_FOUND"
    ALREADY_VOIDED = "ALREADY_VOIDED"
    ALREADY_REDEEMED = "ALREADY_REDEEMED"
    REDEEM_CODE_NOT_FOUND = "REDEEM_CODE_NOT_FOUND"
    OUTSIDE_SCHEDULE_WINDOW = "OUTSIDE_SCHEDULE_WINDOW"
    INVALID_SEQUENCE = "INVALID_SEQUENCE"
    INVALID_SCORE = "INVALID_SCORE"
    SEQUENCE_OUT_OF_ORDER = "SEQUENCE_OUT_OF_ORDER"
    ATTENDANCE_ALREADY_RECORDED = "ATTENDANCE_ALREADY_RECORDED"
    # Completions and certificates
    NOT_REDEEMED = "NOT_REDEEMED"
    POSTTEST_MISSING = "POSTTEST_MISSING"
    ALREADY_COMPLETED = "ALREADY_COMPLETED"
    NOT_YOUR_COURSE = "NOT_YOUR_COURSE"
    COMPLETED_BEFORE_START = "COMPLETED_BEFORE_START"
    COMPLETED_IN_FUTURE = "COMPLETED_IN_FUTURE"
    PURCHASE_VOIDED = "PURCHASE_VOIDED"
    DUPLICATE_IN_REQUEST = "DUPLICATE_IN_REQUEST"
    EVIDENCE_URL_INVALID = "EVIDENCE_URL_INVALID"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    CERTIFICATE_NOT_FOUND = "CERTIFICATE_NOT_FOUND"
    CERTIFICATE_REVOKED = "CERTIFICATE_REVOKED"
    CERTIFICATE_SUSPENDED = "CERTIFICATE_SUSPENDED"
    CERTIFICATE_NOT_SUSPENDED = "CERTIFICATE_NOT_SUSPENDED"
    REASON_REQUIRED = "REASON_REQUIRED"
    # Verification of a presented credential (why it does not verify)
    CREDENTIAL_MALFORMED = "CREDENTIAL_MALFORMED"
    CREDENTIAL_UNKNOWN_KEY = "CREDENTIAL_UNKNOWN_KEY"
    CREDENTIAL_SIGNATURE_INVALID = "CREDENTIAL_SIGNATURE_INVALID"
    CREDENTIAL_NOT_YET_VALID = "CREDENTIAL_NOT_YET_VALID"
    CREDENTIAL_EXPIRED = "CREDENTIAL_EXPIRED"
    CREDENTIAL_STATUS_UNKNOWN = "CREDENTIAL_STATUS_UNKNOWN"
    RATE_LIMITED = "RATE_LIMITED"
    # Identity and access
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    # Idempotency of mutations
    IDEMPOTENCY_KEY_INVALID = "IDEMPOTENCY_KEY_INVALID"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    # Anything unexpected: masked, with an error id the log holds
    INTERNAL_ERROR = "INTERNAL_ERROR"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    BAD_REQUEST = "BAD_REQUEST"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    # Disbursements
    BATCH_NOT_FOUND = "BATCH_NOT_FOUND"
    BATCH_HEADER_MISMATCH = "BATCH_HEADER_MISMATCH"
    BATCH_NOT_ACKNOWLEDGED = "BATCH_NOT_ACKNOWLEDGED"
    ITEM_NOT_FOUND = "ITEM_NOT_FOUND"
    DUPLICATE_ITEM_IN_CALL = "DUPLICATE_ITEM_IN_CALL"
    REASON_CODE_REQUIRED = "REASON_CODE_REQUIRED"
    RESULT_CONFLICT = "RESULT_CONFLICT"
    ITEM_ALREADY_FINAL = "ITEM_ALREADY_FINAL"
    ALREADY_REVERSED = "ALREADY_REVERSED"
    NOT_PAID = "NOT_PAID"
    INSTALLMENT_NOT_FOUND = "INSTALLMENT_NOT_FOUND"
    TOO_MANY_RESULTS = "TOO_MANY_RESULTS"


class GatewayError(Exception):
    """An expected failure: the message is safe to show, the code is part of the API."""

    def __init__(self, code: ErrorCode, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extensions = extensions


class KeptRefusal(GatewayError):
    """A refusal whose writes so far are kept: the one named exception to "a refused mutation
    changes nothing" (``schema/transactions.py`` releases its savepoint instead of rolling it
    back). Today only a wrong or expired one-time password, which must count as a try."""


class NotFound(GatewayError):
    def __init__(self, what: str, key: str) -> None:
        super().__init__(ErrorCode.NOT_FOUND, f"{what} {key!r} not found", what=what)


class BadInput(GatewayError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        extra = {"field": field} if field else {}
        super().__init__(ErrorCode.BAD_USER_INPUT, message, **extra)
