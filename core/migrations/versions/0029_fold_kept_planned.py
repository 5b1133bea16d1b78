"""prakerja_fold in PL/pgSQL: a search stops parsing and planning it at every call

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-01 04:10:00.000000

``prakerja_fold`` was a SQL function declared IMMUTABLE around ``unaccent``, which is only
STABLE (it reads a dictionary). PostgreSQL inlines a SQL function only when its body is no
more volatile than its declaration, so this one was never inlined: every statement that
called it parsed, analysed and planned its body again, in ``fmgr_sql``. A search calls it
once, on the query text, and that was about 55 µs of its 470 µs of database CPU (the
migration's figures in bench/README.md). PL/pgSQL keeps the plan of the body for the
session, as ``prakerja_words`` already does (migration 0027).

The body is the same expression, so every stored word and index stays as it is: nothing is
recomputed.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One expression, one place: both definitions are built from it.
_FOLD = "lower(public.unaccent('public.unaccent'::regdictionary, value))"
_HEAD = "CREATE OR REPLACE FUNCTION prakerja_fold(value text) RETURNS text"


def upgrade() -> None:
    op.execute(
        f"{_HEAD} LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT"
        f" AS $$ BEGIN RETURN {_FOLD}; END $$"
    )


def downgrade() -> None:
    op.execute(f"{_HEAD} LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$ SELECT {_FOLD} $$")
