"""catalog: change notifications for the response cache, keyset indexes

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28 04:10:00.000000

Every statement that changes a row the catalog reads from (courses, schedules, course
listings, partners) sends ``NOTIFY prakerja_catalog`` when its transaction commits; each
gateway process LISTENs and drops its catalog response cache. A statement-level trigger
sends one notification per statement, and PostgreSQL folds identical notifications of one
transaction into one, so a bulk write costs one signal.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "prakerja_catalog"
TABLES = ("courses", "schedules", "course_listings", "partners")


def upgrade() -> None:
    op.execute(
        "CREATE OR REPLACE FUNCTION prakerja_notify_catalog() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify_catalog "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION prakerja_notify_catalog()"
        )
    # Keyset orders of the catalog: by price and by newest, among approved courses.
    op.execute(
        "CREATE INDEX ix_courses_approved_price ON courses (price, id) WHERE status = 'APPROVED'"
    )
    op.execute(
        "CREATE INDEX ix_courses_approved_created ON courses (created_at, id) "
        "WHERE status = 'APPROVED'"
    )
    # Offline courses by place (province and regency filters).
    op.execute("CREATE INDEX ix_courses_regency_id ON courses (regency_id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_courses_regency_id")
    op.execute("DROP INDEX IF EXISTS ix_courses_approved_created")
    op.execute("DROP INDEX IF EXISTS ix_courses_approved_price")
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_catalog ON {table}")
    op.execute("DROP FUNCTION IF EXISTS prakerja_notify_catalog()")
