"""The tables the seed fills and the column order of the row tuples built for each.

Builders make plain tuples (cheap for millions of rows); this module is the one place that
says what position means which column. ``created_at`` is always given explicitly, so two runs
give identical rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

Row = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]


PROVINCES: Final = Table("provinces", ("id", "code", "name"))
REGENCIES: Final = Table("regencies", ("id", "code", "province_id", "name", "kind"))
SCHEMES: Final = Table(
    "schemes",
    (
        "id",
        "code",
        "name",
        "training_balance",
        "incentive_amount",
        "incentive_count",
        "survey_incentive_amount",
        "survey_count",
        "purchase_deadline_days",
    ),
)
WAVES: Final = Table("waves", ("id", "number", "scheme_id", "opens_at", "closes_at", "created_at"))
PARTNERS: Final = Table(
    "partners", ("id", "code", "name", "type", "status", "regency_id", "created_at")
)
COURSES: Final = Table(
    "courses",
    (
        "id",
        "code",
        "provider_id",
        "title",
        "description",
        "category",
        "learning_method",
        "price",
        "hours",
        "min_age",
        "max_age",
        "min_education",
        "regency_id",
        "status",
        "review_reason",
        "created_at",
        "updated_at",
        "approved_at",
    ),
)
COURSE_LISTINGS: Final = Table("course_listings", ("course_id", "platform_id", "created_at"))
SCHEDULES: Final = Table(
    "schedules",
    ("id", "code", "course_id", "starts_at", "ends_at", "quota", "remaining", "created_at"),
)
PARTICIPANTS: Final = Table(
    "participants",
    (
        "id",
        "card_number",
        "nik_hash",
        "nik_masked",
        "full_name",
        "birth_date",
        "education",
        "regency_id",
        "wave_id",
        "training_balance",
        "status",
        "first_purchase_deadline",
        "registration_channel",
        "registered_by_partner_id",
        "phone_masked",
        "created_at",
        "sex",
    ),
)
PLATFORM_ACCOUNTS: Final = Table(
    "platform_accounts", ("platform_id", "platform_user_id", "participant_id", "created_at")
)
PURCHASES: Final = Table(
    "purchases",
    (
        "id",
        "platform_id",
        "participant_id",
        "course_id",
        "schedule_id",
        "platform_user_id",
        "invoice_code",
        "invoice_url",
        "amount",
        "status",
        "transaction_code",
        "redeem_code",
        "payment_token_hash",
        "otp_hash",
        "otp_attempts",
        "token_expires_at",
        "created_at",
        "authorized_at",
        "voided_at",
        "redeemed_at",
    ),
)
ATTENDANCES: Final = Table(
    "attendances",
    (
        "id",
        "purchase_id",
        "sequence",
        "score",
        "attended_at",
        "recorded_by_client_id",
        "created_at",
    ),
)
COMPLETIONS: Final = Table(
    "completions",
    (
        "id",
        "purchase_id",
        "participant_id",
        "score",
        "completed_at",
        "submitted_by_client_id",
        "created_at",
    ),
)
CERTIFICATES: Final = Table(
    "certificates",
    (
        "id",
        "number",
        "completion_id",
        "participant_id",
        "course_id",
        "status",
        "issued_at",
        "revoked_at",
        "revoke_reason",
        "status_list",
        "status_index",
    ),
)
PAYMENT_ACCOUNTS: Final = Table(
    "payment_accounts",
    (
        "id",
        "participant_id",
        "payment_partner_id",
        "kind",
        "account_reference",
        "account_number",
        "account_masked",
        "holder_name",
        "name_matched",
        "is_primary",
        "verified_at",
        "created_at",
    ),
)
INCENTIVE_INSTALLMENTS: Final = Table(
    "incentive_installments",
    ("id", "participant_id", "kind", "sequence", "amount", "due_at", "status", "created_at"),
)
DISBURSEMENT_BATCHES: Final = Table(
    "disbursement_batches",
    (
        "id",
        "code",
        "payment_partner_id",
        "item_count",
        "control_sum",
        "status",
        "created_at",
        "acknowledged_at",
        "completed_at",
    ),
)
DISBURSEMENT_ITEMS: Final = Table(
    "disbursement_items",
    (
        "id",
        "batch_id",
        "installment_id",
        "payment_account_id",
        "end_to_end_id",
        "amount",
        "status",
        "reason_code",
        "partner_reference",
        "reported_at",
        "created_at",
    ),
)
DISBURSEMENT_REPORTS: Final = Table(
    "disbursement_reports",
    (
        "id",
        "item_id",
        "status",
        "reason_code",
        "partner_reference",
        "reported_at",
        "received_at",
        "applied",
        "client_id",
    ),
)

# Rows that hang off one participant, in an order where every foreign key points backwards.
PARTICIPANT_TABLES: Final[tuple[Table, ...]] = (
    PARTICIPANTS,
    PLATFORM_ACCOUNTS,
    PURCHASES,
    ATTENDANCES,
    COMPLETIONS,
    CERTIFICATES,
    PAYMENT_ACCOUNTS,
    INCENTIVE_INSTALLMENTS,
)

ALL_TABLES: Final[tuple[Table, ...]] = (
    PROVINCES,
    REGENCIES,
    SCHEMES,
    WAVES,
    PARTNERS,
    COURSES,
    COURSE_LISTINGS,
    SCHEDULES,
    *PARTICIPANT_TABLES,
    DISBURSEMENT_BATCHES,
    DISBURSEMENT_ITEMS,
    DISBURSEMENT_REPORTS,
)
