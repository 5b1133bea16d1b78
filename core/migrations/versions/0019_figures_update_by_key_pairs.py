"""figures update by key pairs: a bulk participants update weighs its people in joins

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 15:30:00.000000

A wave's selection moves up to 500,000 registrants from their registrant key to the wave's
(``resolvers.registration.waves``). Migration 0013's ``prakerja_figures_participants_update``
weighed each moved person with a correlated subquery on completions and one on paid items
(a nested loop per person), then split every person into two delta rows and sorted the
million rows to group them. At 5 million registrants that trigger cost about 6 s of the
update's CPU (``bench/selection.py``).

The same figures, computed differently:

- the people's completions and payments are looked up in two grouped joins restricted to
  the moved people (the planner probes the indexes for a few people and hashes for many);
- the moved people are grouped by (old key, new key) first, so the old and new deltas are
  made per pair of keys (a few thousand rows), not per person.

The key, the measures, the slot and the upsert are 0010's (``UPSERT``); what a move is
(0010's ``PARTICIPANT_KEY`` changing) and what a person weighs (0010's
``PARTICIPANT_WEIGHT``: one registrant, a recipient by status, a completion if any, paid if
any item is PAID and the sum paid) are unchanged. Every other figures trigger is untouched.
"""

from collections.abc import Sequence

from alembic import op

from core.db.migrate import revision_module

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _figures_update() -> str:
    statistics = revision_module("0010_statistics.py")
    key = statistics.PARTICIPANT_KEY
    differs = (
        f"({', '.join('o.' + c for c in key)}) IS DISTINCT FROM "
        f"({', '.join('n.' + c for c in key)})"
    )
    return f"""
CREATE OR REPLACE FUNCTION prakerja_figures_participants_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH moved AS MATERIALIZED (
        SELECT n.id,
               o.regency_id AS old_regency_id, o.wave_id AS old_wave_id,
               o.registration_channel AS old_channel, o.sex AS old_sex,
               cardinality(o.disabilities) > 0 AS old_disabled,
               (o.status = 'RECIPIENT')::int AS old_recipient,
               n.regency_id, n.wave_id, n.registration_channel AS channel, n.sex,
               cardinality(n.disabilities) > 0 AS disabled,
               (n.status = 'RECIPIENT')::int AS recipient
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE {differs}
    ), completed AS (
        SELECT DISTINCT c.participant_id
          FROM completions c
         WHERE c.participant_id IN (SELECT id FROM moved)
    ), paid AS (
        SELECT s.participant_id, sum(i.amount) AS amount
          FROM incentive_installments s
          JOIN disbursement_items i ON i.installment_id = s.id AND i.status = 'PAID'
         WHERE s.participant_id IN (SELECT id FROM moved)
         GROUP BY s.participant_id
    ), pairs AS (
        SELECT m.old_regency_id, m.old_wave_id, m.old_channel, m.old_sex, m.old_disabled,
               m.regency_id, m.wave_id, m.channel, m.sex, m.disabled,
               count(*) AS people, sum(m.old_recipient) AS old_recipients,
               sum(m.recipient) AS recipients, count(c.participant_id) AS completions,
               count(p.amount) AS paid, coalesce(sum(p.amount), 0) AS amount
          FROM moved m
          LEFT JOIN completed c ON c.participant_id = m.id
          LEFT JOIN paid p ON p.participant_id = m.id
         GROUP BY m.old_regency_id, m.old_wave_id, m.old_channel, m.old_sex, m.old_disabled,
                  m.regency_id, m.wave_id, m.channel, m.sex, m.disabled
    ), deltas AS (
        SELECT g.old_regency_id AS regency_id, g.old_wave_id AS wave_id, w.scheme_id,
               g.old_channel AS channel, g.old_sex AS sex, g.old_disabled AS disabled,
               -g.people AS registrants, -g.old_recipients AS recipients,
               -g.completions AS completions, -g.paid AS incentives_paid,
               -g.amount AS incentives_paid_amount
          FROM pairs g LEFT JOIN waves w ON w.id = g.old_wave_id
        UNION ALL
        SELECT g.regency_id, g.wave_id, w.scheme_id, g.channel, g.sex, g.disabled,
               g.people, g.recipients, g.completions, g.paid, g.amount
          FROM pairs g LEFT JOIN waves w ON w.id = g.wave_id
    ) {statistics.UPSERT};
    RETURN NULL;
END $$
"""  # noqa: S608 - only migration 0010's constants are joined in


def upgrade() -> None:
    op.execute(_figures_update())


def downgrade() -> None:
    op.execute(revision_module("0013_selection_speed.py").FIGURES_UPDATE)
