"""disbursements: item and batch states, result reports, never paid twice, verified accounts

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30 09:30:00.000000

- Items gain ``SENT`` (``PENDING -> SENT`` when the payment partner acknowledges the batch)
  and a partner reference; the live-item index that keeps an installment in at most one
  open item now counts SENT items too.
- A trigger refuses every status change outside the item's state machine, so a FAILED or
  REVERSED item never becomes PAID again (and with the live-item index, an installment
  can never have two PAID items), whatever SQL runs.
- A trigger refuses an item that pays anything but the installment's amount into its
  participant's verified account at the batch's payment partner.
- Batches: ``CREATED`` becomes ``READY``; ``PARTIAL`` is new; timestamps follow the status.
- ``disbursement_reports``: every result reported of an item.
- Payment accounts: the account number (for the paying partner only), and whether the
  inquiry's holder name matched the participant's record (a verified account must).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ITEM_STATUSES = ("PENDING", "SENT", "PAID", "FAILED", "REVERSED", "UNKNOWN")
OLD_ITEM_STATUSES = ("PENDING", "PAID", "FAILED", "REVERSED", "UNKNOWN")
BATCH_STATUSES = ("READY", "ACKNOWLEDGED", "PARTIAL", "COMPLETED")
OLD_BATCH_STATUSES = ("CREATED", "ACKNOWLEDGED", "COMPLETED")
RESULTS = ("PAID", "FAILED", "REVERSED", "UNKNOWN")


def _in(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


# (from, to) pairs an item's status may take; the same status again is always allowed.
TRANSITIONS = (
    ("PENDING", "SENT"),
    ("SENT", "PAID"),
    ("SENT", "FAILED"),
    ("SENT", "UNKNOWN"),
    ("SENT", "REVERSED"),
    ("UNKNOWN", "PAID"),
    ("UNKNOWN", "FAILED"),
    ("UNKNOWN", "REVERSED"),
    ("PAID", "REVERSED"),
)


def upgrade() -> None:
    # Batches
    op.drop_constraint(
        op.f("ck_disbursement_batches_batch_status"), "disbursement_batches", "check"
    )
    op.execute("UPDATE disbursement_batches SET status = 'READY' WHERE status = 'CREATED'")
    op.create_check_constraint(
        op.f("ck_disbursement_batches_batch_status"),
        "disbursement_batches",
        f"status IN ({_in(BATCH_STATUSES)})",
    )
    for statement in (
        "UPDATE disbursement_batches SET acknowledged_at = NULL WHERE status = 'READY'",
        "UPDATE disbursement_batches SET acknowledged_at = coalesce(acknowledged_at, created_at)"
        " WHERE status <> 'READY'",
        "UPDATE disbursement_batches SET completed_at = NULL WHERE status <> 'COMPLETED'",
        "UPDATE disbursement_batches SET completed_at = coalesce(completed_at, acknowledged_at)"
        " WHERE status = 'COMPLETED'",
    ):
        op.execute(statement)
    op.create_check_constraint(
        op.f("ck_disbursement_batches_status_timestamps"),
        "disbursement_batches",
        "(status = 'READY') = (acknowledged_at IS NULL)"
        " AND (status = 'COMPLETED') = (completed_at IS NOT NULL)",
    )

    # Items
    op.drop_constraint(
        op.f("ck_disbursement_items_disbursement_item_status"), "disbursement_items", "check"
    )
    op.create_check_constraint(
        op.f("ck_disbursement_items_disbursement_item_status"),
        "disbursement_items",
        f"status IN ({_in(ITEM_STATUSES)})",
    )
    op.add_column(
        "disbursement_items", sa.Column("partner_reference", sa.String(length=64), nullable=True)
    )
    op.execute(
        "UPDATE disbursement_items SET reason_code = 'UNSPECIFIED'"
        " WHERE status = 'FAILED' AND reason_code IS NULL"
    )
    op.create_check_constraint(
        op.f("ck_disbursement_items_failed_has_reason"),
        "disbursement_items",
        "status <> 'FAILED' OR reason_code IS NOT NULL",
    )
    op.drop_index("uq_disbursement_items_live_installment", table_name="disbursement_items")
    op.create_index(
        "uq_disbursement_items_live_installment",
        "disbursement_items",
        ["installment_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('PENDING', 'SENT', 'PAID', 'UNKNOWN')"),
    )
    op.create_index(
        "ix_disbursement_items_installment_id", "disbursement_items", ["installment_id"]
    )
    allowed = " OR ".join(
        f"(OLD.status = '{old}' AND NEW.status = '{new}')" for old, new in TRANSITIONS
    )
    op.execute(
        "CREATE FUNCTION prakerja_disbursement_item_transition() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.status = OLD.status OR {allowed} THEN RETURN NEW; END IF; "
        "RAISE EXCEPTION 'disbursement item % may not go from % to %', "
        "OLD.end_to_end_id, OLD.status, NEW.status "
        "USING ERRCODE = 'check_violation', "
        "CONSTRAINT = 'disbursement_item_transition'; "
        "END $$"
    )
    op.execute(
        "CREATE TRIGGER disbursement_items_transition BEFORE UPDATE OF status "
        "ON disbursement_items FOR EACH ROW "
        "EXECUTE FUNCTION prakerja_disbursement_item_transition()"
    )
    # Identity and money of an item never change once made.
    op.execute(
        "CREATE FUNCTION prakerja_disbursement_item_fixed() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF (NEW.batch_id, NEW.installment_id, NEW.payment_account_id, NEW.end_to_end_id,"
        " NEW.amount) IS DISTINCT FROM (OLD.batch_id, OLD.installment_id,"
        " OLD.payment_account_id, OLD.end_to_end_id, OLD.amount) THEN "
        "RAISE EXCEPTION 'disbursement item % is fixed once made', OLD.end_to_end_id "
        "USING ERRCODE = 'check_violation', CONSTRAINT = 'disbursement_item_fixed'; "
        "END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER disbursement_items_fixed BEFORE UPDATE "
        "ON disbursement_items FOR EACH ROW "
        "EXECUTE FUNCTION prakerja_disbursement_item_fixed()"
    )
    op.execute(
        "CREATE FUNCTION prakerja_disbursement_item_payable() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF NOT EXISTS ("
        " SELECT 1 FROM incentive_installments i"
        " JOIN payment_accounts a ON a.participant_id = i.participant_id"
        " JOIN disbursement_batches b ON b.payment_partner_id = a.payment_partner_id"
        " WHERE i.id = NEW.installment_id AND a.id = NEW.payment_account_id"
        " AND b.id = NEW.batch_id AND a.verified_at IS NOT NULL AND i.amount = NEW.amount"
        ") THEN "
        "RAISE EXCEPTION 'disbursement item % must pay its installment''s amount into the "
        "participant''s verified account at the batch''s payment partner', NEW.end_to_end_id "
        "USING ERRCODE = 'check_violation', CONSTRAINT = 'disbursement_item_payable'; "
        "END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER disbursement_items_payable BEFORE INSERT "
        "ON disbursement_items FOR EACH ROW "
        "EXECUTE FUNCTION prakerja_disbursement_item_payable()"
    )

    # Reports
    op.create_table(
        "disbursement_reports",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *RESULTS,
                name="disbursement_result",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason_code", sa.String(length=16), nullable=True),
        sa.Column("partner_reference", sa.String(length=64), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status <> 'FAILED' OR reason_code IS NOT NULL",
            name=op.f("ck_disbursement_reports_failed_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["disbursement_items.id"],
            name=op.f("fk_disbursement_reports_item_id_disbursement_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disbursement_reports")),
        sa.UniqueConstraint("item_id", "status", name="uq_disbursement_reports_item_status"),
    )
    # What was already reported is history too: one report per item that has a result.
    copy_reported = (
        "INSERT INTO disbursement_reports (item_id, status, reason_code, reported_at,"
        " received_at, applied)"
        " SELECT id, status, reason_code, reported_at, reported_at, true"
        " FROM disbursement_items"
        " WHERE status IN ('PAID', 'FAILED', 'REVERSED', 'UNKNOWN') AND reported_at IS NOT NULL"
    )
    op.execute(copy_reported)

    # Payment accounts
    op.add_column("payment_accounts", sa.Column("account_number", sa.String(34), nullable=True))
    # Accounts made before this revision kept no number: the partner's own reference of the
    # account is what it resolves to pay it.
    op.execute("UPDATE payment_accounts SET account_number = account_reference")
    op.alter_column("payment_accounts", "account_number", nullable=False)
    op.add_column(
        "payment_accounts",
        sa.Column("name_matched", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(
        "UPDATE payment_accounts a SET name_matched = true FROM participants p"
        " WHERE p.id = a.participant_id"
        " AND upper(regexp_replace(btrim(a.holder_name), '\\s+', ' ', 'g'))"
        " = upper(regexp_replace(btrim(p.full_name), '\\s+', ' ', 'g'))"
    )
    op.execute("UPDATE payment_accounts SET verified_at = NULL WHERE NOT name_matched")
    op.create_check_constraint(
        op.f("ck_payment_accounts_verified_name_matched"),
        "payment_accounts",
        "verified_at IS NULL OR name_matched",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_payment_accounts_verified_name_matched"), "payment_accounts", "check"
    )
    op.drop_column("payment_accounts", "name_matched")
    op.drop_column("payment_accounts", "account_number")
    op.drop_table("disbursement_reports")
    op.execute("DROP TRIGGER disbursement_items_payable ON disbursement_items")
    op.execute("DROP FUNCTION prakerja_disbursement_item_payable()")
    op.execute("DROP TRIGGER disbursement_items_fixed ON disbursement_items")
    op.execute("DROP FUNCTION prakerja_disbursement_item_fixed()")
    op.execute("DROP TRIGGER disbursement_items_transition ON disbursement_items")
    op.execute("DROP FUNCTION prakerja_disbursement_item_transition()")
    op.drop_index("ix_disbursement_items_installment_id", table_name="disbursement_items")
    op.drop_index("uq_disbursement_items_live_installment", table_name="disbursement_items")
    op.create_index(
        "uq_disbursement_items_live_installment",
        "disbursement_items",
        ["installment_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('PENDING', 'PAID', 'UNKNOWN')"),
    )
    op.drop_constraint(
        op.f("ck_disbursement_items_failed_has_reason"), "disbursement_items", "check"
    )
    op.drop_column("disbursement_items", "partner_reference")
    op.drop_constraint(
        op.f("ck_disbursement_items_disbursement_item_status"), "disbursement_items", "check"
    )
    # A sent item was pending before SENT existed.
    op.execute("UPDATE disbursement_items SET status = 'PENDING' WHERE status = 'SENT'")
    op.create_check_constraint(
        op.f("ck_disbursement_items_disbursement_item_status"),
        "disbursement_items",
        f"status IN ({_in(OLD_ITEM_STATUSES)})",
    )
    op.drop_constraint(
        op.f("ck_disbursement_batches_status_timestamps"), "disbursement_batches", "check"
    )
    op.drop_constraint(
        op.f("ck_disbursement_batches_batch_status"), "disbursement_batches", "check"
    )
    op.execute("UPDATE disbursement_batches SET status = 'CREATED' WHERE status = 'READY'")
    op.execute("UPDATE disbursement_batches SET status = 'ACKNOWLEDGED' WHERE status = 'PARTIAL'")
    op.create_check_constraint(
        op.f("ck_disbursement_batches_batch_status"),
        "disbursement_batches",
        f"status IN ({_in(OLD_BATCH_STATUSES)})",
    )
