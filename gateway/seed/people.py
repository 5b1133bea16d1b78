"""Making one Indonesian person: name, sex, birth date, education, home, NIK and phone."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from core.enums import Education
from gateway.seed import names, timeline
from gateway.seed.programme import PlacedRegency

# (youngest, oldest, weight): the programme drew mostly young adults.
_AGE_BANDS: Final = ((18, 24, 30), (25, 34, 38), (35, 44, 18), (45, 54, 10), (55, 64, 4))
_EDUCATIONS: Final = tuple(Education)
_EDUCATION_WEIGHTS: Final = (90, 150, 480, 80, 180, 17, 3)  # SD .. S3, per mille
# The youngest age at which each education is usually finished.
_YOUNGEST_FOR: Final = {Education.D3: 21, Education.S1: 22, Education.S2: 24, Education.S3: 28}
# People registering at an office often have no phone of their own.
_OFFLINE_WITHOUT_PHONE: Final = 0.3


@dataclass(frozen=True, slots=True)
class Person:
    full_name: str
    female: bool
    birth_date: date
    education: Education
    regency: PlacedRegency
    nik: str
    phone_masked: str | None


class PeopleFactory:
    def __init__(self, rng: random.Random, regencies: list[PlacedRegency]) -> None:
        self._rng = rng
        self._regencies = regencies
        self._regency_weights = list(itertools.accumulate(regency.weight for regency in regencies))
        self._ages = [band[:2] for band in _AGE_BANDS]
        self._age_weights = list(itertools.accumulate(band[2] for band in _AGE_BANDS))
        self._education_weights = list(itertools.accumulate(_EDUCATION_WEIGHTS))
        self._styles: dict[str, tuple[list[names.NameStyle], list[int]]] = {}
        for regency in regencies:
            code = regency.province_code
            if code not in self._styles:
                pairs = names.STYLES_BY_PROVINCE.get(code, names.DEFAULT_STYLES)
                styles = [style for style, _ in pairs]
                self._styles[code] = (styles, list(itertools.accumulate(w for _, w in pairs)))
        # NIKs issued so far per first 12 digits: the last 4 digits number people alike.
        self._nik_serials: dict[str, int] = {}

    def make(self, *, offline: bool) -> Person:
        rng = self._rng
        regency = rng.choices(self._regencies, cum_weights=self._regency_weights)[0]
        female = rng.random() < 0.5
        youngest, oldest = rng.choices(self._ages, cum_weights=self._age_weights)[0]
        age = rng.randint(youngest, oldest)
        # Someone `age` years old on the reference day was born within this year-long window.
        latest_birth = timeline.AGE_REFERENCE.replace(year=timeline.AGE_REFERENCE.year - age)
        birth_date = latest_birth - timedelta(days=rng.randrange(365))
        education = rng.choices(_EDUCATIONS, cum_weights=self._education_weights)[0]
        while age < _YOUNGEST_FOR.get(education, 0):
            education = _EDUCATIONS[education.rank - 1]
        phone = None
        if not (offline and rng.random() < _OFFLINE_WITHOUT_PHONE):
            phone = f"0{rng.choice(names.MOBILE_PREFIXES)}****{rng.randrange(10_000):04d}"
        return Person(
            full_name=self._name(regency.province_code, female),
            female=female,
            birth_date=birth_date,
            education=education,
            regency=regency,
            nik=self._nik(regency, birth_date, female),
            phone_masked=phone,
        )

    def _name(self, province_code: str, female: bool) -> str:
        rng = self._rng
        styles, cum_weights = self._styles[province_code]
        style = rng.choices(styles, cum_weights=cum_weights)[0]
        given = rng.choice(style.female if female else style.male)
        titles = style.female_titles if female else style.male_titles
        if titles:
            return f"{rng.choice(titles)} {given}"
        families = (style.family_female if female else style.family_male) or style.family_male
        if rng.random() < 0.15:
            # A second given name, as in "Dwi Wahyu Santoso".
            second = rng.choice(style.female if female else style.male)
            if second != given:
                given = f"{given} {second}"
        return f"{given} {rng.choice(families)}"

    def _nik(self, regency: PlacedRegency, birth_date: date, female: bool) -> str:
        """Regency code, district, birth date (day + 40 for women), and a 4-digit serial."""
        district = self._rng.randint(1, 20)
        day = birth_date.day + (40 if female else 0)
        head = f"{regency.code}{district:02d}{day:02d}{birth_date:%m%y}"
        serial = self._nik_serials.get(head, 0) + 1
        self._nik_serials[head] = serial
        return f"{head}{serial:04d}"
