"""course search document: the folded title and description, stored

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 15:55:00.000000

The catalog's text search matches ``prakerja_fold(title || ' ' || description)`` with the
trigram operator ``<%``. The GIN index finds candidates; PostgreSQL then rechecks each one,
and with the expression it folded (unaccent, lower) the whole text of every candidate again,
about 80 µs each: a common word made a search cost 20-30 ms of database CPU. Stored as a
generated column, the folded text is computed once per write, and the recheck only compares.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FOLDED = "prakerja_fold((title::text || ' '::text) || description)"


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE courses ADD COLUMN search_document text "
        f"GENERATED ALWAYS AS ({_FOLDED}) STORED NOT NULL"
    )
    op.execute("DROP INDEX ix_courses_search_trgm")
    op.execute(
        "CREATE INDEX ix_courses_search_trgm ON courses USING gin (search_document gin_trgm_ops)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_courses_search_trgm")
    op.execute("ALTER TABLE courses DROP COLUMN search_document")
    op.execute(f"CREATE INDEX ix_courses_search_trgm ON courses USING gin ({_FOLDED} gin_trgm_ops)")
