"""trusted documents: registered GraphQL documents per client, and registered-only clients

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 12:40:00.000000

- ``trusted_documents``: a client's registered documents, by the SHA-256 of their text, with
  what was computed once at registration (operations, static cost, validated schema).
- ``oauth_clients.registered_documents_only``: such a client runs its registered documents
  and nothing else. The principal a token stands for carries the flag, so the identity
  notification (0004) now also fires when it changes: every process re-reads it at once.
- ``NOTIFY prakerja_documents`` on any change of ``trusted_documents``: every gateway
  process drops the registered documents it holds in memory.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOCUMENTS_CHANNEL = "prakerja_documents"
IDENTITY_EVENTS_BEFORE = (
    "UPDATE OF status, scopes, secret_hash, jwks, partner_id, client_id OR DELETE OR TRUNCATE"
)
IDENTITY_EVENTS_AFTER = (
    "UPDATE OF status, scopes, secret_hash, jwks, partner_id, client_id, "
    "registered_documents_only OR DELETE OR TRUNCATE"
)


def _identity_trigger(events: str) -> None:
    op.execute("DROP TRIGGER IF EXISTS oauth_clients_notify_identity ON oauth_clients")
    op.execute(
        f"CREATE TRIGGER oauth_clients_notify_identity AFTER {events} ON oauth_clients "
        "FOR EACH STATEMENT EXECUTE FUNCTION prakerja_notify_identity()"
    )


def upgrade() -> None:
    op.add_column(
        "oauth_clients",
        sa.Column(
            "registered_documents_only",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
    )
    _identity_trigger(IDENTITY_EVENTS_AFTER)
    op.create_table(
        "trusted_documents",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("client_pk", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.CHAR(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("operation_names", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("cost", sa.Integer(), nullable=False),
        sa.Column("page_variables", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("schema_sha256", sa.CHAR(length=64), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["oauth_clients.id"],
            name=op.f("fk_trusted_documents_client_pk_oauth_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_documents")),
        sa.UniqueConstraint(
            "client_pk", "sha256", name=op.f("uq_trusted_documents_client_pk_sha256")
        ),
        # The hash is the text's: a row whose hash is not its body's could never be called.
        sa.CheckConstraint(
            "sha256 = encode(sha256(convert_to(body, 'UTF8')), 'hex')",
            name=op.f("ck_trusted_documents_hash_is_the_body_s"),
        ),
    )
    op.execute(
        "CREATE OR REPLACE FUNCTION prakerja_notify_documents() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"PERFORM pg_notify('{DOCUMENTS_CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER trusted_documents_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON trusted_documents FOR EACH STATEMENT EXECUTE FUNCTION prakerja_notify_documents()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trusted_documents_notify ON trusted_documents")
    op.execute("DROP FUNCTION IF EXISTS prakerja_notify_documents()")
    op.drop_table("trusted_documents")
    _identity_trigger(IDENTITY_EVENTS_BEFORE)
    op.drop_column("oauth_clients", "registered_documents_only")
