"""json writers: the database writes a compiled node's JSON as the schema serializes it

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 15:40:00.000000

A compiled read may have PostgreSQL write a page's nodes as JSON (``resolvers/json_sql.py``);
two of the schema's serializations need a function of their own there, written to give
exactly the text the Python side gives:

- ``prakerja_isoformat(timestamptz)``: ``datetime.isoformat()`` of the UTC time asyncpg
  returns (``2026-11-30T15:40:00+00:00``, with ``.ffffff`` only when there are microseconds);
- ``prakerja_global_id(type, id)``: ``schema.common.to_global_id``, the URL-safe base64 of
  ``Type:id`` without padding.

Both are SQL functions, so the planner inlines them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION prakerja_isoformat(value timestamptz) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
            -- JSON's own text of a timestamp is ISO 8601 whatever DateStyle says, and
            -- cheaper than to_char; with microseconds Python writes all six digits.
            SELECT CASE WHEN date_trunc('second', value) = value
                        THEN to_json(value AT TIME ZONE 'UTC') #>> '{}'
                        ELSE to_char(value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
                   END || '+00:00'
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION prakerja_global_id(type_name text, id bigint) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
            SELECT rtrim(
                translate(encode(convert_to(type_name || ':' || id, 'UTF8'), 'base64'),
                          E'+/\\n', '-_'),
                '=')
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION prakerja_global_id(text, bigint)")
    op.execute("DROP FUNCTION prakerja_isoformat(timestamptz)")
