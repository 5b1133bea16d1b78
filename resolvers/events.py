"""The event log: what partners hear of, written in the transaction of the change itself.

``record_event`` adds one event to the session; the purchase flow, which writes each change
in one statement, joins ``purchase_event_cte`` into it instead; certificates, registrants
and purchases changed outside that statement are recorded set-based from their rows. The
audience (who may hear of it) comes from ``resolvers.tenancy``; a trigger (migration 0010)
turns each event into the deliveries of the endpoints subscribed to it.

Payloads hold programme codes and states that every partner of the audience can already
read through the API: never a card number, a national ID, a name or a redeem code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    String,
    bindparam,
    cast,
    column,
    func,
    insert,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.session import execute_core
from core.enums import EVENT_VERSIONS, EventType, SelectionOutcome
from core.models import Event, Participant
from resolvers.tenancy import (
    purchase_event_audience_sql,
    registrant_event_audience,
    registrant_event_audiences,
)


async def record_event(
    session: AsyncSession,
    type: EventType,
    subject: str,
    payload: dict[str, Any],
    audience: Sequence[int],
) -> None:
    """Adds one event (written with the session's next flush, in its transaction)."""
    session.add(
        Event(
            type=type.value,
            version=EVENT_VERSIONS[type],
            subject=subject,
            payload=payload,
            audience=sorted(set(audience)),
        )
    )
    await session.flush()


# A purchase event's payload and audience over a row ``changed`` of ``purchases``; the same
# shape whichever statement writes it. ``event_detail`` adds the type's own fields.
_PURCHASE_EVENT_SELECT = f"""
    SELECT :event_type, :event_version, 'purchase:' || changed.id,
           jsonb_build_object(
               'invoiceCode', changed.invoice_code,
               'transactionCode', changed.transaction_code,
               'courseCode', event_course.code,
               'amount', CAST(changed.amount AS text),
               'status', changed.status,
               'authorizedAt', changed.authorized_at,
               'redeemedAt', changed.redeemed_at,
               'voidedAt', changed.voided_at
           ) || CAST(:event_detail AS jsonb),
           {purchase_event_audience_sql("changed", "event_course")}
      FROM changed JOIN courses AS event_course ON event_course.id = changed.course_id
"""  # noqa: S608 - no value of a caller's is formatted in: only the tenancy rule's SQL

# For a statement that has a CTE ``changed`` of ``purchases`` rows: ``event AS (...)``.
PURCHASE_EVENT_INSERT = (
    "INSERT INTO events (type, version, subject, payload, audience)" + _PURCHASE_EVENT_SELECT
)
PURCHASE_EVENT_PARAMETERS = (
    bindparam("event_type", type_=String),
    bindparam("event_version", type_=BigInteger),
    bindparam("event_detail", type_=JSONB),
)


def purchase_event_values(type: EventType, **detail: Any) -> dict[str, Any]:
    """The parameters of ``PURCHASE_EVENT_INSERT``."""
    return {
        "event_type": type.value,
        "event_version": EVENT_VERSIONS[type],
        "event_detail": detail,
    }


_PURCHASE_EVENT = text(
    "WITH changed AS (SELECT * FROM purchases WHERE id = :purchase_id) "  # noqa: S608 - constants only
    + PURCHASE_EVENT_INSERT
).bindparams(bindparam("purchase_id", type_=BigInteger), *PURCHASE_EVENT_PARAMETERS)


async def record_purchase_event(
    session: AsyncSession, type: EventType, purchase_id: int, **detail: Any
) -> None:
    """The event of a purchase changed through the ORM (flushed first, so it reads the
    change)."""
    await session.flush()
    await session.execute(
        _PURCHASE_EVENT, {"purchase_id": purchase_id, **purchase_event_values(type, **detail)}
    )


_CERTIFICATE_EVENTS = text(
    f"""
    INSERT INTO events (type, version, subject, payload, audience)
    SELECT :event_type, :event_version, 'purchase:' || sale.id,
           jsonb_build_object(
               'certificateNumber', certificate.number,
               'status', certificate.status,
               'courseCode', course.code,
               'invoiceCode', sale.invoice_code,
               'transactionCode', sale.transaction_code,
               'issuedAt', certificate.issued_at,
               'revokedAt', certificate.revoked_at,
               'revokeReason', certificate.revoke_reason
           ),
           {purchase_event_audience_sql("sale", "course")}
      FROM certificates AS certificate
      JOIN completions AS completion ON completion.id = certificate.completion_id
      JOIN purchases AS sale ON sale.id = completion.purchase_id
      JOIN courses AS course ON course.id = certificate.course_id
     WHERE certificate.number = ANY (:numbers)
     ORDER BY certificate.id
    """  # noqa: S608 - only the tenancy rule's SQL is formatted in
).bindparams(
    bindparam("event_type", type_=String),
    bindparam("event_version", type_=BigInteger),
    bindparam("numbers", type_=ARRAY(String)),
)


async def record_certificate_events(
    session: AsyncSession, type: EventType, numbers: Sequence[str]
) -> None:
    """One event per certificate of ``numbers``, as the certificates stand now. Its subject
    is the training's purchase: an endpoint hears of a certificate after the attendance
    that earned it (events of one subject are delivered in order)."""
    if not numbers:
        return
    await session.flush()
    await session.execute(
        _CERTIFICATE_EVENTS,
        {"event_type": type.value, "event_version": EVENT_VERSIONS[type], "numbers": list(numbers)},
    )


def _registrant_events(type: EventType, payload: Any, *where: Any, joins: Any = ()) -> Any:
    """One event per registrant (participant) row that ``where`` picks."""
    rows = select(
        literal(type.value, String),
        literal(EVENT_VERSIONS[type], BigInteger),
        func.concat("registrant:", Participant.id),
        cast(payload, JSONB),
        registrant_event_audience(Participant.regency_id),
    ).select_from(Participant)
    for joined, on in joins:
        rows = rows.join(joined, on)
    return insert(Event).from_select(
        ["type", "version", "subject", "payload", "audience"],
        rows.where(*where).order_by(Participant.id),
    )


async def record_registered(session: AsyncSession, participant_id: int) -> None:
    """``registrant.registered`` for one new registrant."""
    payload = func.jsonb_build_object(
        "registrantId",
        Participant.id,
        "channel",
        Participant.registration_channel,
        "registeredAt",
        Participant.created_at,
    )
    await session.execute(
        _registrant_events(
            EventType.REGISTRANT_REGISTERED, payload, Participant.id == participant_id
        )
    )


async def record_selected(session: AsyncSession, wave_number: int, draw_table: str) -> None:
    """``registrant.selected`` for every registrant a wave's draw selected, from the draw's
    own rows (``resolvers.registration.waves``: participant, regency, outcome and pool), the
    audience joined per regency rather than looked up per person."""
    draw = table(
        draw_table,
        column("participant_id", BigInteger),
        column("regency_id", Integer),
        column("outcome", String),
        column("pool", String),
    )
    audiences = registrant_event_audiences()
    payload = func.jsonb_build_object(
        "registrantId",
        draw.c.participant_id,
        "waveNumber",
        literal(wave_number, Integer),
        "pool",
        draw.c.pool,
    )
    rows = (
        select(
            literal(EventType.REGISTRANT_SELECTED.value, String),
            literal(EVENT_VERSIONS[EventType.REGISTRANT_SELECTED], BigInteger),
            func.concat("registrant:", draw.c.participant_id),
            cast(payload, JSONB),
            audiences.c.audience,
        )
        .select_from(draw.join(audiences, audiences.c.regency_id == draw.c.regency_id))
        .where(draw.c.outcome == literal(SelectionOutcome.SELECTED.value, String))
        .order_by(draw.c.participant_id)
    )
    await execute_core(
        session,
        insert(Event).from_select(["type", "version", "subject", "payload", "audience"], rows),
    )
