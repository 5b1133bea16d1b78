"""registration: offline registration by regional offices, waves with quotas, selection

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00.000000

- Participants gain what an office records at registration: sex, the family card (KK) as a
  keyed hash like the NIK, address, employment status, disability categories (Law 8/2016,
  several possible) and the accommodation needed for training. The card number becomes
  optional: it is issued at selection (``prakerja_card_number``, the seed's formula).
- ``registration_consents``: how a person registered offline consented, by which office user.
- Waves gain a quota, reserved shares (disability, offline), the recorded selection seed and
  the selection's summary; ``wave_selections`` explains each person considered in a draw.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DISABILITIES = ("PHYSICAL", "INTELLECTUAL", "MENTAL", "SENSORY")


def _in(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


# The seed's card number (gateway/seed/codes.card_number): "5", 14 digits of an affine
# bijection of the id modulo 10^14, and a Luhn check digit. A bijection, so unique by
# construction; tests check that both give the same digits.
CARD_NUMBER_FUNCTION = """
CREATE FUNCTION prakerja_card_number(participant_id bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT body || ((10 - (
        SELECT sum(CASE WHEN (15 - p) % 2 = 0
                        THEN (CASE WHEN d > 4 THEN d * 2 - 9 ELSE d * 2 END)
                        ELSE d END)
          FROM generate_series(1, 15) AS p,
               LATERAL (SELECT substr(body, p, 1)::int AS d) AS digit
    ) % 10) % 10)::text
      FROM (SELECT '5' || lpad(((participant_id * 7919393123 + 31415926535897)
                                % 100000000000000)::text, 14, '0') AS body) AS b
$$
"""


def upgrade() -> None:
    op.execute(CARD_NUMBER_FUNCTION)
    op.alter_column("participants", "card_number", existing_type=sa.CHAR(16), nullable=True)
    op.add_column("participants", sa.Column("sex", _enum("sex", "MALE", "FEMALE"), nullable=True))
    op.add_column("participants", sa.Column("kk_hash", sa.LargeBinary(32), nullable=True))
    op.add_column("participants", sa.Column("address", sa.String(300), nullable=True))
    op.add_column(
        "participants",
        sa.Column(
            "employment_status",
            _enum("employment_status", "UNEMPLOYED", "LAID_OFF", "INFORMAL", "EMPLOYED", "STUDENT"),
            nullable=True,
        ),
    )
    op.add_column(
        "participants",
        sa.Column(
            "disabilities",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )
    op.add_column("participants", sa.Column("accommodation", sa.String(500), nullable=True))
    op.create_index(op.f("ix_participants_kk_hash"), "participants", ["kk_hash"])
    op.create_check_constraint(
        op.f("ck_participants_recipient_has_card"),
        "participants",
        "status <> 'RECIPIENT' OR card_number IS NOT NULL",
    )
    op.create_check_constraint(
        op.f("ck_participants_disabilities"),
        "participants",
        f"disabilities <@ ARRAY[{_in(DISABILITIES)}]::text[]",
    )
    op.create_check_constraint(
        op.f("ck_participants_offline_by_office"),
        "participants",
        "(registration_channel = 'OFFLINE') = (registered_by_partner_id IS NOT NULL)",
    )

    op.create_table(
        "registration_consents",
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "method",
            _enum("consent_method", "SIGNED_FORM", "THUMBPRINT", "READ_ALOUD_WITNESSED"),
            nullable=False,
        ),
        sa.Column("reference", sa.String(64), nullable=True),
        sa.Column("witness", sa.String(200), nullable=True),
        sa.Column("office_user", sa.String(100), nullable=False),
        sa.Column("office_id", sa.BigInteger(), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "method <> 'SIGNED_FORM' OR reference IS NOT NULL",
            name=op.f("ck_registration_consents_signed_form_reference"),
        ),
        sa.CheckConstraint(
            "method <> 'READ_ALOUD_WITNESSED' OR witness IS NOT NULL",
            name=op.f("ck_registration_consents_witnessed"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_registration_consents_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["partners.id"], name=op.f("fk_registration_consents_office_id_partners")
        ),
        sa.PrimaryKeyConstraint("participant_id", name=op.f("pk_registration_consents")),
    )
    op.create_index(
        op.f("ix_registration_consents_office_id"), "registration_consents", ["office_id"]
    )

    op.add_column("waves", sa.Column("quota", sa.Integer(), nullable=True))
    for column in ("reserved_disability_share", "reserved_offline_share"):
        op.add_column(
            "waves",
            sa.Column(column, sa.Numeric(4, 3), server_default=sa.text("0"), nullable=False),
        )
    op.add_column(
        "waves",
        sa.Column("selection_seed", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("waves", sa.Column("selected_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "waves",
        sa.Column("selection_summary", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_check_constraint(
        op.f("ck_waves_quota_positive"), "waves", "quota IS NULL OR quota > 0"
    )
    op.create_check_constraint(
        op.f("ck_waves_reserved_shares"),
        "waves",
        "reserved_disability_share >= 0 AND reserved_offline_share >= 0"
        " AND reserved_disability_share + reserved_offline_share <= 1",
    )
    op.create_check_constraint(
        op.f("ck_waves_selected"), "waves", "(selected_at IS NULL) = (selection_summary IS NULL)"
    )

    op.create_table(
        "wave_selections",
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "outcome", _enum("selection_outcome", "SELECTED", "FAMILY_CARD_LIMIT"), nullable=False
        ),
        sa.Column(
            "pool", _enum("selection_pool", "DISABILITY", "OFFLINE", "GENERAL"), nullable=True
        ),
        sa.Column("draw_key", sa.BigInteger(), nullable=False),
        sa.Column("family_ahead", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint(
            "(outcome = 'SELECTED') = (pool IS NOT NULL)",
            name=op.f("ck_wave_selections_pool_iff_selected"),
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["waves.id"], name=op.f("fk_wave_selections_wave_id_waves")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_wave_selections_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("wave_id", "participant_id", name=op.f("pk_wave_selections")),
    )
    op.create_index(
        op.f("ix_wave_selections_participant_id"), "wave_selections", ["participant_id"]
    )


def downgrade() -> None:
    op.drop_table("wave_selections")
    for name in ("selected", "reserved_shares", "quota_positive"):
        op.drop_constraint(op.f(f"ck_waves_{name}"), "waves", type_="check")
    for column in (
        "selection_summary",
        "selected_at",
        "selection_seed",
        "reserved_offline_share",
        "reserved_disability_share",
        "quota",
    ):
        op.drop_column("waves", column)
    op.drop_table("registration_consents")
    for name in ("offline_by_office", "disabilities", "recipient_has_card"):
        op.drop_constraint(op.f(f"ck_participants_{name}"), "participants", type_="check")
    op.drop_index(op.f("ix_participants_kk_hash"), table_name="participants")
    for column in (
        "accommodation",
        "disabilities",
        "employment_status",
        "address",
        "kk_hash",
        "sex",
    ):
        op.drop_column("participants", column)
    op.alter_column("participants", "card_number", existing_type=sa.CHAR(16), nullable=False)
    op.execute("DROP FUNCTION prakerja_card_number(bigint)")
