"""statistics: the programme's figures as aggregates maintained in the same transaction

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:00:00.000000

``programme_figures`` holds, per (regency, wave, scheme, channel, sex, disability flag) and
writer slot, the registrants, recipients, people with a completion, people paid an
incentive and the sum paid. Statement-level triggers with transition tables add each
statement's difference in the same transaction as the change, so every committed figure is
exact and a read sums a few thousand rows instead of scanning millions.

- participants: a new, removed or re-keyed row (regency, wave, channel, sex, disabilities,
  status) moves its whole weight, including the person's completion and payments, from the
  old key to the new one. A purchase only debits the balance: nothing is written.
- completions: a person counts once, from the first completion (recounted from the table
  for the statement's people only).
- disbursement_items: a person counts while at least one item is PAID; the sum follows
  every item entering or leaving PAID (a reversal takes it back).
- Writers upsert into the row of slot ``pg_backend_pid() % 8`` of a key, in key order, so
  concurrent registrations of one regency rarely wait on one another and never deadlock
  on the summary.
- ``prakerja_figures_rebuild()`` recomputes the table from the raw tables: a bulk load
  disables the three tables' ``figures_*`` triggers and calls it once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 8
KEY = "regency_id, wave_id, scheme_id, channel, sex, disabled"
MEASURES = "registrants, recipients, completions, incentives_paid, incentives_paid_amount"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


# Adds the rows of ``deltas`` (KEY columns and MEASURES) to the writer's slot, in key order,
# skipping keys whose difference is nothing.
UPSERT = f"""
    INSERT INTO programme_figures AS f ({KEY}, slot, {MEASURES})
    SELECT {KEY}, pg_backend_pid() % {SLOTS}, sum(registrants), sum(recipients),
           sum(completions), sum(incentives_paid), sum(incentives_paid_amount)
      FROM deltas
     GROUP BY {KEY}
    HAVING sum(registrants) <> 0 OR sum(recipients) <> 0 OR sum(completions) <> 0
        OR sum(incentives_paid) <> 0 OR sum(incentives_paid_amount) <> 0
     ORDER BY {KEY}
    ON CONFLICT ({KEY}, slot) DO UPDATE SET
        registrants = f.registrants + excluded.registrants,
        recipients = f.recipients + excluded.recipients,
        completions = f.completions + excluded.completions,
        incentives_paid = f.incentives_paid + excluded.incentives_paid,
        incentives_paid_amount = f.incentives_paid_amount + excluded.incentives_paid_amount
"""  # noqa: S608 - only the module's constants are joined in

# A participant row's key and whole weight, with ``sign`` +1 or -1; ``p`` is the row.
PARTICIPANT_WEIGHT = """
    SELECT p.regency_id, p.wave_id, w.scheme_id, p.registration_channel AS channel, p.sex,
           cardinality(p.disabilities) > 0 AS disabled,
           {sign} AS registrants,
           {sign} * (p.status = 'RECIPIENT')::int AS recipients,
           {sign} * (EXISTS (SELECT 1 FROM completions c WHERE c.participant_id = p.id))::int
               AS completions,
           {sign} * (paid.amount IS NOT NULL)::int AS incentives_paid,
           {sign} * coalesce(paid.amount, 0) AS incentives_paid_amount
      FROM {rows} AS p
      LEFT JOIN waves w ON w.id = p.wave_id
      LEFT JOIN LATERAL (
            SELECT sum(i.amount) AS amount
              FROM incentive_installments s
              JOIN disbursement_items i ON i.installment_id = s.id AND i.status = 'PAID'
             WHERE s.participant_id = p.id
            HAVING count(*) > 0) paid ON true
