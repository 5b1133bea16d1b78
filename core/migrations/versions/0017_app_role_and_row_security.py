"""app role and row security: the gateway as prakerja_app, partner rows behind policies

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 12:50:00.000000

- ``prakerja_app``: the role the serving processes connect as. Made here when missing
  (roles are the cluster's, not the database's: several databases, and tests running in
  parallel, share one; creating it tolerates a concurrent creator). It owns nothing, may
  not create, alter, drop or truncate tables, has no BYPASSRLS, and holds only DML on the
  application's tables (the audit log: insert and read; the migration table: read).
  Operators give it a password (``ALTER ROLE prakerja_app PASSWORD ...``) or grant it to a
  login role of their own; the owner (who runs this migration) keeps DDL.
- Row-level security on the partner-owned tables, as a second line behind the WHERE clauses
  of ``resolvers/tenancy.py``: each policy is that module's rule for the table, keyed on the
  transaction-local settings ``core/db/actor.py`` makes the first statement of every
  transaction. The owner is not subject to them (no FORCE): migrations and the seed are.
- Cross-partner facts a rule needs inside one statement, or inside a trigger, come from
  SECURITY DEFINER functions that answer the fact, never the rows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "prakerja_app"

_CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        BEGIN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
                NOBYPASSRLS;
        EXCEPTION
            -- Another database's migration made it meanwhile (tests migrate many at once).
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'the role {APP_ROLE} does not exist and % may not create it',
                    current_user
                    USING HINT = 'create it once as a superuser: CREATE ROLE {APP_ROLE} LOGIN '
                                 'PASSWORD ''...''; then run the migration again';
        END;
    END IF;
END
$$
"""  # noqa: S608 - the module's constants only

# Who is acting, as the policies read it (core/db/actor.py sets these in every transaction).
_FUNCTIONS = (
    """CREATE FUNCTION prakerja_actor() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
    $$ SELECT coalesce(current_setting('prakerja.actor', true), '') $$""",
    """CREATE FUNCTION prakerja_partner() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS
    $$ SELECT nullif(current_setting('prakerja.partner_id', true), '')::bigint $$""",
    """CREATE FUNCTION prakerja_regency() RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS
    $$ SELECT nullif(current_setting('prakerja.regency_id', true), '')::integer $$""",
    # The first-purchase deadline asks whether the card holder bought anything, on any
    # platform: a fact across platforms that a platform's own policy must not let it read
    # row by row.
    """CREATE FUNCTION prakerja_has_bought(participant bigint) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS
    $$ SELECT EXISTS (SELECT 1 FROM purchases
                       WHERE participant_id = participant AND status = 'SUCCESS') $$""",
    # A provider that sends another provider's redeem code is told NOT_YOUR_COURSE (not
    # "no such code"), as before row security: the fact, never the purchase.
    """CREATE FUNCTION prakerja_redeem_code_taken(code text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS
    $$ SELECT EXISTS (SELECT 1 FROM purchases
                       WHERE redeem_code = code AND status IN ('SUCCESS', 'VOIDED')) $$""",
)

