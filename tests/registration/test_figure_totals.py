"""The figure totals (migration 0021) equal ``programme_figures`` summed per regency, wave and
scheme after every kind of write the triggers see: registrations alone and in bulk, a
selection (rows moving from one key to another), a rebuild, and a rolled-back write."""

from __future__ import annotations

from sqlalchemy import text

from core.db.database import Database
from resolvers.statistics import FIGURE_MEASURES
from tests.support.gateway import Tokens
from tests.support.registration import (
    OFFICE,
    REGISTER_MANY,
    form,
    open_wave,
    register,
    run_selection,
)

# The totals as the finer table gives them, and as the totals table holds them; keys whose
# measures are all zero are no difference.
_FROM_FIGURES = """
SELECT regency_id, wave_id, scheme_id,
       sum(registrants) AS registrants,
       coalesce(sum(registrants) FILTER (WHERE channel = 'ONLINE'), 0) AS registrants_online,
       coalesce(sum(registrants) FILTER (WHERE channel = 'OFFLINE'), 0) AS registrants_offline,
       coalesce(sum(registrants) FILTER (WHERE disabled), 0) AS registrants_with_disability,
       coalesce(sum(registrants) FILTER (WHERE sex = 'FEMALE'), 0) AS registrants_female,
       coalesce(sum(registrants) FILTER (WHERE sex = 'MALE'), 0) AS registrants_male,
       sum(recipients) AS recipients, sum(completions) AS completions,
       sum(incentives_paid) AS incentives_paid,
       sum(incentives_paid_amount) AS incentives_paid_amount
  FROM programme_figures GROUP BY 1, 2, 3
"""
_FROM_TOTALS = f"""
SELECT regency_id, wave_id, scheme_id, {", ".join(f"sum({m}) AS {m}" for m in FIGURE_MEASURES)}
  FROM programme_figure_totals GROUP BY 1, 2, 3
"""


async def _keyed(database: Database, query: str) -> dict[tuple[int, ...], tuple[int, ...]]:
    async with database.sessionmaker() as session:
        rows = (await session.execute(text(query))).mappings()
        found = {
            (row["regency_id"], row["wave_id"], row["scheme_id"]): tuple(
                int(row[measure]) for measure in FIGURE_MEASURES
            )
            for row in rows
        }
    return {key: values for key, values in found.items() if any(values)}


async def _assert_totals_agree(database: Database) -> None:
    figures = await _keyed(database, _FROM_FIGURES)
    assert figures, "the seed has figures"
    assert await _keyed(database, _FROM_TOTALS) == figures


async def test_totals_follow_every_write(tokens: Tokens, database: Database) -> None:
    await _assert_totals_agree(database)
    body = await register(tokens, form(401, female=True, disabilities=["PHYSICAL", "SENSORY"]))
    assert "errors" not in body, body
    items = [form(serial, female=serial % 2 == 0) for serial in range(402, 410)]
    body = await tokens.graphql(OFFICE, REGISTER_MANY, {"items": items})
    assert "errors" not in body, body
    await _assert_totals_agree(database)

    # A refused registration (the same person again) writes nothing anywhere.
    refused = await register(tokens, form(401, female=True))
    assert refused["errors"] or refused["data"]["registerParticipant"] is None
    await _assert_totals_agree(database)

    wave = await open_wave(tokens, 12, disability=0.2, offline=0.2)
    assert (await run_selection(tokens, wave["number"]))["selected"] == 12
    await _assert_totals_agree(database)


async def test_the_rebuild_makes_the_same_totals(tokens: Tokens, database: Database) -> None:
    body = await register(tokens, form(411, disabilities=["MENTAL"]))
    assert "errors" not in body, body
    before = await _keyed(database, _FROM_TOTALS)
    async with database.sessionmaker() as session:
        # Inside the test's rolled-back transaction: the totals left stale first (as a
        # TRUNCATE of the model's tables would), which the rebuild must not add to.
        await session.execute(text("UPDATE programme_figure_totals SET registrants = 7"))
        await session.execute(text("SELECT prakerja_figures_rebuild()"))
        await session.commit()
    await _assert_totals_agree(database)
    assert await _keyed(database, _FROM_TOTALS) == before
