"""Waves (gelombang): programme management opens them, draws them, and explains the draw."""

from __future__ import annotations

from datetime import datetime

import strawberry

from auth.permissions import requires
from auth.scopes import Scope
from core.clock import utc_now
from core.enums import SelectionOutcome, SelectionPool
from core.errors import BadInput
from resolvers.registration import waves as wave_resolvers
from resolvers.registration.records import (
    ExplanationRecord,
    PoolRecord,
    SelectionRecord,
    WaveRecord,
)
from schema.common import check_card_number
from schema.info import Info, actor_of
from schema.registration import registrant_pk

SelectionPoolEnum = strawberry.enum(
    SelectionPool,
    description="Drawn first: DISABILITY, then OFFLINE (reserved shares), then GENERAL.",
)
SelectionOutcomeEnum = strawberry.enum(
    SelectionOutcome,
    description="SELECTED; FAMILY_CARD_LIMIT: the family card had its recipients already.",
)


@strawberry.type(description="A wave of selection, with its scheme, quota and reserved shares.")
class Wave:
    number: int
    scheme: str = strawberry.field(description="The scheme's code, e.g. 2023.")
    quota: int | None
    reserved_disability_share: float
    reserved_offline_share: float
    opens_at: datetime
    closes_at: datetime
    selection_seed: str = strawberry.field(
        description="The recorded seed of the draw (a 63-bit integer, as text)."
    )
    selected_at: datetime | None
    selected: int = strawberry.field(description="People selected in this wave's draw.")

    @classmethod
    def from_record(cls, record: WaveRecord) -> Wave:
        return cls(
            number=record.number,
            scheme=record.scheme_code,
            quota=record.quota,
            reserved_disability_share=record.reserved_disability_share,
            reserved_offline_share=record.reserved_offline_share,
            opens_at=record.opens_at,
            closes_at=record.closes_at,
            selection_seed=str(record.selection_seed),
            selected_at=record.selected_at,
            selected=record.selected,
        )


@strawberry.type(description="One pool of a draw: its reserved places and who took them.")
class SelectionPoolResult:
    pool: SelectionPoolEnum  # type: ignore[valid-type]
    reserved: int
    selected: int
    cutoff_key: str | None = strawberry.field(description="The last draw key taken.")

    @classmethod
    def from_record(cls, record: PoolRecord) -> SelectionPoolResult:
        return cls(
            pool=record.pool,
            reserved=record.reserved,
            selected=record.selected,
            cutoff_key=None if record.cutoff_key is None else str(record.cutoff_key),
        )


@strawberry.type(description="What a wave's draw did.")
class SelectionResult:
    wave: Wave
    considered: int = strawberry.field(description="Eligible registrants in the draw.")
    selected: int
    family_card_limited: int
    pools: list[SelectionPoolResult]

    @classmethod
    def from_record(cls, record: SelectionRecord) -> SelectionResult:
        return cls(
            wave=Wave.from_record(record.wave),
            considered=record.considered,
            selected=record.selected,
            family_card_limited=record.family_card_limited,
            pools=[SelectionPoolResult.from_record(pool) for pool in record.pools],
        )


@strawberry.type(description="Why one person was, or was not, selected in a wave.")
class SelectionExplanation:
    wave_number: int
    outcome: SelectionOutcomeEnum | None  # type: ignore[valid-type]
    pool: SelectionPoolEnum | None  # type: ignore[valid-type]
    draw_key: str = strawberry.field(description="hashint8extended(registrant id, seed).")
    family_ahead: int | None
    cutoff_key: str | None
    reason: str

    @classmethod
    def from_record(cls, record: ExplanationRecord) -> SelectionExplanation:
        return cls(
            wave_number=record.wave_number,
            outcome=record.outcome,
            pool=record.pool,
            draw_key=str(record.draw_key),
            family_ahead=record.family_ahead,
            cutoff_key=None if record.cutoff_key is None else str(record.cutoff_key),
            reason=record.reason,
        )


@strawberry.input
class OpenWaveInput:
    scheme: str = strawberry.field(description="The scheme's code, e.g. 2023.")
    quota: int
    opens_at: datetime
    closes_at: datetime
    reserved_disability_share: float = strawberry.field(
        default=0.0, description="Share of the quota drawn first among people with a disability."
    )
    reserved_offline_share: float = strawberry.field(
        default=0.0, description="Share drawn next among offline registrants."
    )


@strawberry.type
class WaveQuery:
    @strawberry.field(
        description="Why a registrant (by card number or id) was or was not selected.",
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def selection_explanation(
        self,
        info: Info,
        wave: int,
        card_number: str | None = None,
        registrant_id: strawberry.ID | None = None,
    ) -> SelectionExplanation:
        session = info.context.session
        if (card_number is None) == (registrant_id is None):
            raise BadInput("give exactly one of cardNumber and registrantId")
        if card_number is not None:
            check_card_number(card_number)
            participant_id = await wave_resolvers.participant_by_card(session, card_number)
        else:
            assert registrant_id is not None
            participant_id = registrant_pk(registrant_id)
        record = await wave_resolvers.selection_explanation(
            session, wave_number=wave, participant_id=participant_id
        )
        return SelectionExplanation.from_record(record)


@strawberry.type
class WaveMutation:
    @strawberry.mutation(
        description="Opens the next wave of a scheme with its quota and reserved shares.",
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def open_wave(self, info: Info, input: OpenWaveInput) -> Wave | None:
        record = await wave_resolvers.open_wave(
            info.context.session,
            actor_of(info),
            scheme_code=input.scheme,
            quota=input.quota,
            reserved_disability_share=input.reserved_disability_share,
            reserved_offline_share=input.reserved_offline_share,
            opens_at=input.opens_at,
            closes_at=input.closes_at,
        )
        return Wave.from_record(record)

    @strawberry.mutation(
        description=(
            "Draws a wave's recipients from its recorded seed, once: eligible registrants not "
            "yet selected, at most the family card's limit, the reserved shares first. Each "
            "gets a card number, the scheme's balance and the first-purchase deadline."
        ),
        permission_classes=[requires(Scope.PROGRAM_ADMIN)],
    )
    async def run_selection(
        self, info: Info, wave: int, quota: int | None = None
    ) -> SelectionResult | None:
        record = await wave_resolvers.run_selection(
            info.context.session,
            actor_of(info),
            wave_number=wave,
            quota=quota,
            now=utc_now(),
        )
        return SelectionResult.from_record(record)
