"""the whole data model

Revision ID: 0001
Revises:
Create Date: 2026-11-28 02:35:16.999958
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Extensions the catalog search needs (typo-tolerant, accent-insensitive text search).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    # unaccent() is only STABLE (it reads a dictionary); an index needs an IMMUTABLE wrapper
    # that names the dictionary explicitly.
    op.execute(
        "CREATE OR REPLACE FUNCTION prakerja_fold(value text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
        "AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, value)) $$"
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("actor_client_id", sa.String(length=64), nullable=True),
        sa.Column("actor_partner_id", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("source_ip", postgresql.INET(), nullable=True),
        sa.Column("entity_type", sa.String(length=64), nullable=True),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity_type", "entity_id"], unique=False)
    op.create_index("ix_audit_log_occurred_at", "audit_log", ["occurred_at"], unique=False)
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("response_status", sa.SmallInteger(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("client_id", "key", name="uq_idempotency_client_key"),
    )
    op.create_index(
        "ix_idempotency_expires_at", "idempotency_records", ["expires_at"], unique=False
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=True),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "SENT",
                "FAILED",
                name="outbox_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
    )
    op.create_index("ix_outbox_status_id", "notification_outbox", ["status", "id"], unique=False)
    op.create_table(
        "provinces",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("code", sa.CHAR(length=2), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provinces")),
        sa.UniqueConstraint("code", name=op.f("uq_provinces_code")),
        sa.UniqueConstraint("name", name=op.f("uq_provinces_name")),
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "revoked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
    )
    op.create_index(
        op.f("ix_revoked_tokens_expires_at"), "revoked_tokens", ["expires_at"], unique=False
    )
    op.create_table(
        "schemes",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("training_balance", sa.BigInteger(), nullable=False),
        sa.Column("incentive_amount", sa.BigInteger(), nullable=False),
        sa.Column("incentive_count", sa.SmallInteger(), nullable=False),
        sa.Column("survey_incentive_amount", sa.BigInteger(), nullable=False),
        sa.Column("survey_count", sa.SmallInteger(), nullable=False),
        sa.Column("purchase_deadline_days", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint(
            "incentive_amount >= 0 AND survey_incentive_amount >= 0",
            name=op.f("ck_schemes_amounts"),
        ),
        sa.CheckConstraint(
            "incentive_count >= 0 AND survey_count >= 0", name=op.f("ck_schemes_counts")
        ),
        sa.CheckConstraint("training_balance > 0", name=op.f("ck_schemes_balance_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schemes")),
        sa.UniqueConstraint("code", name=op.f("uq_schemes_code")),
    )
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("private_jwk_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "NEXT",
                "ACTIVE",
                "RETIRED",
                name="signing_key_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_keys_kid")),
    )
    op.create_table(
        "used_client_assertions",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_used_client_assertions")),
    )
    op.create_index(
        op.f("ix_used_client_assertions_expires_at"),
        "used_client_assertions",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "regencies",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("code", sa.CHAR(length=4), nullable=False),
        sa.Column("province_id", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "KABUPATEN",
                "KOTA",
                name="regency_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["province_id"], ["provinces.id"], name=op.f("fk_regencies_province_id_provinces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regencies")),
        sa.UniqueConstraint("code", name=op.f("uq_regencies_code")),
    )
    op.create_index(op.f("ix_regencies_province_id"), "regencies", ["province_id"], unique=False)
    op.create_table(
        "waves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.SmallInteger(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("closes_at > opens_at", name=op.f("ck_waves_window")),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["schemes.id"], name=op.f("fk_waves_scheme_id_schemes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waves")),
        sa.UniqueConstraint("number", name=op.f("uq_waves_number")),
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "PLATFORM",
                "TRAINING_PROVIDER",
                "PAYMENT_PARTNER",
                "REGIONAL_OFFICE",
                "PROGRAM_MANAGEMENT",
                name="partner_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "ACTIVE",
                "SUSPENDED",
                name="partner_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("regency_id", sa.SmallInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(type = 'REGIONAL_OFFICE') = (regency_id IS NOT NULL)",
            name=op.f("ck_partners_regency_iff_office"),
        ),
        sa.ForeignKeyConstraint(
            ["regency_id"], ["regencies.id"], name=op.f("fk_partners_regency_id_regencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("code", name=op.f("uq_partners_code")),
    )
    op.create_index(op.f("ix_partners_regency_id"), "partners", ["regency_id"], unique=False)
    op.create_index(op.f("ix_partners_type"), "partners", ["type"], unique=False)
    op.create_table(
        "courses",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column(
            "learning_method",
            sa.Enum(
                "WEBINAR",
                "SELF_PACED",
                "OFFLINE",
                name="learning_method",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("hours", sa.SmallInteger(), nullable=False),
        sa.Column("min_age", sa.SmallInteger(), nullable=True),
        sa.Column("max_age", sa.SmallInteger(), nullable=True),
        sa.Column(
            "min_education",
            sa.Enum(
                "SD",
                "SMP",
                "SMA",
                "D3",
                "S1",
                "S2",
                "S3",
                name="education",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("regency_id", sa.SmallInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "DRAFT",
                "IN_REVIEW",
                "APPROVED",
                "REJECTED",
                "WITHDRAWN",
                name="course_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(learning_method = 'OFFLINE') = (regency_id IS NOT NULL)",
            name=op.f("ck_courses_offline_has_place"),
        ),
        sa.CheckConstraint("hours > 0", name=op.f("ck_courses_hours_positive")),
        sa.CheckConstraint(
            "min_age IS NULL OR max_age IS NULL OR min_age <= max_age",
            name=op.f("ck_courses_age_range"),
        ),
        sa.CheckConstraint("price > 0", name=op.f("ck_courses_price_positive")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["partners.id"], name=op.f("fk_courses_provider_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["regency_id"], ["regencies.id"], name=op.f("fk_courses_regency_id_regencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("code", name=op.f("uq_courses_code")),
    )
    op.create_index(op.f("ix_courses_category"), "courses", ["category"], unique=False)
    op.create_index(op.f("ix_courses_provider_id"), "courses", ["provider_id"], unique=False)
    op.create_index("ix_courses_status_id", "courses", ["status", "id"], unique=False)
    op.create_table(
        "disbursement_batches",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("payment_partner_id", sa.BigInteger(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("control_sum", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "CREATED",
                "ACKNOWLEDGED",
                "COMPLETED",
                name="batch_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "item_count >= 0 AND control_sum >= 0",
            name=op.f("ck_disbursement_batches_header_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_partner_id"],
            ["partners.id"],
            name=op.f("fk_disbursement_batches_payment_partner_id_partners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disbursement_batches")),
        sa.UniqueConstraint("code", name=op.f("uq_disbursement_batches_code")),
    )
    op.create_index(
        "ix_batches_partner_id", "disbursement_batches", ["payment_partner_id", "id"], unique=False
    )
    op.create_table(
        "oauth_clients",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=256), nullable=True),
        sa.Column("jwks", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("scopes", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE",
                "DISABLED",
                name="client_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "secret_hash IS NOT NULL OR jwks IS NOT NULL",
            name=op.f("ck_oauth_clients_has_a_credential"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_oauth_clients_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oauth_clients_client_id")),
    )
    op.create_index(
        op.f("ix_oauth_clients_partner_id"), "oauth_clients", ["partner_id"], unique=False
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("card_number", sa.CHAR(length=16), nullable=False),
        sa.Column("nik_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("nik_masked", sa.CHAR(length=16), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column(
            "education",
            sa.Enum(
                "SD",
                "SMP",
                "SMA",
                "D3",
                "S1",
                "S2",
                "S3",
                name="education",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("regency_id", sa.SmallInteger(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=True),
        sa.Column("training_balance", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "REGISTERED",
                "RECIPIENT",
                "REVOKED",
                name="participant_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("first_purchase_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "registration_channel",
            sa.Enum(
                "ONLINE",
                "OFFLINE",
                name="registration_channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("registered_by_partner_id", sa.BigInteger(), nullable=True),
        sa.Column("phone_masked", sa.String(length=20), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "card_number ~ '^[0-9]{16}$'", name=op.f("ck_participants_card_number_digits")
        ),
        sa.CheckConstraint(
            "status <> 'RECIPIENT' OR (wave_id IS NOT NULL AND first_purchase_deadline IS NOT NULL)",
            name=op.f("ck_participants_recipient_in_wave"),
        ),
        sa.CheckConstraint(
            "training_balance >= 0", name=op.f("ck_participants_balance_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["regency_id"], ["regencies.id"], name=op.f("fk_participants_regency_id_regencies")
        ),
        sa.ForeignKeyConstraint(
            ["registered_by_partner_id"],
            ["partners.id"],
            name=op.f("fk_participants_registered_by_partner_id_partners"),
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["waves.id"], name=op.f("fk_participants_wave_id_waves")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        sa.UniqueConstraint("card_number", name=op.f("uq_participants_card_number")),
        sa.UniqueConstraint("nik_hash", name=op.f("uq_participants_nik_hash")),
    )
    op.create_index(
        op.f("ix_participants_regency_id"), "participants", ["regency_id"], unique=False
    )
    op.create_index(op.f("ix_participants_wave_id"), "participants", ["wave_id"], unique=False)
    op.create_table(
        "course_listings",
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("platform_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_course_listings_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["partners.id"], name=op.f("fk_course_listings_platform_id_partners")
        ),
        sa.PrimaryKeyConstraint("course_id", "platform_id", name=op.f("pk_course_listings")),
    )
    op.create_index(
        op.f("ix_course_listings_platform_id"), "course_listings", ["platform_id"], unique=False
    )
    op.create_table(
        "incentive_installments",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "TRAINING",
                "SURVEY",
                name="incentive_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("sequence", sa.SmallInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "SCHEDULED",
                "DUE",
                "IN_BATCH",
                "PAID",
                name="installment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_incentive_installments_amount_positive")),
        sa.CheckConstraint(
            "sequence >= 1", name=op.f("ck_incentive_installments_sequence_positive")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_incentive_installments_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incentive_installments")),
        sa.UniqueConstraint(
            "participant_id", "kind", "sequence", name="uq_installments_participant_kind_seq"
        ),
    )
    op.create_index(
        "ix_installments_status_due", "incentive_installments", ["status", "due_at"], unique=False
    )
    op.create_table(
        "payment_accounts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_partner_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "BANK",
                "EWALLET",
                name="payment_account_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("account_reference", sa.String(length=64), nullable=False),
        sa.Column("account_masked", sa.String(length=40), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_payment_accounts_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_partner_id"],
            ["partners.id"],
            name=op.f("fk_payment_accounts_payment_partner_id_partners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_accounts")),
    )
    op.create_index(
        op.f("ix_payment_accounts_payment_partner_id"),
        "payment_accounts",
        ["payment_partner_id"],
        unique=False,
    )
    op.create_index(
        "uq_payment_accounts_one_primary",
        "payment_accounts",
        ["participant_id"],
        unique=True,
        postgresql_where=sa.text("is_primary"),
    )
    op.create_table(
        "platform_accounts",
        sa.Column("platform_id", sa.BigInteger(), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_platform_accounts_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["partners.id"], name=op.f("fk_platform_accounts_platform_id_partners")
        ),
        sa.PrimaryKeyConstraint(
            "platform_id", "platform_user_id", name=op.f("pk_platform_accounts")
        ),
    )
    op.create_index(
        op.f("ix_platform_accounts_participant_id"),
        "platform_accounts",
        ["participant_id"],
        unique=False,
    )
    op.create_table(
        "schedules",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_schedules_window")),
        sa.CheckConstraint("quota > 0", name=op.f("ck_schedules_quota_positive")),
        sa.CheckConstraint(
            "remaining >= 0 AND remaining <= quota", name=op.f("ck_schedules_remaining_in_quota")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_schedules_course_id_courses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("code", name=op.f("uq_schedules_code")),
    )
    op.create_index(
        "ix_schedules_course_starts", "schedules", ["course_id", "starts_at", "id"], unique=False
    )
    op.create_table(
        "disbursement_items",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("installment_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_account_id", sa.BigInteger(), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "PAID",
                "FAILED",
                "REVERSED",
                "UNKNOWN",
                name="disbursement_item_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason_code", sa.String(length=16), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_disbursement_items_amount_positive")),
        sa.CheckConstraint(
            "length(end_to_end_id) <= 35", name=op.f("ck_disbursement_items_end_to_end_id_length")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["disbursement_batches.id"],
            name=op.f("fk_disbursement_items_batch_id_disbursement_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["installment_id"],
            ["incentive_installments.id"],
            name=op.f("fk_disbursement_items_installment_id_incentive_installments"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_account_id"],
            ["payment_accounts.id"],
            name=op.f("fk_disbursement_items_payment_account_id_payment_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disbursement_items")),
        sa.UniqueConstraint("end_to_end_id", name=op.f("uq_disbursement_items_end_to_end_id")),
    )
    op.create_index(
        "ix_disbursement_items_batch_id", "disbursement_items", ["batch_id", "id"], unique=False
    )
    op.create_index(
        "uq_disbursement_items_live_installment",
        "disbursement_items",
        ["installment_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('PENDING', 'PAID', 'UNKNOWN')"),
    )
    op.create_table(
        "purchases",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("platform_id", sa.BigInteger(), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("schedule_id", sa.BigInteger(), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_code", sa.String(length=64), nullable=False),
        sa.Column("invoice_url", sa.String(length=500), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING_OTP",
                "SUCCESS",
                "FAILED",
                "EXPIRED",
                "VOIDED",
                name="purchase_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("transaction_code", sa.String(length=40), nullable=True),
        sa.Column("redeem_code", sa.String(length=40), nullable=True),
        sa.Column("payment_token_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("otp_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("otp_attempts", sa.SmallInteger(), nullable=False),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("authorized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status = 'SUCCESS' OR redeemed_at IS NULL",
            name=op.f("ck_purchases_redeem_only_success"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('SUCCESS', 'VOIDED') OR (transaction_code IS NOT NULL AND redeem_code IS NOT NULL)",
            name=op.f("ck_purchases_codes_when_authorized"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_purchases_amount_positive")),
        sa.CheckConstraint("otp_attempts BETWEEN 0 AND 3", name=op.f("ck_purchases_otp_attempts")),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_purchases_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_purchases_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["partners.id"], name=op.f("fk_purchases_platform_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name=op.f("fk_purchases_schedule_id_schedules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint("payment_token_hash", name=op.f("uq_purchases_payment_token_hash")),
        sa.UniqueConstraint("platform_id", "invoice_code", name="uq_purchases_platform_invoice"),
        sa.UniqueConstraint("redeem_code", name=op.f("uq_purchases_redeem_code")),
        sa.UniqueConstraint("transaction_code", name=op.f("uq_purchases_transaction_code")),
    )
    op.create_index("ix_purchases_course_id", "purchases", ["course_id", "id"], unique=False)
    op.create_index("ix_purchases_participant", "purchases", ["participant_id"], unique=False)
    op.create_index("ix_purchases_platform_id", "purchases", ["platform_id", "id"], unique=False)
    op.create_index("ix_purchases_schedule", "purchases", ["schedule_id"], unique=False)
    op.create_table(
        "attendances",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("purchase_id", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.SmallInteger(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=True),
        sa.Column("attended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_client_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(sequence = 999) = (score IS NOT NULL) AND (score IS NULL OR score BETWEEN 0 AND 100)",
            name=op.f("ck_attendances_score_on_post_test"),
        ),
        sa.CheckConstraint(
            "sequence BETWEEN 1 AND 10 OR sequence = 999",
            name=op.f("ck_attendances_sequence_range"),
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_attendances_purchase_id_purchases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendances")),
        sa.UniqueConstraint("purchase_id", "sequence", name="uq_attendances_purchase_sequence"),
    )
    op.create_table(
        "completions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("purchase_id", sa.BigInteger(), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by_client_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_completions_score_range")),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_completions_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_completions_purchase_id_purchases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_completions")),
        sa.UniqueConstraint("purchase_id", name=op.f("uq_completions_purchase_id")),
    )
    op.create_index(
        op.f("ix_completions_participant_id"), "completions", ["participant_id"], unique=False
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("completion_id", sa.BigInteger(), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "VALID",
                "REVOKED",
                name="certificate_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(status = 'REVOKED') = (revoked_at IS NOT NULL)",
            name=op.f("ck_certificates_revoked_has_time"),
        ),
        sa.ForeignKeyConstraint(
            ["completion_id"],
            ["completions.id"],
            name=op.f("fk_certificates_completion_id_completions"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_certificates_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_certificates_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("completion_id", name=op.f("uq_certificates_completion_id")),
        sa.UniqueConstraint("number", name=op.f("uq_certificates_number")),
    )
    op.create_index(op.f("ix_certificates_course_id"), "certificates", ["course_id"], unique=False)
    op.create_index(
        op.f("ix_certificates_participant_id"), "certificates", ["participant_id"], unique=False
    )
    op.execute(
        "CREATE INDEX ix_courses_search_trgm ON courses USING gin "
        "(prakerja_fold(title || ' ' || description) gin_trgm_ops)"
    )
    op.execute(
        "CREATE INDEX ix_partners_name_trgm ON partners USING gin "
        "(prakerja_fold(name) gin_trgm_ops)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_partners_name_trgm")
    op.execute("DROP INDEX IF EXISTS ix_courses_search_trgm")
    op.drop_index(op.f("ix_certificates_participant_id"), table_name="certificates")
    op.drop_index(op.f("ix_certificates_course_id"), table_name="certificates")
    op.drop_table("certificates")
    op.drop_index(op.f("ix_completions_participant_id"), table_name="completions")
    op.drop_table("completions")
    op.drop_table("attendances")
    op.drop_index("ix_purchases_schedule", table_name="purchases")
    op.drop_index("ix_purchases_platform_id", table_name="purchases")
    op.drop_index("ix_purchases_participant", table_name="purchases")
    op.drop_index("ix_purchases_course_id", table_name="purchases")
    op.drop_table("purchases")
    op.drop_index(
        "uq_disbursement_items_live_installment",
        table_name="disbursement_items",
        postgresql_where=sa.text("status IN ('PENDING', 'PAID', 'UNKNOWN')"),
    )
    op.drop_index("ix_disbursement_items_batch_id", table_name="disbursement_items")
    op.drop_table("disbursement_items")
    op.drop_index("ix_schedules_course_starts", table_name="schedules")
    op.drop_table("schedules")
    op.drop_index(op.f("ix_platform_accounts_participant_id"), table_name="platform_accounts")
    op.drop_table("platform_accounts")
    op.drop_index(
        "uq_payment_accounts_one_primary",
        table_name="payment_accounts",
        postgresql_where=sa.text("is_primary"),
    )
    op.drop_index(op.f("ix_payment_accounts_payment_partner_id"), table_name="payment_accounts")
    op.drop_table("payment_accounts")
    op.drop_index("ix_installments_status_due", table_name="incentive_installments")
    op.drop_table("incentive_installments")
    op.drop_index(op.f("ix_course_listings_platform_id"), table_name="course_listings")
    op.drop_table("course_listings")
    op.drop_index(op.f("ix_participants_wave_id"), table_name="participants")
    op.drop_index(op.f("ix_participants_regency_id"), table_name="participants")
    op.drop_table("participants")
    op.drop_index(op.f("ix_oauth_clients_partner_id"), table_name="oauth_clients")
    op.drop_table("oauth_clients")
    op.drop_index("ix_batches_partner_id", table_name="disbursement_batches")
    op.drop_table("disbursement_batches")
    op.drop_index("ix_courses_status_id", table_name="courses")
    op.drop_index(op.f("ix_courses_provider_id"), table_name="courses")
    op.drop_index(op.f("ix_courses_category"), table_name="courses")
    op.drop_table("courses")
    op.drop_index(op.f("ix_partners_type"), table_name="partners")
    op.drop_index(op.f("ix_partners_regency_id"), table_name="partners")
    op.drop_table("partners")
    op.drop_table("waves")
    op.drop_index(op.f("ix_regencies_province_id"), table_name="regencies")
    op.drop_table("regencies")
    op.drop_index(op.f("ix_used_client_assertions_expires_at"), table_name="used_client_assertions")
    op.drop_table("used_client_assertions")
    op.drop_table("signing_keys")
    op.drop_table("schemes")
    op.drop_index(op.f("ix_revoked_tokens_expires_at"), table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    op.drop_table("provinces")
    op.drop_index("ix_outbox_status_id", table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index("ix_idempotency_expires_at", table_name="idempotency_records")
    op.drop_table("idempotency_records")
    op.drop_index("ix_audit_log_occurred_at", table_name="audit_log")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_table("audit_log")
    op.execute("DROP FUNCTION IF EXISTS prakerja_fold(text)")
