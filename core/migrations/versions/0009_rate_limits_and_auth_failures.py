"""hardening: shared rate-limit buckets and failed-authentication back-off

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00.000000

- ``rate_limit_buckets``: one token bucket of query-cost points per client, refilled with
  time and updated in one atomic statement, so every gateway process shares one allowance.
- ``auth_failures``: failed client authentications at the token endpoint per client id and
  per source address, with the time until which the next attempt is refused.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_buckets",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "auth_failures",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("auth_failures")
    op.drop_table("rate_limit_buckets")
