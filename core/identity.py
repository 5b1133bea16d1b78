"""How a national ID number (NIK) is kept and read: never stored in clear.

The keyed hash (HMAC-SHA256 with the master key) lets the programme find a second
registration of the same person without being able to list anyone's NIK; the masked form
(province, regency and district code, and the last two digits) is what people are shown.
The seed and the gateway's registration use these same functions; a family card number
(KK, also 16 digits) is hashed the same way, under its own purpose so the two never match.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

NIK_LENGTH = 16
_VISIBLE_HEAD = 6
_VISIBLE_TAIL = 2
# Women's NIKs carry the day of birth plus 40.
FEMALE_DAY_OFFSET = 40
# Separates the family card's hash from the NIK's: equal digits must not give equal hashes.
_KK_PURPOSE = b"kk:"


def hash_nik(master_key: bytes, nik: str) -> bytes:
    """The 32-byte HMAC-SHA256 of the NIK, keyed with the master key."""
    return hmac.new(master_key, nik.encode(), hashlib.sha256).digest()


def hash_family_card(master_key: bytes, kk: str) -> bytes:
    """The family card number's keyed hash (the NIK's function, with its own purpose)."""
    return hash_nik(master_key, _KK_PURPOSE.decode() + kk)


def mask_nik(nik: str) -> str:
    """``3273015505900001`` -> ``327301********01``: 16 characters, like the NIK itself."""
    if len(nik) != NIK_LENGTH or not nik.isdigit():
        raise ValueError("a NIK is 16 digits")
    hidden = "*" * (NIK_LENGTH - _VISIBLE_HEAD - _VISIBLE_TAIL)
    return nik[:_VISIBLE_HEAD] + hidden + nik[-_VISIBLE_TAIL:]


@dataclass(frozen=True, slots=True)
class NikFacts:
    """What a NIK's digits say: regency code (4), birth date and sex."""

    regency_code: str
    birth_date: date
    female: bool


def read_nik(nik: str) -> NikFacts | None:
    """The facts encoded in a structurally valid NIK, or None when it cannot be one.

    Digits 1-4 regency, 5-6 district, 7-8 day of birth (+40 for women), 9-10 month, 11-12
    the year's last two digits, 13-16 a serial. The century is not encoded: a two-digit year
    is read as the latest year not after ``today``'s (callers compare with the stated date).
    """
    if len(nik) != NIK_LENGTH or not nik.isascii() or not nik.isdigit():
        return None
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    female = day > FEMALE_DAY_OFFSET
    if female:
        day -= FEMALE_DAY_OFFSET
    if nik[12:] == "0000" or nik[4:6] == "00":
        return None
    for century in (2000, 1900):
        try:
            born = date(century + year, month, day)
        except ValueError:
            return None
        if born <= date.today():
            return NikFacts(regency_code=nik[:4], birth_date=born, female=female)
    return None
