"""Registrants of the programme, and the way of each one selected into a wave.

Participants are made in consecutive chunks so a million of them never sit in memory at
once; the proportions of the programme hold exactly whatever the number asked for.
"""

from __future__ import annotations

import math
import random
from datetime import datetime
from typing import Final

from core.enums import ParticipantStatus, RegistrationChannel, Sex
from core.identity import hash_nik, mask_nik
from gateway.seed import codes, tables, timeline
from gateway.seed.catalog import Catalog
from gateway.seed.journeys import ExactQuota, JourneyMaker, Outcome
from gateway.seed.loader import RowBuffer
from gateway.seed.partners import Partners
from gateway.seed.people import PeopleFactory
from gateway.seed.programme import WAVE_WEIGHTS, PlacedRegency, Wave

# The programme's own figures (mid-2020): registrants, recipients, completers, paid.
REGISTRANTS: Final = 15_900_000
RECIPIENTS: Final = 3_000_000
COMPLETERS: Final = 849_921
PAID: Final = 610_563
# Of all recipients, the share stopped at each step short of completion by the demo's "today".
PURCHASED_SHARE: Final = 0.08
STARTED_SHARE: Final = 0.05
VOIDED_SHARE: Final = 0.015
OFFLINE_SHARE: Final = 0.05
# Registrations came in a rush at the start: time grows like this power of the rank.
REGISTRATION_SKEW: Final = 2.5


class Registrants:
    def __init__(
        self,
        rng: random.Random,
        count: int,
        master_key: bytes,
        regencies: list[PlacedRegency],
        waves: list[Wave],
        partners: Partners,
        catalog: Catalog,
    ) -> None:
        self.count = count
        self._rng = rng
        self._master_key = master_key
        self._waves = waves
        self._wave_weights = _wave_weights(waves)
        self._offices = partners.office_by_regency
        self._people = PeopleFactory(rng, regencies)
        self.journeys = JourneyMaker(rng, catalog, partners)
        self._recipients = ExactQuota(round(count * RECIPIENTS / REGISTRANTS), count)
        recipients = self._recipients.wanted
        self._completers = ExactQuota(round(recipients * COMPLETERS / RECIPIENTS), recipients)
        completers = self._completers.wanted
        self._paid = ExactQuota(round(completers * PAID / COMPLETERS), completers)
        # The outcome of a recipient who does not complete is drawn with these shares.
        not_completing = max(1, recipients - completers)
        self._purchased_share = PURCHASED_SHARE * recipients / not_completing
        self._started_share = STARTED_SHARE * recipients / not_completing

    def chunk(self, start: int, stop: int) -> RowBuffer:
        """Participants ``start + 1`` to ``stop`` and every row that hangs off them.

        Chunks must be made in order: they draw from one random stream.
        """
        buffer = RowBuffer(tables.PARTICIPANT_TABLES)
        for index in range(start, stop):
            self._add_one(buffer, index)
        return buffer

    def _add_one(self, buffer: RowBuffer, index: int) -> None:
        rng = self._rng
        participant_id = index + 1
        registered_at = _registered_at(index, self.count)
        offline = rng.random() < OFFLINE_SHARE
        person = self._people.make(offline=offline)
        wave: Wave | None = None
        spent = 0
        if self._recipients.take(rng):
            wave = self._wave_for(registered_at)
            spent = self.journeys.follow(
                buffer,
                participant_id,
                person,
                wave,
                self._outcome(),
                voided_first=rng.random() < VOIDED_SHARE,
                paid_quota=self._paid,
            )
        buffer.add(
            tables.PARTICIPANTS,
            (
                participant_id,
                codes.card_number(participant_id),
                hash_nik(self._master_key, person.nik),
                mask_nik(person.nik),
                person.full_name,
                person.birth_date,
                person.education.value,
                person.regency.id,
                None if wave is None else wave.id,
                0 if wave is None else wave.scheme.training_balance - spent,
                (
                    ParticipantStatus.REGISTERED if wave is None else ParticipantStatus.RECIPIENT
                ).value,
                None if wave is None else wave.purchase_deadline,
                (RegistrationChannel.OFFLINE if offline else RegistrationChannel.ONLINE).value,
                self._offices[person.regency.id] if offline else None,
                person.phone_masked,
                registered_at,
                (Sex.FEMALE if person.female else Sex.MALE).value,
            ),
        )

    def _outcome(self) -> Outcome:
        if self._completers.take(self._rng):
            return Outcome.COMPLETED
        draw = self._rng.random()
        if draw < self._purchased_share:
            return Outcome.PURCHASED
        if draw < self._purchased_share + self._started_share:
            return Outcome.STARTED
        return Outcome.NO_PURCHASE

    def _wave_for(self, registered_at: datetime) -> Wave:
        """One of the waves still open for registration when the participant registered."""
        open_waves = [wave for wave in self._waves if wave.closes_at > registered_at]
        weights = [self._wave_weights[wave.id] for wave in open_waves]
        return self._rng.choices(open_waves, weights=weights)[0]


def _registered_at(index: int, count: int) -> datetime:
    """Registration times grow with the id, most of them in the first weeks."""
    span = timeline.REGISTRATION_ENDS - timeline.PROGRAMME_LAUNCH
    rank = (index + 0.5) / count
    return (timeline.PROGRAMME_LAUNCH + span * math.pow(rank, REGISTRATION_SKEW)).replace(
        microsecond=0
    )


def _wave_weights(waves: list[Wave]) -> dict[int, float]:
    """Weights that give the waves about their relative sizes (``WAVE_WEIGHTS``).

    A wave can only take people registered before it closed: an early wave draws from a
    small part of the registrants, so its weight among the waves open to them is raised by
    the inverse of that part.
    """
    span = timeline.REGISTRATION_ENDS - timeline.PROGRAMME_LAUNCH
    weights = {}
    for wave in waves:
        time_share = min(1.0, (wave.closes_at - timeline.PROGRAMME_LAUNCH) / span)
        eligible_share = math.pow(time_share, 1 / REGISTRATION_SKEW)
        weights[wave.id] = WAVE_WEIGHTS[wave.number - 1] / eligible_share
    return weights
