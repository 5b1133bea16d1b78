"""certificates: suspension, status-list entries, issued credentials, credential keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00.000000

- A certificate may be SUSPENDED (reversible, with a reason) besides VALID and REVOKED.
- Every certificate has an entry (list number, index) in the Bitstring Status Lists,
  unique per list. Certificates that exist already get random free entries here.
- The credential (a VC-JOSE JWT) is kept as issued: ES256 signatures are randomized, so
  re-signing would not give the same bytes a holder already has.
- Completions keep the provider's optional evidence URL (https only).
- ``credential_keys`` holds the certificate signing keys: one ACTIVE at a time, never
  deleted (a certificate must verify for as long as it exists).

Installments need no change: ``uq_installments_participant_kind_seq`` (participant, kind,
sequence) already lets a participant's installments be created exactly once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIST_SIZE = 131_072
# Lists are filled to half, so a random free index is found at the first or second draw.
PER_LIST = LIST_SIZE // 2


def upgrade() -> None:
    op.drop_constraint(op.f("ck_certificates_certificate_status"), "certificates", type_="check")
    op.create_check_constraint(
        op.f("ck_certificates_certificate_status"),
        "certificates",
        "status IN ('VALID', 'SUSPENDED', 'REVOKED')",
    )
    op.add_column(
        "certificates", sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("certificates", sa.Column("suspend_reason", sa.Text(), nullable=True))
    op.add_column("certificates", sa.Column("status_list", sa.Integer(), nullable=True))
    op.add_column("certificates", sa.Column("status_index", sa.Integer(), nullable=True))
    op.add_column("certificates", sa.Column("credential_jwt", sa.Text(), nullable=True))
    # Existing certificates: a random permutation of them, PER_LIST to a list, each list's
    # members on distinct indexes drawn from one shuffle of the whole range.
    op.execute(
        f"""
        WITH numbered AS (
            SELECT id, row_number() OVER (ORDER BY random()) - 1 AS n FROM certificates
        ), shuffled AS (
            SELECT i, row_number() OVER (ORDER BY random()) - 1 AS r
              FROM generate_series(0, {LIST_SIZE - 1}) AS i
        )
        UPDATE certificates
           SET status_list = numbered.n / {PER_LIST} + 1, status_index = shuffled.i
          FROM numbered JOIN shuffled ON shuffled.r = numbered.n % {PER_LIST}
         WHERE certificates.id = numbered.id
        """  # noqa: S608 - only the module's integer constants are joined in
    )
    op.alter_column("certificates", "status_list", nullable=False)
    op.alter_column("certificates", "status_index", nullable=False)
    op.create_check_constraint(
        op.f("ck_certificates_suspended_has_time"),
        "certificates",
        "(status = 'SUSPENDED') = (suspended_at IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_certificates_status_entry_range"),
        "certificates",
        f"status_list >= 1 AND status_index BETWEEN 0 AND {LIST_SIZE - 1}",
    )
    op.create_unique_constraint(
        op.f("uq_certificates_status_entry"), "certificates", ["status_list", "status_index"]
    )
    op.create_index("ix_certificates_course_id_id", "certificates", ["course_id", "id"])

    op.add_column("completions", sa.Column("evidence_url", sa.String(length=500), nullable=True))
    op.create_check_constraint(
        op.f("ck_completions_evidence_https"), "completions", "evidence_url LIKE 'https://%'"
    )

    op.create_table(
        "credential_keys",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("private_jwk_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE",
                "RETIRED",
                name="credential_key_status",
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
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_credential_keys_kid")),
    )
    op.create_index(
        "uq_credential_keys_one_active",
        "credential_keys",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )


def downgrade() -> None:
    op.drop_index("uq_credential_keys_one_active", table_name="credential_keys")
    op.drop_table("credential_keys")
    op.drop_constraint(op.f("ck_completions_evidence_https"), "completions", type_="check")
    op.drop_column("completions", "evidence_url")
    op.drop_index("ix_certificates_course_id_id", table_name="certificates")
    op.drop_constraint(op.f("uq_certificates_status_entry"), "certificates", type_="unique")
    op.drop_constraint(op.f("ck_certificates_status_entry_range"), "certificates", type_="check")
    op.drop_constraint(op.f("ck_certificates_suspended_has_time"), "certificates", type_="check")
    # A suspension has no place in the older model: it reads as valid again.
    op.execute("UPDATE certificates SET status = 'VALID' WHERE status = 'SUSPENDED'")
    for column in ("credential_jwt", "status_index", "status_list", "suspend_reason"):
        op.drop_column("certificates", column)
    op.drop_column("certificates", "suspended_at")
    op.drop_constraint(op.f("ck_certificates_certificate_status"), "certificates", type_="check")
    op.create_check_constraint(
        op.f("ck_certificates_certificate_status"), "certificates", "status IN ('VALID', 'REVOKED')"
    )
