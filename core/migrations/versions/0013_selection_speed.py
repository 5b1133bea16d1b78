"""selection speed: the card number in integer arithmetic, the webhook fan-out per statement

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 13:00:00.000000

A wave's selection makes up to 500,000 recipients in one statement; two per-row costs made
it miss its 60 s:

- ``prakerja_card_number`` ran a ``generate_series`` subquery per call (about 60 µs: 30 s
  for 500,000 cards). It is now one integer expression that the planner inlines: the same
  digits ("5", the affine bijection of the id modulo 10^14, the Luhn digit), which a test
  compares with the seed's own formula.
- ``events_fan_out`` was a row trigger: 500,000 ``registrant.selected`` events ran
  500,000 PL/pgSQL calls, each its own ``INSERT ... SELECT``. It is now a statement
  trigger over the transition table: one join of the statement's events with the enabled
  endpoints, in the same transaction as before.
- ``prakerja_figures_participants_update`` (migration 0010) joined the old and new rows
  twice and looked up each moved person's completion and payments twice (once for the old
  key, once for the new). A participants update changes neither, so it now joins once,
  looks up once and moves the same weight from the old key to the new one.
"""

from collections.abc import Sequence

from alembic import op

from core.db.migrate import revision_module

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MODULUS = 10**14


def _luhn_of_body(body: str) -> str:
    """The Luhn check digit of the 15-digit ``body`` (a bigint expression), unrolled."""
    terms = []
    for power in range(15):
        digit = f"({body} / {10**power} % 10)"
        # Counting from the right of the body, the check digit will stand to its right: the
        # digits at even powers are the doubled ones, and a doubled digit above 4 loses 9.
        terms.append(f"({digit} * 2 - 9 * ({digit} / 5))" if power % 2 == 0 else digit)
    return f"((10 - ({' + '.join(terms)}) % 10) % 10)"


# Two functions so the body is computed once per call: the outer one's argument expression
# is cheap, so the planner inlines both into the calling statement.
CARD_NUMBER_OF_BODY = f"""
CREATE FUNCTION prakerja_card_number_of_body(body bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT body::text || {_luhn_of_body("body")}::text
$$
"""
CARD_NUMBER = f"""
CREATE OR REPLACE FUNCTION prakerja_card_number(participant_id bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT prakerja_card_number_of_body(
        5 * {MODULUS} + (participant_id * 7919393123 + 31415926535897) % {MODULUS})
$$
"""
# Migration 0007's body, for the downgrade.
CARD_NUMBER_0007 = """
CREATE OR REPLACE FUNCTION prakerja_card_number(participant_id bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT body || ((10 - (
        SELECT sum(CASE WHEN (15 - p) % 2 = 0
                        THEN (CASE WHEN d > 4 THEN d * 2 - 9 ELSE d * 2 END)
                        ELSE d END)
          FROM generate_series(1, 15) AS p,
               LATERAL (SELECT substr(body, p, 1)::int AS d) AS digit
    ) % 10) % 10)::text
      FROM (SELECT '5' || lpad(((participant_id * 7919393123 + 31415926535897)
                                % 100000000000000)::text, 14, '0') AS body) AS b
$$
"""

# One delivery per (event of the statement that fans out, enabled endpoint that may and
# wants to hear of it): the rule of migration 0011's row trigger, over the whole statement.
FAN_OUT_STATEMENT = """
CREATE FUNCTION prakerja_fan_out_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (event_id, endpoint_id, subject, status)
    SELECT event.id, endpoint.id, event.subject, 'PENDING'
      FROM new_rows AS event
      JOIN webhook_endpoints AS endpoint ON endpoint.status = 'ENABLED'
      JOIN partners AS owner ON owner.id = endpoint.partner_id
     WHERE event.fan_out
       AND (endpoint.partner_id = ANY (event.audience) OR owner.type = 'PROGRAM_MANAGEMENT')
       AND (cardinality(endpoint.event_types) = 0 OR event.type = ANY (endpoint.event_types))
     ORDER BY event.id, endpoint.id;
    RETURN NULL;
END
$$
"""
FAN_OUT_ROW_0011 = """
CREATE FUNCTION prakerja_fan_out_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (event_id, endpoint_id, subject, status)
    SELECT NEW.id, endpoint.id, NEW.subject, 'PENDING'
      FROM webhook_endpoints AS endpoint
      JOIN partners AS owner ON owner.id = endpoint.partner_id
     WHERE endpoint.status = 'ENABLED'
       AND (endpoint.partner_id = ANY (NEW.audience)
            OR owner.type = 'PROGRAM_MANAGEMENT')
       AND (cardinality(endpoint.event_types) = 0
            OR NEW.type = ANY (endpoint.event_types));
    RETURN NULL;
END
$$
"""


