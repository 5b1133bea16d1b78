"""Waves and their selection: open a wave, draw its recipients, explain the draw per person.

The draw is set-based and reproducible: each candidate's draw key is PostgreSQL's seeded
64-bit hash of its id, ``hashint8extended(id, seed)``, with the seed drawn when the wave is
opened and kept on it. Lower keys are drawn first. Anyone holding the seed and the
candidates replays the same selection.

Order of the draw: within a family card, the card's recipients of earlier waves come first,
then its candidates ranked by (disability, offline, key); only as many as the card may still
have recipients (``core.eligibility.FAMILY_CARD_RECIPIENTS_MAX``) stay in the draw. Then the
reserved disability share, the reserved offline share among those not yet drawn, and the
rest of the quota among everyone left.

All of it is one transaction, so a selection is applied whole or not at all: one statement
draws (one read of the registrants) into a temporary table, and one set-based statement
each writes the record, the recipients, the notices and the events from it. At 5 million
registrants the per-row costs decide the time, so no statement runs a function or a
trigger per row that could be a join (see ``bench/selection.py``).
"""

from __future__ import annotations

import math
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, Integer, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.db.session import execute_core
from core.eligibility import FAMILY_CARD_RECIPIENTS_MAX, MIN_REGISTRATION_AGE
from core.enums import (
    OutboxStatus,
    ParticipantStatus,
    RegistrationChannel,
    SelectionOutcome,
    SelectionPool,
)
from core.errors import ErrorCode, GatewayError
from core.models import OutboxMessage, Participant, Scheme, Wave, WaveSelection
from core.models.programme import card_holder
from resolvers.events import record_selected
from resolvers.registration.records import (
    ExplanationRecord,
    PoolRecord,
    SelectionRecord,
    WaveRecord,
)
from resolvers.registration.register import OFFICE_CHANNEL, SMS_CHANNEL

SELECTED_TEMPLATE = "wave_selected"


def _wave_record(wave: Wave, scheme_code: str, selected: int) -> WaveRecord:
    return WaveRecord(
        id=wave.id,
        number=wave.number,
        scheme_code=scheme_code,
        quota=wave.quota,
        reserved_disability_share=float(wave.reserved_disability_share),
        reserved_offline_share=float(wave.reserved_offline_share),
        opens_at=wave.opens_at,
        closes_at=wave.closes_at,
        selection_seed=wave.selection_seed,
        selected_at=wave.selected_at,
        selected=selected,
    )


async def open_wave(
    session: AsyncSession,
    actor: Actor,
    *,
    scheme_code: str,
    quota: int,
    reserved_disability_share: float,
    reserved_offline_share: float,
    opens_at: datetime,
    closes_at: datetime,
) -> WaveRecord:
    if quota <= 0:
        raise GatewayError(ErrorCode.BAD_USER_INPUT, "quota must be positive", field="quota")
    disability = Decimal(str(round(reserved_disability_share, 3)))
    offline = Decimal(str(round(reserved_offline_share, 3)))
    if disability < 0 or offline < 0 or disability + offline > 1:
        raise GatewayError(
            ErrorCode.BAD_USER_INPUT,
            "reserved shares are between 0 and 1 and add up to at most 1",
            field="reservedDisabilityShare",
        )
    if opens_at.tzinfo is None or closes_at.tzinfo is None or closes_at <= opens_at:
        raise GatewayError(
            ErrorCode.INVALID_DATE_RANGE,
            "opensAt and closesAt need time zones, and closesAt must be after opensAt",
            field="closesAt",
        )
    scheme = (await session.execute(select(Scheme).where(Scheme.code == scheme_code))).scalar()
    if scheme is None:
        raise GatewayError(ErrorCode.SCHEME_NOT_FOUND, f"no scheme {scheme_code!r}", field="scheme")
    # Wave numbers follow one another: one opening at a time.
    await execute_core(session, text("LOCK TABLE waves IN SHARE ROW EXCLUSIVE MODE"))
    number = (await session.scalar(select(Wave.number).order_by(Wave.number.desc()).limit(1))) or 0
    wave = Wave(
        number=number + 1,
        scheme_id=scheme.id,
        opens_at=opens_at,
        closes_at=closes_at,
        quota=quota,
        reserved_disability_share=disability,
        reserved_offline_share=offline,
        selection_seed=secrets.randbits(63),
    )
    session.add(wave)
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="wave.opened",
        entity_type="wave",
        entity_id=wave.id,
        after={
            "number": wave.number,
            "scheme": scheme_code,
            "quota": quota,
            "reservedDisabilityShare": str(disability),
            "reservedOfflineShare": str(offline),
            "selectionSeed": str(wave.selection_seed),
        },
    )
    return _wave_record(wave, scheme.code, 0)


