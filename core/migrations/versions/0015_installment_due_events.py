"""installment.due: which installments still owe their event, and at most one event each

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 12:45:00.000000

- ``incentive_installments.due_event_pending``: set when the live completion path creates
  an installment; cleared, in the same statement that writes its ``installment.due`` event,
  once its due date has passed. Installments written before (and by the seeds) stay false:
  nothing is announced for them. A partial index keeps the worker's look-up to the few
  installments still pending.
- ``uq_events_installment_due``: one ``installment.due`` event per installment (its subject),
  whatever runs the announcement and however often.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "incentive_installments",
        sa.Column(
            "due_event_pending", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.create_index(
        "ix_installments_due_event_pending",
        "incentive_installments",
        ["due_at", "id"],
        postgresql_where=sa.text("due_event_pending"),
    )
    op.create_index(
        "uq_events_installment_due",
        "events",
        ["subject"],
        unique=True,
        postgresql_where=sa.text("type = 'installment.due'"),
    )


def downgrade() -> None:
    op.drop_index("uq_events_installment_due", table_name="events")
    op.drop_index("ix_installments_due_event_pending", table_name="incentive_installments")
    op.drop_column("incentive_installments", "due_event_pending")
