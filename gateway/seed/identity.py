"""How a national ID number (NIK) is kept: never in clear, only a keyed hash and a masked form.

The keyed hash (HMAC-SHA256 with the master key) lets the programme find a second
registration of the same person without being able to list anyone's NIK; the masked form
(province, regency and district code, and the last two digits) is what people are shown.
The gateway uses the same two functions when it registers a participant.
"""

from __future__ import annotations

import hashlib
import hmac

NIK_LENGTH = 16
_VISIBLE_HEAD = 6
_VISIBLE_TAIL = 2


def hash_nik(master_key: bytes, nik: str) -> bytes:
    """The 32-byte HMAC-SHA256 of the NIK, keyed with the master key."""
    return hmac.new(master_key, nik.encode(), hashlib.sha256).digest()


def mask_nik(nik: str) -> str:
    """``3273015505900001`` -> ``327301********01``: 16 characters, like the NIK itself."""
    if len(nik) != NIK_LENGTH or not nik.isdigit():
        raise ValueError("a NIK is 16 digits")
    hidden = "*" * (NIK_LENGTH - _VISIBLE_HEAD - _VISIBLE_TAIL)
    return nik[:_VISIBLE_HEAD] + hidden + nik[-_VISIBLE_TAIL:]