async def _wave(session: AsyncSession, number: int, *, lock: bool = False) -> tuple[Wave, Scheme]:
    statement = select(Wave, Scheme).join(Scheme, Scheme.id == Wave.scheme_id)
    statement = statement.where(Wave.number == number)
    if lock:
        statement = statement.with_for_update(of=Wave)
    row = (await session.execute(statement)).first()
    if row is None:
        raise GatewayError(ErrorCode.WAVE_NOT_FOUND, f"no wave number {number}", field="wave")
    return row[0], row[1]


def adult_born_by(day: date) -> date:
    """The latest birth date of someone ``MIN_REGISTRATION_AGE`` or older on ``day``."""
    try:
        return day.replace(year=day.year - MIN_REGISTRATION_AGE)
    except ValueError:  # 29 February
        return day.replace(year=day.year - MIN_REGISTRATION_AGE, day=28)


# The draw's rows live in a temporary table for the length of the selection: written once by
# the draw, read by each write that follows. Local to the session, never WAL-logged. The
# statements below name it.
DRAW_TABLE = "selection_draw"
_CREATE_DRAW = text(
    """
    CREATE TEMPORARY TABLE selection_draw (
        participant_id bigint NOT NULL,
        regency_id integer NOT NULL,
        has_phone boolean NOT NULL,
        office_id bigint,
        outcome text NOT NULL,
        pool text,
        draw_key bigint NOT NULL,
        family_ahead smallint NOT NULL
    ) ON COMMIT DROP
    """
)
_DROP_DRAW = text("DROP TABLE IF EXISTS selection_draw")
_ANALYZE_DRAW = text("ANALYZE selection_draw")
# For this transaction only: sorts and hashes of millions of candidates stay in memory, and
# the draw of a large wave may outlast the 30 s every other statement is allowed.
_SETTINGS = text(
    "SELECT current_setting('work_mem') AS work_mem,"
    " current_setting('statement_timeout') AS statement_timeout,"
    " set_config('work_mem', :work_mem, true), "
    " set_config('statement_timeout', :statement_timeout, true)"
)
SELECTION_SETTINGS = {"work_mem": "1GB", "statement_timeout": "600s"}

