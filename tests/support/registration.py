"""Registration forms and calls shared by the registration tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from core.db.database import Database
from tests.support.gateway import Tokens

OFFICE = "DISNAKER-1101"  # Kabupaten Simeulue
OFFICE_REGENCY = "1101"
OTHER_OFFICE = "DISNAKER-3171"  # Kota Jakarta Selatan
OTHER_REGENCY = "3171"

REGISTRANT_FIELDS = """
    id nikMasked fullName birthDate sex disabilities accommodation regencyCode channel
    status cardNumber phoneMasked
"""

REGISTER = f"""
mutation($input: RegisterParticipantInput!) {{
  registerParticipant(input: $input) {{ {REGISTRANT_FIELDS} }}
}}
"""

REGISTER_MANY = f"""
mutation($items: [RegisterParticipantInput!]!) {{
  registerParticipants(items: $items) {{
    results {{ registrant {{ {REGISTRANT_FIELDS} }} errors {{ code message field }} }}
  }}
}}
"""


def nik(
    regency: str, born: date, *, female: bool = False, serial: int = 1, district: int = 1
) -> str:
    day = born.day + (40 if female else 0)
    return f"{regency}{district:02d}{day:02d}{born:%m}{born.year % 100:02d}{serial:04d}"


def form(
    serial: int = 1,
    *,
    regency: str = OFFICE_REGENCY,
    born: date = date(1990, 6, 15),
    female: bool = False,
    kk: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "nik": nik(regency, born, female=female, serial=serial),
        "kk": kk or f"{regency}01{serial:010d}",
        "fullName": f"Orang Uji {serial}",
        "birthDate": born.isoformat(),
        "sex": "FEMALE" if female else "MALE",
        "address": "Jalan Merdeka 1, Sinabang",
        "regencyCode": regency,
        "education": "SMA",
        "employmentStatus": "UNEMPLOYED",
        "consent": {"method": "THUMBPRINT", "officeUser": "petugas-1"},
    }
    values.update(overrides)
    return values


async def register(tokens: Tokens, values: dict[str, Any], office: str = OFFICE) -> dict[str, Any]:
    return await tokens.graphql(office, REGISTER, {"input": values})


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


OPEN_WAVE = """
mutation($input: OpenWaveInput!) { openWave(input: $input) { number selectionSeed quota } }
"""
RUN_SELECTION = """
mutation($wave: Int!, $quota: Int) {
  runSelection(wave: $wave, quota: $quota) {
    considered selected familyCardLimited
    pools { pool reserved selected cutoffKey }
    wave { number selectedAt selected }
  }
}
"""


async def open_wave(
    tokens: Tokens, quota: int, *, disability: float = 0.0, offline: float = 0.0
) -> dict[str, Any]:
    """Opens a wave of scheme 2023 as programme management, from now for four days."""
    now = datetime.now(UTC)
    body = await tokens.graphql(
        "PMO",
        OPEN_WAVE,
        {
            "input": {
                "scheme": "2023",
                "quota": quota,
                "reservedDisabilityShare": disability,
                "reservedOfflineShare": offline,
                "opensAt": now.isoformat(),
                "closesAt": (now + timedelta(days=4)).isoformat(),
            }
        },
    )
    assert body.get("errors") is None, body
    opened: dict[str, Any] = body["data"]["openWave"]
    return opened


async def run_selection(tokens: Tokens, wave: int, quota: int | None = None) -> dict[str, Any]:
    body = await tokens.graphql("PMO", RUN_SELECTION, {"wave": wave, "quota": quota})
    assert body.get("errors") is None, body
    result: dict[str, Any] = body["data"]["runSelection"]
    return result


async def set_aside_seeded_disabilities(database: Database) -> None:
    """Empty the disability pool of a wave for a test's own registrants: the seed gives
    about 1% of registrants (8% of offline ones) a disability. Call it inside a test whose
    database is rolled back afterwards."""
    async with database.sessionmaker() as session:
        await session.execute(
            text(
                "UPDATE participants SET disabilities = '{}'"
                " WHERE wave_id IS NULL AND cardinality(disabilities) > 0"
            )
        )
        await session.commit()
