"""card holder found by id: the card number's unique index and the wave index go

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 17:50:00.000000

A wave's selection updates half a million registrants (status, wave, balance, deadline, card
number). ``card_number`` and ``wave_id`` were indexed, so no update was HOT: each wrote a new
entry into all six indexes of ``participants``, and the random ones (the NIK and family card
hashes) missed the shared buffers. That update was half of the selection's time.

A card number is a function of the participant's id (``prakerja_card_number``: "5", an affine
bijection of the id modulo 10^14, a Luhn digit), so it needs no index of its own:

- ``ck_participants_card_number_of_id`` makes every stored card the one its id gives, and the
  bijection with the primary key makes the cards unique (the unique index is dropped);
- ``prakerja_card_holder`` inverts the bijection, so a lookup by card reads the primary key
  (``core.models.programme.card_holder``, which also compares the stored card: an input
  that is no issued card, or whose Luhn digit is wrong, matches nobody).

``ix_participants_wave_id`` served no query (a wave's people are read from
``wave_selections``; the figures are maintained). With both gone and pages kept 15% free
(``fillfactor``: new and rewritten pages; a table migrated here gains the space as it is
rewritten), the recipients' update stays on the page and writes no index entry.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MODULUS = 10**14
_MULTIPLIER = 7_919_393_123  # migration 0013's card body: (id * multiplier + shift) % modulus
_SHIFT = 31_415_926_535_897
# The multiplier's inverse modulo 10^14 (it is coprime with 10): undoes the multiplication.
_INVERSE = pow(_MULTIPLIER, -1, _MODULUS)

# Not STRICT: a STRICT function whose body is a CASE is not inlined. A card that does not
# start with "5" has no holder; numeric, since the product exceeds 64 bits.
CARD_HOLDER = f"""
CREATE FUNCTION prakerja_card_holder(card text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN card ~ '^5[0-9]{{15}}$' THEN
        ((((left(card, 15)::bigint - 5 * {_MODULUS} - {_SHIFT}) % {_MODULUS} + {_MODULUS})
          % {_MODULUS})::numeric * {_INVERSE} % {_MODULUS})::bigint
    END
$$
"""


def upgrade() -> None:
    op.execute(CARD_HOLDER)
    op.execute(
        "ALTER TABLE participants ADD CONSTRAINT ck_participants_card_number_of_id"
        " CHECK (card_number IS NULL OR card_number = prakerja_card_number(id))"
    )
    op.execute("ALTER TABLE participants DROP CONSTRAINT uq_participants_card_number")
    op.execute("DROP INDEX ix_participants_wave_id")
    op.execute("ALTER TABLE participants SET (fillfactor = 85)")


def downgrade() -> None:
    op.execute("ALTER TABLE participants RESET (fillfactor)")
    op.execute("CREATE INDEX ix_participants_wave_id ON participants (wave_id)")
    op.execute(
        "ALTER TABLE participants ADD CONSTRAINT uq_participants_card_number UNIQUE (card_number)"
    )
    op.execute("ALTER TABLE participants DROP CONSTRAINT ck_participants_card_number_of_id")
    op.execute("DROP FUNCTION prakerja_card_holder(text)")