# Candidates: registered, not yet in a wave, registered before the wave closed, adults when it
# opens. One read of the registrants (and of the recipients of a family card, who rank
# first on their card) draws every pool and keeps the outcome rows: the selected, and those
# the family card held back whose key would have been drawn in a pool they belong to (the
# others are explained by the cut-offs alone: their keys rank after every place they could
# have taken). A pool that drew everyone it could has no cut-off. Each pool takes the lowest
# keys of its eligible candidates, skipping those an earlier pool took.
_DRAW = text(
    """
    WITH member AS (
        SELECT p.id, p.kk_hash, p.regency_id, p.phone_masked IS NOT NULL AS has_phone,
               p.registered_by_partner_id AS office_id,
               cardinality(p.disabilities) > 0 AS disabled,
               p.registration_channel = :offline AS offline,
               p.status = :recipient AS recipient,
               hashint8extended(p.id, :seed) AS draw_key
          FROM participants p
         WHERE (p.status = :registered AND p.wave_id IS NULL
                AND p.created_at < :closes_at AND p.birth_date <= :adult_born_by)
            OR (p.status = :recipient AND p.kk_hash IS NOT NULL)
    ), ranked AS MATERIALIZED (
        SELECT id, regency_id, has_phone, office_id, disabled, offline, draw_key, family_ahead
          FROM (SELECT m.*,
                       CASE WHEN m.kk_hash IS NULL THEN 0
                            ELSE row_number() OVER (
                                PARTITION BY m.kk_hash
                                ORDER BY m.recipient DESC, m.disabled DESC, m.offline DESC,
                                         m.draw_key) - 1
                       END AS family_ahead
                  FROM member m) AS card
         WHERE NOT recipient
    ), d AS MATERIALIZED (
        SELECT * FROM ranked WHERE disabled AND family_ahead < :family_max
         ORDER BY draw_key LIMIT :disability_quota
    ), o AS MATERIALIZED (
        SELECT * FROM (SELECT * FROM ranked WHERE offline AND family_ahead < :family_max
                        ORDER BY draw_key LIMIT :offline_quota + (SELECT count(*) FROM d)) AS o0
         WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.id = o0.id)
         ORDER BY draw_key LIMIT :offline_quota
    ), general AS (
        SELECT (SELECT count(*) FROM d) AS d, (SELECT count(*) FROM o) AS o,
               greatest(0, :quota - (SELECT count(*) FROM d) - (SELECT count(*) FROM o))
                   AS places
    ), g AS MATERIALIZED (
        SELECT * FROM (SELECT * FROM ranked WHERE family_ahead < :family_max
                        ORDER BY draw_key
                        LIMIT (SELECT places + d + o FROM general)) AS g0
         WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.id = g0.id)
           AND NOT EXISTS (SELECT 1 FROM o WHERE o.id = g0.id)
         ORDER BY draw_key LIMIT (SELECT places FROM general)
    ), cut AS (
        SELECT (SELECT CASE WHEN count(*) < :disability_quota THEN :no_cut ELSE max(draw_key) END
                  FROM d) AS disability,
               (SELECT CASE WHEN count(*) < :offline_quota THEN :no_cut ELSE max(draw_key) END
                  FROM o) AS offline,
               (SELECT CASE WHEN count(*) < (SELECT places FROM general) THEN :no_cut
                            ELSE max(draw_key) END
                  FROM g) AS general
    ), kept AS (
        INSERT INTO selection_draw (participant_id, regency_id, has_phone, office_id, outcome,
                                    pool, draw_key, family_ahead)
        SELECT id, regency_id, has_phone, office_id, :selected, :pool_disability, draw_key,
               family_ahead FROM d
        UNION ALL
        SELECT id, regency_id, has_phone, office_id, :selected, :pool_offline, draw_key,
               family_ahead FROM o
        UNION ALL
        SELECT id, regency_id, has_phone, office_id, :selected, :pool_general, draw_key,
               family_ahead FROM g
        UNION ALL
        SELECT r.id, r.regency_id, r.has_phone, r.office_id, :family_limit, NULL, r.draw_key,
               r.family_ahead
          FROM ranked r CROSS JOIN cut
         WHERE r.family_ahead >= :family_max
           AND (r.draw_key <= cut.general
                OR (r.disabled AND r.draw_key <= cut.disability)
                OR (r.offline AND r.draw_key <= cut.offline))
        RETURNING outcome, pool, draw_key
    ), drawn AS (
        SELECT count(*) FILTER (WHERE pool = :pool_disability) AS disability_selected,
               max(draw_key) FILTER (WHERE pool = :pool_disability) AS disability_cutoff,
               count(*) FILTER (WHERE pool = :pool_offline) AS offline_selected,
               max(draw_key) FILTER (WHERE pool = :pool_offline) AS offline_cutoff,
               count(*) FILTER (WHERE pool = :pool_general) AS general_selected,
               max(draw_key) FILTER (WHERE pool = :pool_general) AS general_cutoff
          FROM kept
    )
    SELECT considered.*, drawn.*
      FROM (SELECT count(*) AS considered,
                   count(*) FILTER (WHERE family_ahead >= :family_max) AS family_limited
              FROM ranked) AS considered,
           drawn
    """
).bindparams(
    bindparam(
        "offline",
        RegistrationChannel.OFFLINE,
        type_=Participant.__table__.c.registration_channel.type,
    ),
    bindparam(
        "registered", ParticipantStatus.REGISTERED, type_=Participant.__table__.c.status.type
    ),
    bindparam("recipient", ParticipantStatus.RECIPIENT, type_=Participant.__table__.c.status.type),
    bindparam("selected", SelectionOutcome.SELECTED, type_=WaveSelection.__table__.c.outcome.type),
    bindparam(
        "family_limit",
        SelectionOutcome.FAMILY_CARD_LIMIT,
        type_=WaveSelection.__table__.c.outcome.type,
    ),
    bindparam(
        "pool_disability", SelectionPool.DISABILITY, type_=WaveSelection.__table__.c.pool.type
    ),
    bindparam("pool_offline", SelectionPool.OFFLINE, type_=WaveSelection.__table__.c.pool.type),
    bindparam("pool_general", SelectionPool.GENERAL, type_=WaveSelection.__table__.c.pool.type),
    bindparam("seed", type_=BigInteger),
    bindparam("quota", type_=Integer),
    bindparam("disability_quota", type_=Integer),
    bindparam("offline_quota", type_=Integer),
    bindparam("closes_at", type_=DateTime(timezone=True)),
    bindparam("adult_born_by", type_=Date),
    bindparam("family_max", FAMILY_CARD_RECIPIENTS_MAX, type_=Integer),
    bindparam("no_cut", 2**63 - 1, type_=BigInteger),
)

