"""figure totals: the programme's figures per regency and wave, kept from programme_figures

Revision ID: 0021
Revises: 0019
Create Date: 2026-11-30 15:30:00.000000

``programme_figures`` (0010) keys every count by regency, wave, scheme, channel, sex and
disability flag: at full scale some 30,000 rows, which every unfiltered statistics read
summed with ten aggregates each (most of its time in PostgreSQL). ``programme_figure_totals``
holds the same figures per (regency, wave, scheme) and writer slot, with the channel, sex and
disability counts as columns: a fourteenth of the rows. A read whose filter names no
channel, sex or disability sums it instead (``resolvers/statistics.py``).

It is kept from ``programme_figures`` itself by statement-level triggers with transition
tables, in the same transaction as the change there (so as exact, and as fresh): each
statement's difference, grouped per key, added to the writer's slot
(``pg_backend_pid() % 8``, as in 0010) in key order. ``prakerja_figures_rebuild()`` now
empties the totals too, and a TRUNCATE of the figures empties them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.db.migrate import revision_module

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 8  # 0010's, so a writer keeps to one slot in both tables
KEY = "regency_id, wave_id, scheme_id"
MEASURES = (
    "registrants",
    "registrants_online",
    "registrants_offline",
    "registrants_with_disability",
    "registrants_female",
    "registrants_male",
    "recipients",
    "completions",
    "incentives_paid",
    "incentives_paid_amount",
)

# Each total from a programme_figures row of ``deltas`` (its measures signed already).
_FROM_FIGURES = {
    "registrants": "sum(registrants)",
    "registrants_online": "coalesce(sum(registrants) FILTER (WHERE channel = 'ONLINE'), 0)",
    "registrants_offline": "coalesce(sum(registrants) FILTER (WHERE channel = 'OFFLINE'), 0)",
    "registrants_with_disability": "coalesce(sum(registrants) FILTER (WHERE disabled), 0)",
    "registrants_female": "coalesce(sum(registrants) FILTER (WHERE sex = 'FEMALE'), 0)",
    "registrants_male": "coalesce(sum(registrants) FILTER (WHERE sex = 'MALE'), 0)",
    "recipients": "sum(recipients)",
    "completions": "sum(completions)",
    "incentives_paid": "sum(incentives_paid)",
    "incentives_paid_amount": "sum(incentives_paid_amount)",
}
_SIGNED = (
    "regency_id, wave_id, scheme_id, channel, sex, disabled, {sign} * registrants AS registrants,"
    " {sign} * recipients AS recipients, {sign} * completions AS completions,"
    " {sign} * incentives_paid AS incentives_paid,"
    " {sign} * incentives_paid_amount AS incentives_paid_amount"
)
_INSERTED = f"SELECT {_SIGNED.format(sign=1)} FROM new_rows"  # noqa: S608 - only the module's constants are joined in
_REMOVED = f"SELECT {_SIGNED.format(sign=-1)} FROM old_rows"  # noqa: S608 - only the module's constants are joined in
_DELTAS = {
    "insert": _INSERTED,
    "update": f"{_INSERTED} UNION ALL {_REMOVED}",
    "delete": _REMOVED,
}
_TRANSITIONS = {
    "insert": "NEW TABLE AS new_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
}


def _function(operation: str) -> str:
    totals = ", ".join(_FROM_FIGURES[measure] for measure in MEASURES)
    changed = " OR ".join(f"{_FROM_FIGURES[measure]} <> 0" for measure in MEASURES)
    added = ",\n                ".join(f"{m} = t.{m} + excluded.{m}" for m in MEASURES)
    return f"""
        CREATE FUNCTION prakerja_figure_totals_{operation}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            WITH deltas AS ({_DELTAS[operation]})
            INSERT INTO programme_figure_totals AS t ({KEY}, slot, {", ".join(MEASURES)})
            SELECT {KEY}, pg_backend_pid() % {SLOTS}, {totals}
              FROM deltas
             GROUP BY {KEY}
            HAVING {changed}
             ORDER BY {KEY}
            ON CONFLICT ({KEY}, slot) DO UPDATE SET
                {added};
            RETURN NULL;
        END $$"""  # noqa: S608 - only the module's constants are joined in


_EMPTY_ON_TRUNCATE = """
    CREATE FUNCTION prakerja_figure_totals_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM programme_figure_totals;
        RETURN NULL;
    END $$
