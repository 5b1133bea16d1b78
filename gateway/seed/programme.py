"""Geography, the two incentive schemes, and the six waves (gelombang) of 2020."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from core.enums import RegencyKind
from gateway.seed import tables, timeline
from gateway.seed.loader import RowBuffer
from gateway.seed.regions import PROVINCES


@dataclass(frozen=True, slots=True)
class Scheme:
    id: int
    code: str
    name: str
    training_balance: int
    incentive_amount: int
    incentive_count: int
    survey_incentive_amount: int
    survey_count: int
    purchase_deadline_days: int


SCHEME_2020: Final = Scheme(
    1, "2020", "Skema Semi Bantuan Sosial 2020", 1_000_000, 600_000, 4, 50_000, 3, 30
)
SCHEME_2023: Final = Scheme(2, "2023", "Skema Normal 2023", 3_500_000, 600_000, 1, 50_000, 2, 15)

# The programme's own figures (mid-2020): registrants, recipients, first completers, paid.
REGISTRANTS: Final = 15_900_000
RECIPIENTS: Final = 3_000_000
COMPLETERS: Final = 849_921
PAID: Final = 610_563
# Registrants who came through a regional office (offline registration).
OFFLINE_SHARE: Final = 0.05

# Relative sizes of the six waves (the third and fourth were the largest in 2020).
WAVE_WEIGHTS: Final = (6, 10, 26, 26, 16, 16)


@dataclass(frozen=True, slots=True)
class PlacedRegency:
    id: int
    code: str
    name: str
    kind: RegencyKind
    province_code: str
    weight: float  # share of the participants who live there


@dataclass(frozen=True, slots=True)
class Wave:
    id: int
    number: int
    scheme: Scheme
    opens_at: datetime
    closes_at: datetime

    @property
    def purchase_deadline(self) -> datetime:
        return self.opens_at + timedelta(days=self.scheme.purchase_deadline_days)


def add_geography(buffer: RowBuffer) -> list[PlacedRegency]:
    """Provinces and regencies with ids in BPS code order; returns the regencies."""
    placed: list[PlacedRegency] = []
    for province_id, province in enumerate(PROVINCES, start=1):
        buffer.add(tables.PROVINCES, (province_id, province.code, province.name))
        # Within a province people are spread evenly, cities a bit denser.
        per_regency = province.population_millions / len(province.regencies)
        for regency in province.regencies:
            regency_id = len(placed) + 1
            buffer.add(
                tables.REGENCIES,
                (regency_id, regency.code, province_id, regency.name, regency.kind.value),
            )
            density = 1.4 if regency.kind is RegencyKind.KOTA else 1.0
            placed.append(
                PlacedRegency(
                    regency_id,
                    regency.code,
                    regency.name,
                    regency.kind,
                    province.code,
                    per_regency * density,
                )
            )
    return placed


def add_schemes_and_waves(buffer: RowBuffer) -> list[Wave]:
    for scheme in (SCHEME_2020, SCHEME_2023):
        buffer.add(
            tables.SCHEMES,
            (
                scheme.id,
                scheme.code,
                scheme.name,
                scheme.training_balance,
                scheme.incentive_amount,
                scheme.incentive_count,
                scheme.survey_incentive_amount,
                scheme.survey_count,
                scheme.purchase_deadline_days,
            ),
        )
    waves = []
    for number in range(1, timeline.WAVE_COUNT + 1):
        opens_at = timeline.wave_opens_at(number)
        wave = Wave(
            number, number, SCHEME_2020, opens_at, opens_at + timeline.WAVE_REGISTRATION_DAYS
        )
        # Programme management sets a wave up a week before it opens.
        created_at = opens_at - timedelta(days=7)
        buffer.add(
            tables.WAVES,
            (wave.id, wave.number, SCHEME_2020.id, wave.opens_at, wave.closes_at, created_at),
        )
        waves.append(wave)
    return waves