# Each policy is the rule of resolvers/tenancy.py for its table (the function named):
# programme management and the gateway's own work (SYSTEM) see every row; a partner its own.
_ANY = "prakerja_actor() IN ('PROGRAM_MANAGEMENT', 'SYSTEM')"
POLICIES: dict[str, str] = {
    # tenancy.purchases_visible_to; the public sees a purchase only as part of its
    # certificate (the public certificate shows who sold and the redeem code).
    "purchases": f"""{_ANY}
        OR (prakerja_actor() = 'PLATFORM' AND platform_id = prakerja_partner())
        OR (prakerja_actor() = 'TRAINING_PROVIDER'
            AND course_id IN (SELECT c.id FROM courses c WHERE c.provider_id = prakerja_partner()))
        OR (prakerja_actor() = 'PUBLIC'
            AND EXISTS (SELECT 1 FROM completions d JOIN certificates cert
                                   ON cert.completion_id = d.id
                         WHERE d.purchase_id = purchases.id))""",  # noqa: S608 - the module's constants only
    # An attendance belongs to its purchase: whoever sees the purchase (its policy applies
    # inside the EXISTS) sees its attendances.
    "attendances": f"""{_ANY}
        OR EXISTS (SELECT 1 FROM purchases p WHERE p.id = attendances.purchase_id)""",  # noqa: S608 - the module's constants only
    # tenancy.batches_visible_to
    "disbursement_batches": f"""{_ANY}
        OR (prakerja_actor() = 'PAYMENT_PARTNER' AND payment_partner_id = prakerja_partner())""",
    # An item is seen with its batch (the batch's policy applies inside the EXISTS).
    "disbursement_items": f"""{_ANY}
        OR EXISTS (SELECT 1 FROM disbursement_batches b
                    WHERE b.id = disbursement_items.batch_id)""",  # noqa: S608 - the module's constants only
    # tenancy.payment_accounts_visible_to
    "payment_accounts": f"""{_ANY}
        OR (prakerja_actor() = 'PAYMENT_PARTNER' AND payment_partner_id = prakerja_partner())""",
    # tenancy.participants_visible_to for regional offices, the one partner type that lists
    # registrants; every other partner finds a participant only by what it was given (a
    # card number, a purchase, a public certificate's number), which the resolvers check.
    "participants": """prakerja_actor() IN ('PROGRAM_MANAGEMENT', 'SYSTEM', 'PUBLIC', 'PLATFORM',
                                            'TRAINING_PROVIDER', 'PAYMENT_PARTNER')
        OR (prakerja_actor() = 'REGIONAL_OFFICE' AND regency_id = prakerja_regency())""",
    # tenancy.endpoints_owned_by: every partner its own endpoints, programme management too.
    "webhook_endpoints": """prakerja_actor() = 'SYSTEM' OR partner_id = prakerja_partner()""",
    "webhook_deliveries": """prakerja_actor() = 'SYSTEM'
        OR EXISTS (SELECT 1 FROM webhook_endpoints e
                    WHERE e.id = webhook_deliveries.endpoint_id)""",
    "webhook_attempts": """prakerja_actor() = 'SYSTEM'
        OR EXISTS (SELECT 1 FROM webhook_deliveries d
                    WHERE d.id = webhook_attempts.delivery_id)""",
}


def upgrade() -> None:
    op.execute(_CREATE_ROLE)
    op.execute(
        "DO $$ BEGIN EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO "
        f"{APP_ROLE}', current_database()); END $$"
    )
    # Databases made before PostgreSQL 15 let everybody create in public: not the app.
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    # The audit log is append-only for the application; readiness reads the migration table.
    op.execute(f"REVOKE UPDATE, DELETE ON audit_log FROM {APP_ROLE}")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")

    for function in _FUNCTIONS:
        op.execute(function)
    # The fan-out finds the endpoints of every partner in an event's audience, whoever's
    # transaction wrote the event: it runs as the owner, over rows it does not return.
    op.execute("ALTER FUNCTION prakerja_fan_out_events() SECURITY DEFINER")
    op.execute("ALTER FUNCTION prakerja_fan_out_events() SET search_path = pg_catalog, public")
    for table, rule in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenancy ON {table} USING ({rule})")


def downgrade() -> None:
    for table in POLICIES:
        op.execute(f"DROP POLICY tenancy ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("ALTER FUNCTION prakerja_fan_out_events() RESET search_path")
    op.execute("ALTER FUNCTION prakerja_fan_out_events() SECURITY INVOKER")
    op.execute(
        "DROP FUNCTION prakerja_redeem_code_taken(text), prakerja_has_bought(bigint), "
        "prakerja_regency(), prakerja_partner(), prakerja_actor()"
    )
    # The role is the cluster's and other databases may use it: only this database's grants go.
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
    op.execute(
        "DO $$ BEGIN EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM "
        f"{APP_ROLE}', current_database()); END $$"
    )