# The draw's record, in key order of the table's indexes.
_RECORD = text(
    """
    INSERT INTO wave_selections (wave_id, participant_id, outcome, pool, draw_key, family_ahead)
    SELECT :wave_id, participant_id, outcome, pool, draw_key, family_ahead
      FROM selection_draw ORDER BY participant_id
    """
).bindparams(bindparam("wave_id", type_=Integer))

# The recipients: status, wave, balance, deadline and card number, walking the table in id
# order (a selected tenth of the registrants touches most of its pages anyway).
_MAKE_RECIPIENTS = text(
    """
    UPDATE participants p
       SET status = :recipient, wave_id = :wave_id, training_balance = :balance,
           first_purchase_deadline = :deadline,
           card_number = coalesce(p.card_number, prakerja_card_number(p.id))
      FROM selection_draw d
     WHERE p.id = d.participant_id AND d.outcome = :selected
    """
).bindparams(
    bindparam("recipient", ParticipantStatus.RECIPIENT, type_=Participant.__table__.c.status.type),
    bindparam("selected", SelectionOutcome.SELECTED, type_=WaveSelection.__table__.c.outcome.type),
    bindparam("wave_id", type_=Integer),
    bindparam("balance", type_=BigInteger),
    bindparam("deadline", type_=DateTime(timezone=True)),
)

# The notice of selection: to the person's phone, or to the office that registered someone
# without one.
_TELL = text(
    """
    INSERT INTO notification_outbox (channel, participant_id, template, payload, status, attempts)
    SELECT CASE WHEN d.has_phone OR d.office_id IS NULL THEN :sms ELSE :office END,
           d.participant_id, :template,
           jsonb_build_object('waveNumber', :wave_number,
                              'to', CASE WHEN d.has_phone OR d.office_id IS NULL
                                         THEN jsonb_build_object('participant', d.participant_id)
                                         ELSE jsonb_build_object('officeId', d.office_id)
                                    END),
           :pending, 0
      FROM selection_draw d
     WHERE d.outcome = :selected
     ORDER BY d.participant_id
    """
).bindparams(
    bindparam("selected", SelectionOutcome.SELECTED, type_=WaveSelection.__table__.c.outcome.type),
    bindparam("pending", OutboxStatus.PENDING, type_=OutboxMessage.__table__.c.status.type),
    bindparam("sms", SMS_CHANNEL),
    bindparam("office", OFFICE_CHANNEL),
    bindparam("template", SELECTED_TEMPLATE),
    bindparam("wave_number", type_=Integer),
)


