"""identity: change notifications for the per-process principal cache

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 05:00:00.000000

Every gateway process caches the principal a verified bearer token stands for (see
``auth/principal_cache.py``), so a request need not query the live state of its token. What
can take a live token's rights away sends ``NOTIFY prakerja_identity`` when its transaction
commits, and every process drops its cached principals:

- a revocation (a row inserted into ``revoked_tokens``);
- a client's status, scopes, credentials or owner changing, or the client going;
- a partner's status, type, code or regency changing (the principal carries all four), or
  the partner going;
- a signing key's status changing or the key going (processes also re-read their public
  keys, so a withdrawn key stops verifying).

Statement-level triggers: one signal per statement, folded by PostgreSQL into one per
transaction and channel payload.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "prakerja_identity"
# table -> the events that can narrow or end what a live token may do
EVENTS = {
    "revoked_tokens": "INSERT OR UPDATE",
    "oauth_clients": (
        "UPDATE OF status, scopes, secret_hash, jwks, partner_id, client_id OR DELETE OR TRUNCATE"
    ),
    "partners": "UPDATE OF status, type, code, regency_id OR DELETE OR TRUNCATE",
    "signing_keys": "UPDATE OR DELETE OR TRUNCATE",
}


def upgrade() -> None:
    op.execute(
        "CREATE OR REPLACE FUNCTION prakerja_notify_identity() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    for table, events in EVENTS.items():
        op.execute(
            f"CREATE TRIGGER {table}_notify_identity AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION prakerja_notify_identity()"
        )


def downgrade() -> None:
    for table in EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_identity ON {table}")
    op.execute("DROP FUNCTION IF EXISTS prakerja_notify_identity()")