"""

# What, of a participant, the figures depend on.
PARTICIPANT_KEY = ("regency_id", "wave_id", "registration_channel", "sex", "disabilities", "status")


def _participants_function(operation: str) -> str:
    if operation == "INSERT":
        # A new participant has no completion and no payment yet.
        deltas = """
            SELECT p.regency_id, p.wave_id, w.scheme_id, p.registration_channel AS channel,
                   p.sex, cardinality(p.disabilities) > 0 AS disabled, 1 AS registrants,
                   (p.status = 'RECIPIENT')::int AS recipients, 0 AS completions,
                   0 AS incentives_paid, 0::bigint AS incentives_paid_amount
              FROM new_rows p LEFT JOIN waves w ON w.id = p.wave_id"""
    elif operation == "DELETE":
        deltas = PARTICIPANT_WEIGHT.format(sign="-1", rows="old_rows")
    else:
        differs = (
            f"({', '.join('o.' + c for c in PARTICIPANT_KEY)}) IS DISTINCT FROM "
            f"({', '.join('n.' + c for c in PARTICIPANT_KEY)})"
        )
        joined = "FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE "
        changed = f"(SELECT n.* {joined}{differs})"
        before = f"(SELECT o.* {joined}{differs})"
        deltas = (
            PARTICIPANT_WEIGHT.format(sign="-1", rows=before)
            + " UNION ALL "
            + PARTICIPANT_WEIGHT.format(sign="1", rows=changed)
        )
    return f"""
        CREATE FUNCTION prakerja_figures_participants_{operation.lower()}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            WITH deltas AS ({deltas}) {UPSERT};
            RETURN NULL;
        END $$"""


def _people_function(table: str, touched: str, now_count: str) -> str:
    """For a table whose rows make a person count (once), from the statement's rows.

    ``touched`` gives (participant_id, n, amount): the statement's rows that count, +1 for
    a new and -1 for an old one; ``now_count`` the person's counting rows after the
    statement. A person counts when that is positive, and counted before when it minus the
    statement's difference was.
    """
    return f"""
        WITH touched AS ({touched}),
        people AS (
            SELECT participant_id, sum(n) AS n, sum(amount) AS amount
              FROM touched GROUP BY participant_id
            HAVING sum(n) <> 0 OR sum(amount) <> 0),
        counted AS (
            SELECT people.*, ({now_count}) AS now FROM people),
        deltas AS (
            SELECT p.regency_id, p.wave_id, w.scheme_id, p.registration_channel AS channel,
                   p.sex, cardinality(p.disabilities) > 0 AS disabled, 0 AS registrants,
                   0 AS recipients,
                   {"((c.now > 0)::int - (c.now - c.n > 0)::int)" if table == "completions" else "0"}
                       AS completions,
                   {"0" if table == "completions" else "((c.now > 0)::int - (c.now - c.n > 0)::int)"}
                       AS incentives_paid,
                   {"0::bigint" if table == "completions" else "c.amount"}
                       AS incentives_paid_amount
              FROM counted c
              JOIN participants p ON p.id = c.participant_id
              LEFT JOIN waves w ON w.id = p.wave_id)
        {UPSERT}"""  # noqa: S608 - only the module's constants are joined in


COMPLETIONS_NOW = (
    "SELECT count(*) FROM completions x WHERE x.participant_id = people.participant_id"
)
PAID_NOW = (
    "SELECT count(*) FROM incentive_installments s "
    "JOIN disbursement_items i ON i.installment_id = s.id AND i.status = 'PAID' "
    "WHERE s.participant_id = people.participant_id"
)


def _completions_function(operation: str) -> str:
    parts = []
    if operation in ("INSERT", "UPDATE"):
        parts.append("SELECT participant_id, 1 AS n, 0::bigint AS amount FROM new_rows")
    if operation in ("DELETE", "UPDATE"):
        parts.append("SELECT participant_id, -1 AS n, 0::bigint AS amount FROM old_rows")
    body = _people_function("completions", " UNION ALL ".join(parts), COMPLETIONS_NOW)
    return f"""
        CREATE FUNCTION prakerja_figures_completions_{operation.lower()}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            {body};
            RETURN NULL;
        END $$"""


def _items_function(operation: str) -> str:
    parts = []
    if operation in ("INSERT", "UPDATE"):
        parts.append(
            "SELECT s.participant_id, 1 AS n, r.amount FROM new_rows r "
            "JOIN incentive_installments s ON s.id = r.installment_id WHERE r.status = 'PAID'"
        )
    if operation in ("DELETE", "UPDATE"):
        parts.append(
            "SELECT s.participant_id, -1 AS n, -r.amount FROM old_rows r "
            "JOIN incentive_installments s ON s.id = r.installment_id WHERE r.status = 'PAID'"
        )
    body = _people_function("disbursement_items", " UNION ALL ".join(parts), PAID_NOW)
    return f"""
        CREATE FUNCTION prakerja_figures_items_{operation.lower()}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            {body};
            RETURN NULL;
        END $$"""


REBUILD = f"""
    CREATE FUNCTION prakerja_figures_rebuild() RETURNS void LANGUAGE sql AS $$
        DELETE FROM programme_figures;
        INSERT INTO programme_figures ({KEY}, slot, {MEASURES})
        SELECT p.regency_id, p.wave_id, w.scheme_id, p.registration_channel, p.sex,
               cardinality(p.disabilities) > 0, 0, count(*),
               count(*) FILTER (WHERE p.status = 'RECIPIENT'),
               count(c.participant_id), count(paid.participant_id),
               coalesce(sum(paid.amount), 0)
          FROM participants p
          LEFT JOIN waves w ON w.id = p.wave_id
          LEFT JOIN (SELECT DISTINCT participant_id FROM completions) c
                 ON c.participant_id = p.id
          LEFT JOIN (SELECT s.participant_id, sum(i.amount) AS amount
                       FROM disbursement_items i
                       JOIN incentive_installments s ON s.id = i.installment_id
                      WHERE i.status = 'PAID'
                      GROUP BY s.participant_id) paid
                 ON paid.participant_id = p.id
         GROUP BY 1, 2, 3, 4, 5, 6
         ORDER BY 1, 2, 3, 4, 5, 6;
    $$
