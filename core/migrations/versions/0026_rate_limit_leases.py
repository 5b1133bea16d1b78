"""rate_limit_buckets.leased: the points a spend also handed its process as a lease

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 22:00:00.000000

A client that spends far below its bucket's level need not write the shared row on every
request: a spend may take, beside its own cost, a lease of points that the process then
spends in memory for a short while (``gateway/rate_limit.py``). The row records how many
points the statement leased, so that its ``RETURNING`` can tell the process (it sees only
the new row, not the level the lease was cut from).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE rate_limit_buckets ADD COLUMN leased double precision NOT NULL DEFAULT 0"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE rate_limit_buckets DROP COLUMN leased")
