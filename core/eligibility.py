"""A course's admission rules for a participant: age and education, in one place.

The purchase flow (``resolvers/enrollment``) refuses a participant these rules do not admit,
and the seed (``gateway/seed``) draws only purchases they admit, so both read them here.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from core.enums import Education

# The programme admits adults only: registration refuses, and selection skips, anyone younger.
MIN_REGISTRATION_AGE: Final = 18
# How many people of one family card (KK) may be recipients: the programme's rule, "in one
# family card at most two NIKs may be Kartu Prakerja recipients" (announced by the
# Coordinating Minister for the Economy, 25 February 2021, for the waves from 2021 on; the
# prakerja.go.id registration conditions since then). It limits recipients, not registrants:
# any number of a family may register, and registration is refused (FAMILY_CARD_FULL) only
# once the card has this many recipients, as the official site refuses it. Selection draws
# at most this many per card, counting the card's recipients of earlier waves. The seed's
# mid-2020 waves predate the rule; the gateway applies it to every wave.
FAMILY_CARD_RECIPIENTS_MAX: Final = 2


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on ``day`` (a birthday counts from its own date)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def age_admitted(age: int, min_age: int | None, max_age: int | None) -> bool:
    """The course's age bounds, each inclusive and optional."""
    return (min_age is None or age >= min_age) and (max_age is None or age <= max_age)


def education_admitted(education: Education, min_education: Education | None) -> bool:
    """A course may ask for a minimum education; a higher one is admitted too."""
    return min_education is None or education.rank >= min_education.rank
