"""rate_limit_buckets: unlogged

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 13:30:00.000000

Every GraphQL request spends its query cost with one statement on this table, so each read
was also a durable commit: a WAL record and a WAL flush per request, most of PostgreSQL's
work for a compiled catalog page. The buckets are worth nothing after a crash (the table
is emptied then, and an empty table means every client starts with a full bucket, which
is what the limiter does for a client it has never seen), so the table writes no WAL.
The limiter always writes on the primary; nothing reads the table on a replica (an
unlogged table cannot be read there).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE rate_limit_buckets SET UNLOGGED")


def downgrade() -> None:
    op.execute("ALTER TABLE rate_limit_buckets SET LOGGED")
