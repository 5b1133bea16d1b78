"""certificate row security: certificates and completions behind policies

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 14:10:00.000000

- ``certificates``: ``resolvers.tenancy.certificates_visible_to`` as a policy (the provider
  of the course, the platform that sold the training, programme management, the gateway's
  own work), and the public, which reads any certificate by its number (the token-less
  certificate routes act as ``PUBLIC``; a number is a public fact).
- ``completions``: seen with its purchase, as attendances are.
- Policies may not reach each other in a cycle (PostgreSQL refuses the whole query, whoever
  acts): 0017's purchases policy let the public see a purchase by reading certificates and
  completions, which now have policies that read purchases. That branch asks a SECURITY
  DEFINER fact function instead.
- Issuing a certificate and the installments of a first certificate need facts across
  providers: which status-list slots are taken, and whether a person holds another
  certificate. SECURITY DEFINER functions answer those facts, never the rows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ANY = "prakerja_actor() IN ('PROGRAM_MANAGEMENT', 'SYSTEM')"

_FUNCTIONS = (
    # The public sees a purchase only as part of its certificate (the public certificate
    # shows who sold and the redeem code).
    """CREATE FUNCTION prakerja_purchase_certified(purchase bigint) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS
    $$ SELECT EXISTS (SELECT 1 FROM completions d JOIN certificates cert
                              ON cert.completion_id = d.id
                       WHERE d.purchase_id = purchase) $$""",
    # Status-list slots are shared by every provider's certificates: the list being filled
    # and how full it is, then which of some drawn indexes are taken. Numbers, never rows.
    """CREATE FUNCTION prakerja_status_list_fill(OUT list_number integer, OUT used bigint)
    RETURNS SETOF record
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS
    $$ SELECT c.status_list, count(*) FROM certificates c
        WHERE c.status_list = (SELECT max(m.status_list) FROM certificates m)
        GROUP BY c.status_list $$""",
    """CREATE FUNCTION prakerja_status_slots_taken(list_number integer, candidates integer[])
    RETURNS SETOF integer
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS
    $$ SELECT c.status_index FROM certificates c
        WHERE c.status_list = list_number AND c.status_index = ANY (candidates) $$""",
    # A first certificate's installments: does the person hold a certificate other than the
    # ones being issued, from any provider?
    """CREATE FUNCTION prakerja_certified_otherwise(participant bigint, numbers text[])
    RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS
    $$ SELECT EXISTS (SELECT 1 FROM certificates c
                       WHERE c.participant_id = participant AND c.number <> ALL (numbers)) $$""",
)
_DROP_FUNCTIONS = (
    "DROP FUNCTION prakerja_certified_otherwise(bigint, text[]), "
    "prakerja_status_slots_taken(integer, integer[]), prakerja_status_list_fill(), "
    "prakerja_purchase_certified(bigint)"
)

_PURCHASES_BEFORE = f"""{_ANY}
        OR (prakerja_actor() = 'PLATFORM' AND platform_id = prakerja_partner())
        OR (prakerja_actor() = 'TRAINING_PROVIDER'
            AND course_id IN (SELECT c.id FROM courses c WHERE c.provider_id = prakerja_partner()))
        OR (prakerja_actor() = 'PUBLIC'
            AND EXISTS (SELECT 1 FROM completions d JOIN certificates cert
                                   ON cert.completion_id = d.id
                         WHERE d.purchase_id = purchases.id))"""  # noqa: S608 - the module's constants only
_PURCHASES = f"""{_ANY}
        OR (prakerja_actor() = 'PLATFORM' AND platform_id = prakerja_partner())
        OR (prakerja_actor() = 'TRAINING_PROVIDER'
            AND course_id IN (SELECT c.id FROM courses c WHERE c.provider_id = prakerja_partner()))
        OR (prakerja_actor() = 'PUBLIC' AND prakerja_purchase_certified(id))"""  # noqa: S608 - the module's constants only

POLICIES: dict[str, str] = {
    # tenancy.certificates_visible_to; the platform's branch reads its sale through the
    # completion, under the completions and purchases policies.
    "certificates": f"""{_ANY}
        OR prakerja_actor() = 'PUBLIC'
        OR (prakerja_actor() = 'TRAINING_PROVIDER'
            AND course_id IN (SELECT c.id FROM courses c WHERE c.provider_id = prakerja_partner()))
        OR (prakerja_actor() = 'PLATFORM'
            AND EXISTS (SELECT 1 FROM completions d JOIN purchases p ON p.id = d.purchase_id
                         WHERE d.id = certificates.completion_id
                           AND p.platform_id = prakerja_partner()))""",  # noqa: S608 - the module's constants only
    # A completion belongs to its purchase: whoever sees the purchase (its policy applies
    # inside the EXISTS) sees its completion.
    "completions": f"""{_ANY}
        OR EXISTS (SELECT 1 FROM purchases p WHERE p.id = completions.purchase_id)""",  # noqa: S608 - the module's constants only
}


def upgrade() -> None:
    for function in _FUNCTIONS:
        op.execute(function)
    op.execute(f"ALTER POLICY tenancy ON purchases USING ({_PURCHASES})")
    for table, rule in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenancy ON {table} USING ({rule})")


def downgrade() -> None:
    for table in POLICIES:
        op.execute(f"DROP POLICY tenancy ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER POLICY tenancy ON purchases USING ({_PURCHASES_BEFORE})")
    op.execute(_DROP_FUNCTIONS)