# The figures' UPDATE trigger of migration 0010 (same key, measures and upsert), with each
# moved row's weight computed once.
FIGURES_UPDATE = """
CREATE OR REPLACE FUNCTION prakerja_figures_participants_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH moved AS (
        SELECT n.id,
               o.regency_id AS old_regency_id, o.wave_id AS old_wave_id,
               o.registration_channel AS old_channel, o.sex AS old_sex,
               cardinality(o.disabilities) > 0 AS old_disabled,
               (o.status = 'RECIPIENT')::int AS old_recipient,
               n.regency_id, n.wave_id, n.registration_channel AS channel, n.sex,
               cardinality(n.disabilities) > 0 AS disabled,
               (n.status = 'RECIPIENT')::int AS recipient
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE (o.regency_id, o.wave_id, o.registration_channel, o.sex, o.disabilities,
                o.status)
               IS DISTINCT FROM
               (n.regency_id, n.wave_id, n.registration_channel, n.sex, n.disabilities,
                n.status)
    ), weighed AS (
        SELECT m.*,
               (EXISTS (SELECT 1 FROM completions c WHERE c.participant_id = m.id))::int
                   AS completed,
               paid.amount
          FROM moved m
          LEFT JOIN LATERAL (
                SELECT sum(i.amount) AS amount
                  FROM incentive_installments s
                  JOIN disbursement_items i ON i.installment_id = s.id AND i.status = 'PAID'
                 WHERE s.participant_id = m.id
                HAVING count(*) > 0) paid ON true
    ), deltas AS (
        SELECT m.old_regency_id AS regency_id, m.old_wave_id AS wave_id, w.scheme_id,
               m.old_channel AS channel, m.old_sex AS sex, m.old_disabled AS disabled,
               -1 AS registrants, -m.old_recipient AS recipients, -m.completed AS completions,
               -(m.amount IS NOT NULL)::int AS incentives_paid,
               -coalesce(m.amount, 0) AS incentives_paid_amount
          FROM weighed m LEFT JOIN waves w ON w.id = m.old_wave_id
        UNION ALL
        SELECT m.regency_id, m.wave_id, w.scheme_id, m.channel, m.sex, m.disabled,
               1, m.recipient, m.completed, (m.amount IS NOT NULL)::int,
               coalesce(m.amount, 0)
          FROM weighed m LEFT JOIN waves w ON w.id = m.wave_id
    )
    INSERT INTO programme_figures AS f (regency_id, wave_id, scheme_id, channel, sex, disabled,
                                        slot, registrants, recipients, completions,
                                        incentives_paid, incentives_paid_amount)
    SELECT regency_id, wave_id, scheme_id, channel, sex, disabled, pg_backend_pid() % 8,
           sum(registrants), sum(recipients), sum(completions), sum(incentives_paid),
           sum(incentives_paid_amount)
      FROM deltas
     GROUP BY regency_id, wave_id, scheme_id, channel, sex, disabled
    HAVING sum(registrants) <> 0 OR sum(recipients) <> 0 OR sum(completions) <> 0
        OR sum(incentives_paid) <> 0 OR sum(incentives_paid_amount) <> 0
     ORDER BY regency_id, wave_id, scheme_id, channel, sex, disabled
    ON CONFLICT (regency_id, wave_id, scheme_id, channel, sex, disabled, slot) DO UPDATE SET
        registrants = f.registrants + excluded.registrants,
        recipients = f.recipients + excluded.recipients,
        completions = f.completions + excluded.completions,
        incentives_paid = f.incentives_paid + excluded.incentives_paid,
        incentives_paid_amount = f.incentives_paid_amount + excluded.incentives_paid_amount;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(FIGURES_UPDATE)
    op.execute(CARD_NUMBER_OF_BODY)
    op.execute(CARD_NUMBER)
    op.execute("DROP TRIGGER events_fan_out ON events")
    op.execute("DROP FUNCTION prakerja_fan_out_event()")
    op.execute(FAN_OUT_STATEMENT)
    op.execute(
        "CREATE TRIGGER events_fan_out AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION prakerja_fan_out_events()"
    )


def downgrade() -> None:
    op.execute(
        revision_module("0010_statistics.py")
        ._participants_function("UPDATE")
        .replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    )
    op.execute("DROP TRIGGER events_fan_out ON events")
    op.execute("DROP FUNCTION prakerja_fan_out_events()")
    op.execute(FAN_OUT_ROW_0011)
    op.execute(
        "CREATE TRIGGER events_fan_out AFTER INSERT ON events "
        "FOR EACH ROW WHEN (NEW.fan_out) EXECUTE FUNCTION prakerja_fan_out_event()"
    )
    op.execute(CARD_NUMBER_0007)
    op.execute("DROP FUNCTION prakerja_card_number_of_body(bigint)")