async def run_selection(
    session: AsyncSession, actor: Actor, *, wave_number: int, quota: int | None, now: datetime
) -> SelectionRecord:
    wave, scheme = await _wave(session, wave_number, lock=True)
    if wave.selected_at is not None:
        raise GatewayError(
            ErrorCode.WAVE_ALREADY_SELECTED, f"wave {wave_number} was selected already"
        )
    quota = quota if quota is not None else wave.quota
    if quota is None or quota <= 0:
        raise GatewayError(ErrorCode.BAD_USER_INPUT, "quota must be positive", field="quota")
    disability_quota = math.ceil(quota * wave.reserved_disability_share)
    offline_quota = min(quota - disability_quota, math.ceil(quota * wave.reserved_offline_share))
    before = (await execute_core(session, _SETTINGS, SELECTION_SETTINGS)).one()
    await execute_core(session, _DROP_DRAW)
    await execute_core(session, _CREATE_DRAW)
    row = (
        await execute_core(
            session,
            _DRAW,
            {
                "seed": wave.selection_seed,
                "closes_at": wave.closes_at,
                "adult_born_by": adult_born_by(wave.opens_at.date()),
                "disability_quota": disability_quota,
                "offline_quota": offline_quota,
                "quota": quota,
            },
        )
    ).one()
    # The writes that follow join the draw: let the planner know its size.
    await execute_core(session, _ANALYZE_DRAW)
    await execute_core(session, _RECORD, {"wave_id": wave.id})
    await execute_core(
        session,
        _MAKE_RECIPIENTS,
        {
            "wave_id": wave.id,
            "balance": scheme.training_balance,
            "deadline": max(wave.opens_at, now) + timedelta(days=scheme.purchase_deadline_days),
        },
    )
    await execute_core(session, _TELL, {"wave_number": wave.number})
    await record_selected(session, wave.number, DRAW_TABLE)
    await execute_core(session, _DROP_DRAW)
    await execute_core(
        session,
        _SETTINGS,
        {"work_mem": before.work_mem, "statement_timeout": before.statement_timeout},
    )
    pools = (
        PoolRecord(
            pool=SelectionPool.DISABILITY,
            reserved=disability_quota,
            selected=row.disability_selected,
            cutoff_key=row.disability_cutoff,
        ),
        PoolRecord(
            pool=SelectionPool.OFFLINE,
            reserved=offline_quota,
            selected=row.offline_selected,
            cutoff_key=row.offline_cutoff,
        ),
        PoolRecord(
            pool=SelectionPool.GENERAL,
            reserved=quota - disability_quota - offline_quota,
            selected=row.general_selected,
            cutoff_key=row.general_cutoff,
        ),
    )
    selected = sum(pool.selected for pool in pools)
    summary: dict[str, Any] = {
        "quota": quota,
        "considered": row.considered,
        "familyCardLimited": row.family_limited,
        "pools": {
            pool.pool.value: {
                "reserved": pool.reserved,
                "selected": pool.selected,
                "cutoffKey": None if pool.cutoff_key is None else str(pool.cutoff_key),
            }
            for pool in pools
        },
    }
    wave.quota = quota
    wave.selected_at = now
    wave.selection_summary = summary
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="wave.selected",
        entity_type="wave",
        entity_id=wave.id,
        after={**summary, "selected": selected, "selectionSeed": str(wave.selection_seed)},
    )
    return SelectionRecord(
        wave=_wave_record(wave, scheme.code, selected),
        considered=row.considered,
        selected=selected,
        family_card_limited=row.family_limited,
        pools=pools,
    )


