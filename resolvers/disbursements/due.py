"""``installment.due``: one event per installment once its due date has passed.

An installment falls due at its ``due_at`` (``core.incentives``: the first on completion,
then monthly). The completion that creates the installments announces those already due in
its own transaction; the delivery worker (``prakerja-gateway worker``) announces the later
ones as their dates pass, and batch making announces any still pending before it takes
them, so a payment partner hears of an installment before the batch that pays it.

Exactly once: the statement that writes the event clears the installment's
``due_event_pending`` (rows locked, ``SKIP LOCKED`` for a concurrent announcer), and
``uq_events_installment_due`` refuses a second event for the same installment.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Final

from sqlalchemy import BigInteger, String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.actor import acting_as_system
from core.db.session import execute_core
from core.enums import EVENT_VERSIONS, EventType
from resolvers.tenancy import installment_event_audience_sql

# Announced per statement; the worker repeats until fewer come back.
ANNOUNCE_LIMIT: Final = 5_000

# The installment's id in the payload is its GraphQL global id (``installmentHistory``
# takes it): ``schema.common.to_global_id("Installment", id)``, base64url without padding.
_ANNOUNCE = text(
    f"""
    WITH due AS (
        SELECT id FROM incentive_installments
         WHERE due_event_pending AND due_at <= :now
           AND (CAST(:participant_ids AS bigint[]) IS NULL
                OR participant_id = ANY (CAST(:participant_ids AS bigint[])))
         ORDER BY due_at, id
         LIMIT :limit
           FOR UPDATE SKIP LOCKED
    ), announced AS (
        UPDATE incentive_installments AS installment SET due_event_pending = false
          FROM due WHERE installment.id = due.id
        RETURNING installment.*
    )
    INSERT INTO events (type, version, subject, payload, audience)
    SELECT :event_type, :event_version, 'installment:' || installment.id,
           jsonb_build_object(
               'installmentId',
               rtrim(translate(encode(convert_to('Installment:' || installment.id, 'UTF8'),
                                      'base64'), '+/', '-_'), '='),
               'kind', installment.kind,
               'sequence', installment.sequence,
               'amount', CAST(installment.amount AS text),
               'dueAt', installment.due_at
           ),
           {installment_event_audience_sql("installment")}
      FROM announced AS installment
     ORDER BY installment.due_at, installment.id
    RETURNING id
    """  # noqa: S608 - only the tenancy rule's SQL is formatted in
).bindparams(
    bindparam("participant_ids", type_=ARRAY(BigInteger)),
    bindparam("event_type", type_=String),
    bindparam("event_version", type_=BigInteger),
)


async def announce_due_installments(
    session: AsyncSession,
    *,
    now: datetime,
    participant_ids: Collection[int] | None = None,
    limit: int = ANNOUNCE_LIMIT,
) -> int:
    """Writes ``installment.due`` for up to ``limit`` installments due by ``now`` and not
    yet announced (of ``participant_ids`` only, when given); returns how many."""
    if participant_ids is not None and not participant_ids:
        return 0
    # The audience is the payment partner holding the person's primary account, whoever's
    # transaction announces (a provider's first certificate): row security would hide that
    # account from the caller, and only the count leaves this block.
    async with acting_as_system(session):
        rows = await execute_core(
            session,
            _ANNOUNCE,
            {
                "now": now,
                "participant_ids": None if participant_ids is None else sorted(participant_ids),
                "limit": limit,
                "event_type": EventType.INSTALLMENT_DUE.value,
                "event_version": EVENT_VERSIONS[EventType.INSTALLMENT_DUE],
            },
        )
        return len(rows.all())
