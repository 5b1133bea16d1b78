"""The calendar of the demo programme: every timestamp is derived from these fixed dates.

Nothing reads the clock, so two runs with the same random seed give the same rows.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from typing import Final

# Western Indonesia Time. A fixed offset, not a tz database zone: Jakarta has no DST and the
# seed must not depend on the machine's tzdata.
WIB: Final = timezone(timedelta(hours=7), "WIB")

PARTNERS_ONBOARDED: Final = datetime(2020, 3, 2, 9, 0, tzinfo=WIB)
CATALOG_OPENS: Final = datetime(2020, 3, 16, 9, 0, tzinfo=WIB)
# The day the registration site opened, and wave 1 with it.
PROGRAMME_LAUNCH: Final = datetime(2020, 4, 11, 0, 0, tzinfo=WIB)
WAVE_COUNT: Final = 6
WAVE_INTERVAL: Final = timedelta(days=14)
WAVE_REGISTRATION_DAYS: Final = timedelta(days=4)
# Registrations keep coming until the last wave closes.
REGISTRATION_ENDS: Final = PROGRAMME_LAUNCH + (WAVE_COUNT - 1) * WAVE_INTERVAL + timedelta(days=3)
LAST_SCHEDULE_START: Final = datetime(2020, 11, 30, 9, 0, tzinfo=WIB)
# "Today" for the demo data: states (due, paid, in progress) are as of this moment.
AS_OF: Final = datetime(2020, 8, 31, 17, 0, tzinfo=WIB)
# Ages of participants are counted on this day (18 to 64).
AGE_REFERENCE: Final = date(2020, 4, 1)


def wave_opens_at(number: int) -> datetime:
    return PROGRAMME_LAUNCH + (number - 1) * WAVE_INTERVAL


def moment_between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A whole second in [start, end), or start when the window is empty."""
    seconds = int((end - start).total_seconds())
    if seconds <= 0:
        return start
    return start + timedelta(seconds=rng.randrange(seconds))
