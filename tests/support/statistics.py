"""The figures documents, and the same figures counted from the raw tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from core.db.database import Database
from tests.support.gateway import Tokens

MEASURES = (
    "registrants registrantsOnline registrantsOffline registrantsWithDisability "
    "registrantsFemale registrantsMale recipients completions incentivesPaid "
    "incentivesPaidAmount"
)
PROGRAM_FIGURES = f"""
query($breakdown: FigureBreakdown, $filter: FigureFilterInput) {{
  programFigures(breakdown: $breakdown, filter: $filter) {{ code name {MEASURES} }}
}}
"""
REGENCY_FIGURES = f"""
query($regency: String, $breakdown: FigureBreakdown, $filter: FigureFilterInput) {{
  regencyFigures(regencyCode: $regency, breakdown: $breakdown, filter: $filter) {{
    code name {MEASURES}
  }}
}}
"""
BREAKDOWNS = (None, "PROVINCE", "REGENCY", "WAVE", "SCHEME")

_GROUP = {
    None: "NULL::text",
    "PROVINCE": "pr.code",
    "REGENCY": "r.code",
    "WAVE": "w.number::text",
    "SCHEME": "s.code",
}

# Straight from the raw tables, with none of the aggregates' machinery: what the figures
# must equal.
_RAW = """
SELECT {group} AS code,
       count(*) AS registrants,
       count(*) FILTER (WHERE p.registration_channel = 'ONLINE') AS "registrantsOnline",
       count(*) FILTER (WHERE p.registration_channel = 'OFFLINE') AS "registrantsOffline",
       count(*) FILTER (WHERE cardinality(p.disabilities) > 0) AS "registrantsWithDisability",
       count(*) FILTER (WHERE p.sex = 'FEMALE') AS "registrantsFemale",
       count(*) FILTER (WHERE p.sex = 'MALE') AS "registrantsMale",
       count(*) FILTER (WHERE p.status = 'RECIPIENT') AS recipients,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM completions c WHERE c.participant_id = p.id))
           AS completions,
       count(paid.amount) AS "incentivesPaid",
       coalesce(sum(paid.amount), 0) AS "incentivesPaidAmount"
  FROM participants p
  JOIN regencies r ON r.id = p.regency_id
  JOIN provinces pr ON pr.id = r.province_id
  LEFT JOIN waves w ON w.id = p.wave_id
  LEFT JOIN schemes s ON s.id = w.scheme_id
  LEFT JOIN (SELECT st.participant_id, sum(i.amount) AS amount
               FROM disbursement_items i
               JOIN incentive_installments st ON st.id = i.installment_id
              WHERE i.status = 'PAID' GROUP BY st.participant_id) paid
         ON paid.participant_id = p.id
 WHERE (CAST(:regency AS text) IS NULL OR r.code = :regency)
 GROUP BY 1
"""


def by_code(groups: list[dict[str, Any]]) -> dict[str | None, dict[str, int]]:
    return {
        group["code"]: {
            name: int(group[name]) for name in MEASURES.split() if group[name] is not None
        }
        for group in groups
    }


async def raw_figures(
    database: Database, breakdown: str | None, regency: str | None = None
) -> dict[str | None, dict[str, int]]:
    async with database.sessionmaker() as session:
        rows = (
            await session.execute(
                text(_RAW.format(group=_GROUP[breakdown])),
                {"regency": regency},
            )
        ).mappings()
        return {row["code"]: {name: int(row[name]) for name in MEASURES.split()} for row in rows}


async def program_figures(
    tokens: Tokens, breakdown: str | None, caller: str = "PMO", **filter: Any
) -> dict[str | None, dict[str, int]]:
    body = await tokens.graphql(
        caller, PROGRAM_FIGURES, {"breakdown": breakdown, "filter": filter or None}
    )
    assert "errors" not in body, body
    return by_code(body["data"]["programFigures"])
