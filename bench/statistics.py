"""Statistics latency on a database loaded by ``seed --scale full`` (target: 50 ms each).

Times the resolvers the GraphQL fields call (``programStatistics``, ``programFigures`` for
every breakdown, with and without a filter, and a regional office's ``regencyFigures``),
each repeated, and prints the median and the worst in milliseconds. Reads only.

    PRAKERJA_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<seeded database> \\
        .venv/bin/python -m bench.statistics [--repeat 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

from core.db.database import Database
from core.enums import FigureBreakdown, PartnerType, RegistrationChannel, Sex
from core.principal import Principal
from resolvers.statistics import FigureFilter, figures, program_figures, regency_figures

PMO = Principal(
    client_id="bench",
    partner_id=1,
    partner_type=PartnerType.PROGRAM_MANAGEMENT,
    scopes=frozenset({"program:admin"}),
    token_id="bench",  # noqa: S106 - an id, not a secret
)
OFFICE = Principal(
    client_id="bench-office",
    partner_id=2,
    partner_type=PartnerType.REGIONAL_OFFICE,
    scopes=frozenset({"registration:read"}),
    token_id="bench-office",  # noqa: S106 - an id, not a secret
    regency_id=1,
)
NARROW = FigureFilter(
    channel=RegistrationChannel.OFFLINE, sex=Sex.FEMALE, with_disability=True, province_code="32"
)


async def main(repeat: int) -> None:
    database = Database.connect(os.environ["PRAKERJA_DATABASE_URL"], pool_size=1)
    cases: list[tuple[str, Callable[..., Awaitable[object]]]] = [
        ("programStatistics", lambda s: program_figures(s)),
        ("programFigures", lambda s: figures(s, PMO, None, FigureFilter())),
    ]
    for breakdown in FigureBreakdown:
        cases.append(
            (
                f"programFigures({breakdown.value})",
                lambda s, b=breakdown: figures(s, PMO, b, FigureFilter()),
            )
        )
        cases.append(
            (
                f"programFigures({breakdown.value}, filter)",
                lambda s, b=breakdown: figures(s, PMO, b, NARROW),
            )
        )
    cases.append(
        (
            "regencyFigures(WAVE) as office",
            lambda s: regency_figures(s, OFFICE, None, FigureBreakdown.WAVE, FigureFilter()),
        )
    )
    try:
        async with database.sessionmaker() as session:
            for name, call in cases:
                timings = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    await call(session)
                    timings.append((time.perf_counter() - started) * 1000)
                median = statistics.median(timings)
                print(f"{name:45} median {median:6.1f} ms  worst {max(timings):6.1f} ms")
    finally:
        await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    asyncio.run(main(parser.parse_args().repeat))
