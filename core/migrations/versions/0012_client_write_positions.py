"""scale-out: each client's last commit position in the WAL, for read-your-writes

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 13:00:00.000000

- ``client_write_positions``: after a client's mutation commits, the gateway process that ran
  it records where the primary's WAL stood (``pg_current_wal_insert_lsn()``, as a bigint)
  before it replies. Every gateway process reads the row in the statement it already sends
  to the primary for each request (the rate-limit spend) and sends that client's reads to the
  replica only once the replica has replayed past it (``core/db/routing.py``).

UNLOGGED: the row is a routing hint kept for seconds, not data; it costs no WAL of its own,
and its commit does not wait for a flush. A crash of the primary empties it, and reads then
fall back to the lag bound (``read_replica_max_lag_seconds``) for writes made just before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_write_positions",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("lsn", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("client_write_positions")
