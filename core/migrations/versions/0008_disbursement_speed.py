"""disbursement speed: the never-paid-twice triggers at set speed, an index of open items

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01 10:00:00.000000

The guarantees of 0006 stay exactly as they are; only their cost changes.

- The state-machine and fixed-item triggers fired a PL/pgSQL function for every updated
  row (acknowledging 100,000 items ran 200,000 of them). They become ``WHEN`` conditions
  evaluated in the executor, so the function runs only for a row it refuses, with the
  same message and constraint name.
- The payable check ran one lookup per inserted item; it becomes one statement-level
  check over the statement's new rows (a transition table), refusing the whole statement
  if any row pays anything but the installment's amount into the participant's verified
  account at the batch's payment partner.
- A partial index of open (SENT or UNKNOWN) items per batch lets a results report tell
  whether its batch is complete without counting the batch's items.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (from, to) pairs an item's status may take; the same status again is always allowed.
# The same table as 0006's: a migration keeps its own copy of what it installs.
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
FIXED = ("batch_id", "installment_id", "payment_account_id", "end_to_end_id", "amount")


def _pairs() -> str:
    return ", ".join(f"('{old}', '{new}')" for old, new in TRANSITIONS)


def _fixed(row: str) -> str:
    return "(" + ", ".join(f"{row}.{column}" for column in FIXED) + ")"


def upgrade() -> None:
    op.execute("DROP TRIGGER disbursement_items_transition ON disbursement_items")
    op.execute("DROP TRIGGER disbursement_items_fixed ON disbursement_items")
    # The functions of 0006 raise unconditionally once called: the WHEN decides.
    op.execute(
        "CREATE OR REPLACE FUNCTION prakerja_disbursement_item_transition() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'disbursement item % may not go from % to %', "
        "OLD.end_to_end_id, OLD.status, NEW.status "
        "USING ERRCODE = 'check_violation', "
        "CONSTRAINT = 'disbursement_item_transition'; "
        "END $$"
    )
    op.execute(
        "CREATE TRIGGER disbursement_items_transition BEFORE UPDATE OF status "
        "ON disbursement_items FOR EACH ROW "
        f"WHEN (NEW.status IS DISTINCT FROM OLD.status AND (OLD.status, NEW.status) "
        f"NOT IN ({_pairs()})) "
        "EXECUTE FUNCTION prakerja_disbursement_item_transition()"
    )
    op.execute(
        "CREATE OR REPLACE FUNCTION prakerja_disbursement_item_fixed() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'disbursement item % is fixed once made', OLD.end_to_end_id "
        "USING ERRCODE = 'check_violation', CONSTRAINT = 'disbursement_item_fixed'; "
        "END $$"
    )
    op.execute(
        "CREATE TRIGGER disbursement_items_fixed BEFORE UPDATE "
        "ON disbursement_items FOR EACH ROW "
        f"WHEN ({_fixed('NEW')} IS DISTINCT FROM {_fixed('OLD')}) "
        "EXECUTE FUNCTION prakerja_disbursement_item_fixed()"
    )

    op.execute("DROP TRIGGER disbursement_items_payable ON disbursement_items")
    op.execute("DROP FUNCTION prakerja_disbursement_item_payable()")
    op.execute(
        "CREATE FUNCTION prakerja_disbursement_items_payable() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ DECLARE refused text; BEGIN "
        "SELECT n.end_to_end_id INTO refused FROM new_items n WHERE NOT EXISTS ("
        " SELECT 1 FROM incentive_installments i"
        " JOIN payment_accounts a ON a.participant_id = i.participant_id"
        " JOIN disbursement_batches b ON b.payment_partner_id = a.payment_partner_id"
        " WHERE i.id = n.installment_id AND a.id = n.payment_account_id"
        " AND b.id = n.batch_id AND a.verified_at IS NOT NULL AND i.amount = n.amount"
        ") LIMIT 1; "
        "IF FOUND THEN "
        "RAISE EXCEPTION 'disbursement item % must pay its installment''s amount into the "
        "participant''s verified account at the batch''s payment partner', refused "
        "USING ERRCODE = 'check_violation', CONSTRAINT = 'disbursement_item_payable'; "
        "END IF; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER disbursement_items_payable AFTER INSERT ON disbursement_items "
        "REFERENCING NEW TABLE AS new_items FOR EACH STATEMENT "
        "EXECUTE FUNCTION prakerja_disbursement_items_payable()"
    )

    op.create_index(
        "ix_disbursement_items_open",
        "disbursement_items",
        ["batch_id"],
        postgresql_where=sa.text("status IN ('SENT', 'UNKNOWN')"),
    )


def downgrade() -> None:
    op.drop_index("ix_disbursement_items_open", table_name="disbursement_items")
    op.execute("DROP TRIGGER disbursement_items_payable ON disbursement_items")
    op.execute("DROP FUNCTION prakerja_disbursement_items_payable()")
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

    op.execute("DROP TRIGGER disbursement_items_fixed ON disbursement_items")
    op.execute("DROP TRIGGER disbursement_items_transition ON disbursement_items")
    allowed = " OR ".join(
        f"(OLD.status = '{old}' AND NEW.status = '{new}')" for old, new in TRANSITIONS
    )
    op.execute(
        "CREATE OR REPLACE FUNCTION prakerja_disbursement_item_transition() RETURNS trigger "
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
    op.execute(
        "CREATE OR REPLACE FUNCTION prakerja_disbursement_item_fixed() RETURNS trigger "
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
