"""Identifiers that look random but are unique by construction.

Each code is a bijection of a row id (a multiply-and-xor permutation), so uniqueness never
depends on luck, and no code reveals how many rows exist.
"""

from __future__ import annotations

from datetime import datetime

# Crockford's base 32: no I, L, O or U, so codes read aloud or typed by hand stay unambiguous.
_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def permute(value: int, bits: int, multiplier: int, mask: int) -> int:
    """A bijection of [0, 2**bits): an odd multiplier is invertible modulo a power of two."""
    modulus = 1 << bits
    return ((value * (multiplier | 1)) % modulus) ^ (mask % modulus)


def base32(value: int, width: int) -> str:
    characters = []
    for _ in range(width):
        value, digit = divmod(value, 32)
        characters.append(_BASE32[digit])
    return "".join(reversed(characters))


def luhn_digit(digits: str) -> str:
    """The Luhn check digit that makes ``digits + result`` pass the Luhn test."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = int(character)
        if position % 2 == 0:  # doubled: these end up at odd positions once the digit is added
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


def card_number(participant_id: int) -> str:
    """16 digits: "5", 14 digits permuted from the id (an affine bijection mod 10**14), Luhn."""
    modulus = 10**14
    # The multiplier is coprime with 10, so the map is a permutation of [0, 10**14).
    body = (participant_id * 7_919_393_123 + 31_415_926_535_897) % modulus
    digits = f"5{body:014d}"
    return digits + luhn_digit(digits)


def platform_user_id(prefix: str, participant_id: int, platform_id: int) -> str:
    """A platform's own user id for a participant: unique per platform, opaque."""
    return f"{prefix}_{permute(participant_id, 40, 0x9E3779B97F, platform_id * 0x5DEECE66D):010x}"


def invoice_code(authorized_at: datetime, serial: int) -> str:
    """The platform's invoice number; ``serial`` counts that platform's invoices."""
    return f"INV/{authorized_at:%Y%m%d}/{serial:07d}"


def transaction_code(authorized_at: datetime, purchase_id: int) -> str:
    return f"TRX-{authorized_at:%y%m%d}-{base32(permute(purchase_id, 40, 0xC2B2AE3D27, 0x1F), 8)}"


def redeem_code(purchase_id: int) -> str:
    """What the participant shows the provider: 10 characters in two groups of five."""
    code = base32(permute(purchase_id, 50, 0x27D4EB2F165667C5, 0x165667B19E37), 10)
    return f"{code[:5]}-{code[5:]}"


def account_reference(account_id: int) -> str:
    """The payment partner's opaque handle of an account."""
    return f"acct_{permute(account_id, 60, 0xD6E8FEB86659FD93, 0xA0761D6478BD642F):015x}"


def account_number(account_id: int, masked: str) -> str:
    """The full number behind a masked one: the hidden digits permuted from the account id."""
    hidden = f"{permute(account_id, 40, 0x2545F4914F, 0x9E3779B9):013d}"
    digits = iter(hidden[-masked.count("*") :])
    return "".join(next(digits) if character == "*" else character for character in masked)


def partner_reference(item_id: int) -> str:
    """The payment partner's own reference of a transfer it made."""
    return f"TRF{base32(permute(item_id, 50, 0x5851F42D4C957F2D, 0x14057B7EF767), 10)}"


def certificate_number(certificate_id: int) -> str:
    return f"CERT-2020-{certificate_id:07d}"


def end_to_end_id(item_id: int) -> str:
    """Stable across retries, at most 35 characters (ISO 20022's limit)."""
    return f"PRK2020{item_id:012d}"
