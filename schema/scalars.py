"""Custom scalars: Rupiah amounts that never overflow GraphQL's 32-bit Int."""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from core.errors import BadInput

# Annotate money fields with this type; the schema maps it to the scalar below.
Rupiah = NewType("Rupiah", int)

MAX_RUPIAH_DIGITS = 18  # fits a PostgreSQL BIGINT with room to spare


def _parse_rupiah(value: object) -> Rupiah:
    if isinstance(value, bool):
        raise BadInput("Rupiah must be a whole number")
    if isinstance(value, int):
        return Rupiah(value)
    if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit():
        if len(value.lstrip("-")) > MAX_RUPIAH_DIGITS:
            raise BadInput("Rupiah amount is too large")
        return Rupiah(int(value))
    raise BadInput("Rupiah must be a whole number, as a string of digits or an integer")


# Sums of a disbursement batch exceed 2^31, so money travels as a string of digits on the
# wire (as JSON APIs for currencies do) and as an int in Python, never as a float.
RUPIAH_SCALAR: ScalarDefinition = strawberry.scalar(
    name="Rupiah",
    description=(
        "An amount of Indonesian Rupiah: a whole number serialized as a decimal string "
        '(e.g. "600000") so sums beyond 2^31 keep every digit. Inputs accept the string '
        "or a JSON integer."
    ),
    serialize=lambda value: str(int(value)),
    parse_value=_parse_rupiah,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {Rupiah: RUPIAH_SCALAR}