"""


def _rebuild_0010() -> str:
    """0010's ``prakerja_figures_rebuild()`` (the downgrade's), from migration 0010's module
    (its name starts with a digit)."""
    rebuild: str = revision_module("0010_statistics.py").REBUILD
    return rebuild.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _rebuild() -> str:
    """0010's rebuild, which now empties the totals first: after a TRUNCATE ... CASCADE of
    the model's tables (an interrupted seed), whatever they held is gone before the
    figures' INSERT adds every key again through the triggers above. That one statement
    of one backend put each key in one slot, its own: moved to slot 0, as the figures'
    rebuild writes them, so that a rebuild makes the same rows whichever backend ran it
    (the seed is deterministic to the row)."""
    emptied = "DELETE FROM programme_figures;"
    inserted = "ORDER BY 1, 2, 3, 4, 5, 6;"
    rebuild = _rebuild_0010()
    assert rebuild.count(emptied) == 1 and rebuild.count(inserted) == 1
    in_slot_0 = f"{inserted}\n        UPDATE programme_figure_totals SET slot = 0;"  # noqa: S608 - only the module's constants are joined in
    rebuild = rebuild.replace(inserted, in_slot_0, 1)
    emptied_too = f"{emptied}\n        DELETE FROM programme_figure_totals;"  # noqa: S608 - only the module's constants are joined in
    return rebuild.replace(emptied, emptied_too, 1)


def upgrade() -> None:
    op.create_table(
        "programme_figure_totals",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("regency_id", sa.SmallInteger(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=True),
        sa.Column("scheme_id", sa.SmallInteger(), nullable=True),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        *(
            sa.Column(measure, sa.Integer(), server_default=sa.text("0"), nullable=False)
            for measure in MEASURES[:-1]
        ),
        sa.Column(
            "incentives_paid_amount", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["regency_id"], ["regencies.id"], name="fk_programme_figure_totals_regency_id_regencies"
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["waves.id"], name="fk_programme_figure_totals_wave_id_waves"
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["schemes.id"], name="fk_programme_figure_totals_scheme_id_schemes"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_programme_figure_totals"),
    )
    op.create_index(
        "uq_programme_figure_totals_key",
        "programme_figure_totals",
        ["regency_id", "wave_id", "scheme_id", "slot"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    # The serving role reads it; only the triggers (as the writer of programme_figures, in
    # its transaction) write it, and 0017 granted the app DML on every table there was.
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON programme_figure_totals TO prakerja_app")
    op.execute("GRANT USAGE, SELECT ON SEQUENCE programme_figure_totals_id_seq TO prakerja_app")
    for operation in ("insert", "update", "delete"):
        op.execute(_function(operation))
        op.execute(
            f"CREATE TRIGGER figure_totals_{operation} AFTER {operation.upper()} "
            f"ON programme_figures REFERENCING {_TRANSITIONS[operation]} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION prakerja_figure_totals_{operation}()"
        )
    op.execute(_EMPTY_ON_TRUNCATE)
    op.execute(
        "CREATE TRIGGER figure_totals_truncate AFTER TRUNCATE ON programme_figures "
        "FOR EACH STATEMENT EXECUTE FUNCTION prakerja_figure_totals_truncate()"
    )
    op.execute(_rebuild())
    # The totals of the figures already there (a database migrated with its data).
    totals = ", ".join(_FROM_FIGURES[measure] for measure in MEASURES)
    op.execute(
        f"""INSERT INTO programme_figure_totals ({KEY}, slot, {", ".join(MEASURES)})
            SELECT {KEY}, 0, {totals} FROM programme_figures GROUP BY {KEY} ORDER BY {KEY}"""  # noqa: S608 - only the module's constants are joined in
    )


def downgrade() -> None:
    op.execute(_rebuild_0010())
    for operation in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER figure_totals_{operation} ON programme_figures")
        op.execute(f"DROP FUNCTION prakerja_figure_totals_{operation}()")
    op.drop_table("programme_figure_totals")
