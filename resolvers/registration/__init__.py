"""Registration by regional offices, the office's view, waves and their selection."""

from resolvers.registration.queries import (
    RegistrantFilter,
    journey_of,
    registrant_by_id,
    registrants_page,
)
from resolvers.registration.register import (
    MAX_ITEMS,
    register_participant,
    register_participants,
)

__all__ = [
    "MAX_ITEMS",
    "RegistrantFilter",
    "journey_of",
    "register_participant",
    "register_participants",
    "registrant_by_id",
    "registrants_page",
]