async def wave_by_number(session: AsyncSession, number: int) -> WaveRecord:
    wave, scheme = await _wave(session, number)
    selected = await session.scalar(
        select(func.count()).where(
            WaveSelection.wave_id == wave.id, WaveSelection.outcome == SelectionOutcome.SELECTED
        )
    )
    return _wave_record(wave, scheme.code, selected or 0)


async def selection_explanation(
    session: AsyncSession, *, wave_number: int, participant_id: int
) -> ExplanationRecord:
    """Why a person was or was not selected in a wave, from its records and its seed."""
    wave, _ = await _wave(session, wave_number)
    if wave.selected_at is None or wave.selection_summary is None:
        raise GatewayError(ErrorCode.WAVE_NOT_FOUND, f"wave {wave_number} has not been selected")
    person = (
        await session.execute(
            select(
                Participant.id,
                Participant.created_at,
                Participant.birth_date,
                Participant.wave_id,
                func.hashint8extended(
                    Participant.id, bindparam("seed", wave.selection_seed, type_=BigInteger)
                ).label("draw_key"),
            ).where(Participant.id == participant_id)
        )
    ).first()
    if person is None:
        raise GatewayError(ErrorCode.REGISTRANT_NOT_FOUND, "no registrant has this id")
    recorded = (
        await session.execute(
            select(WaveSelection).where(
                WaveSelection.wave_id == wave.id, WaveSelection.participant_id == participant_id
            )
        )
    ).scalar()
    pools = wave.selection_summary["pools"]
    general_cutoff = pools[SelectionPool.GENERAL.value]["cutoffKey"]
    cutoff = None if general_cutoff is None else int(general_cutoff)
    base = {
        "wave_number": wave.number,
        "registrant_id": person.id,
        "draw_key": person.draw_key,
    }
    if recorded is not None:
        if recorded.outcome is SelectionOutcome.SELECTED:
            assert recorded.pool is not None
            pool_cutoff = pools[recorded.pool.value]["cutoffKey"]
            return ExplanationRecord(
                **base,
                outcome=recorded.outcome,
                pool=recorded.pool,
                family_ahead=recorded.family_ahead,
                cutoff_key=None if pool_cutoff is None else int(pool_cutoff),
                reason=(
                    f"selected in the {recorded.pool.value.lower()} pool: the draw key ranks "
                    f"within the pool's {pools[recorded.pool.value]['selected']} places"
                ),
            )
        return ExplanationRecord(
            **base,
            outcome=recorded.outcome,
            pool=None,
            family_ahead=recorded.family_ahead,
            cutoff_key=cutoff,
            reason=(
                f"not drawn: {recorded.family_ahead} members of the same family card were "
                f"recipients or drew ahead, and a card has at most {FAMILY_CARD_RECIPIENTS_MAX}"
            ),
        )
    if person.created_at >= wave.closes_at:
        reason = "not considered: registered after the wave closed"
    elif person.birth_date > adult_born_by(wave.opens_at.date()):
        reason = f"not considered: younger than {MIN_REGISTRATION_AGE} when the wave opened"
    elif person.wave_id is not None and person.wave_id != wave.id:
        reason = "not considered: selected in another wave"
    else:
        reason = "considered, not drawn: the draw key ranks after every pool's last place"
    return ExplanationRecord(
        **base, outcome=None, pool=None, family_ahead=None, cutoff_key=cutoff, reason=reason
    )


async def participant_by_card(session: AsyncSession, card_number: str) -> int:
    participant_id = await session.scalar(select(Participant.id).where(card_holder(card_number)))
    if participant_id is None:
        raise GatewayError(ErrorCode.PARTICIPANT_NOT_FOUND, "no participant holds this card number")
    return int(participant_id)
