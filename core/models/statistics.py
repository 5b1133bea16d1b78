"""The programme's figures, kept up to date by triggers (migration 0009)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, SmallInteger, text
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import RegistrationChannel, Sex
from core.models.base import Base, text_enum

# Writers spread over this many rows per key (by backend pid), so concurrent registrations and
# payments of one regency do not queue on one row lock; readers sum the slots.
FIGURE_SLOTS = 8


class ProgrammeFigure(Base):
    """Counts and sums per (regency, wave, scheme, channel, sex, disability) and writer slot.

    Statement-level triggers on participants, completions and disbursement_items add each
    statement's difference in the same transaction, so a committed figure is exact; no
    application code writes here. ``prakerja_figures_rebuild()`` recomputes the table
    from the raw tables (after a bulk load with the triggers disabled).
    """

    __tablename__ = "programme_figures"
    __table_args__ = (
        Index(
            "uq_programme_figures_key",
            "regency_id",
            "wave_id",
            "scheme_id",
            "channel",
            "sex",
            "disabled",
            "slot",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    regency_id: Mapped[int] = mapped_column(SmallInteger, ForeignKey("regencies.id"))
    # NULL: registered, not (yet) in a wave; the scheme is the wave's.
    wave_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("waves.id"))
    scheme_id: Mapped[int | None] = mapped_column(SmallInteger, ForeignKey("schemes.id"))
    channel: Mapped[RegistrationChannel] = mapped_column(
        text_enum(RegistrationChannel, "registration_channel")
    )
    # NULL: the seed's history recorded no sex.
    sex: Mapped[Sex | None] = mapped_column(text_enum(Sex, "sex"))
    disabled: Mapped[bool] = mapped_column(Boolean)
    slot: Mapped[int] = mapped_column(SmallInteger)
    registrants: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    recipients: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # People (not trainings, not installments), as programStatistics counts them. Counts
    # are INTEGER (a key never holds 2^31 people) because sum(integer) accumulates in
    # bigint, several times faster than sum(bigint), which accumulates in numeric.
    completions: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    incentives_paid: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    incentives_paid_amount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class ProgrammeFigureTotal(Base):
    """``programme_figures`` per (regency, wave, scheme) and writer slot, the channel, sex and
    disability counts as columns: what a read that filters on none of them sums (a
    fourteenth of the rows). Kept from ``programme_figures`` by its own statement-level
    triggers (migration 0021), in the same transaction: as exact and as fresh."""

    __tablename__ = "programme_figure_totals"
    __table_args__ = (
        Index(
            "uq_programme_figure_totals_key",
            "regency_id",
            "wave_id",
            "scheme_id",
            "slot",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    regency_id: Mapped[int] = mapped_column(SmallInteger, ForeignKey("regencies.id"))
    wave_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("waves.id"))
    scheme_id: Mapped[int | None] = mapped_column(SmallInteger, ForeignKey("schemes.id"))
    slot: Mapped[int] = mapped_column(SmallInteger)
    registrants: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    registrants_online: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    registrants_offline: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    registrants_with_disability: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    registrants_female: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    registrants_male: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    recipients: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    completions: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    incentives_paid: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    incentives_paid_amount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