"""  # noqa: S608 - only the module's constants are joined in

TRIGGERS = (
    ("participants", "participants"),
    ("completions", "completions"),
    ("disbursement_items", "items"),
)
TRANSITIONS = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "programme_figures",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("regency_id", sa.SmallInteger(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=True),
        sa.Column("scheme_id", sa.SmallInteger(), nullable=True),
        sa.Column("channel", _enum("registration_channel", "ONLINE", "OFFLINE"), nullable=False),
        sa.Column("sex", _enum("sex", "MALE", "FEMALE"), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("registrants", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("recipients", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("completions", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("incentives_paid", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "incentives_paid_amount", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["regency_id"], ["regencies.id"], name="fk_programme_figures_regency_id_regencies"
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["waves.id"], name="fk_programme_figures_wave_id_waves"
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["schemes.id"], name="fk_programme_figures_scheme_id_schemes"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_programme_figures"),
    )
    op.create_index(
        "uq_programme_figures_key",
        "programme_figures",
        ["regency_id", "wave_id", "scheme_id", "channel", "sex", "disabled", "slot"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    for operation in TRANSITIONS:
        op.execute(_participants_function(operation))
        op.execute(_completions_function(operation))
        op.execute(_items_function(operation))
    for table, short in TRIGGERS:
        for operation, referencing in TRANSITIONS.items():
            op.execute(
                f"CREATE TRIGGER figures_{operation.lower()} AFTER {operation} ON {table} "
                f"{referencing} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION prakerja_figures_{short}_{operation.lower()}()"
            )
    op.execute(REBUILD)
    op.execute("SELECT prakerja_figures_rebuild()")


def downgrade() -> None:
    for table, short in TRIGGERS:
        for operation in TRANSITIONS:
            op.execute(f"DROP TRIGGER figures_{operation.lower()} ON {table}")
            op.execute(f"DROP FUNCTION prakerja_figures_{short}_{operation.lower()}()")
    op.execute("DROP FUNCTION prakerja_figures_rebuild()")
    op.drop_table("programme_figures")
