"""Incentive eligibility: a participant's first certificate creates the installments of
their scheme, exactly once.

The database decides, not a read-then-write: the installments are inserted only while the
participant has no certificate but those issued by this statement's request, and
``ON CONFLICT`` on ``uq_installments_participant_kind_seq`` (participant, kind, sequence)
makes a second insert, even one racing in another transaction, add nothing. Each dated
installment is created owing its ``installment.due`` event (``due_event_pending``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, SmallInteger, String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import AUDIT_PARAMETERS, Actor, audit_values
from core.db.session import execute_core
from core.enums import IncentiveKind, InstallmentStatus
from core.incentives import installment_plan
from resolvers.disbursements.due import announce_due_installments


@dataclass(frozen=True, slots=True)
class SchemeRow:
    """A ``schemes`` row's incentive terms (``core.incentives.SchemeIncentives``)."""

    incentive_amount: int
    incentive_count: int
    survey_incentive_amount: int
    survey_count: int


@dataclass(frozen=True, slots=True)
class FirstCompletion:
    participant_id: int
    scheme: SchemeRow
    completed_at: datetime


def _status(kind: IncentiveKind, due_at: datetime | None) -> InstallmentStatus:
    # The training incentive is owed from its due date on; a survey incentive waits for
    # the survey (no date yet).
    if kind is IncentiveKind.TRAINING and due_at is not None:
        return InstallmentStatus.DUE
    return InstallmentStatus.SCHEDULED


_CREATE = text(
    """
    WITH plan AS (
        SELECT * FROM unnest(:participant_ids, :kinds, :sequences, :amounts, :due_ats,
                             :statuses)
            AS t(participant_id, kind, sequence, amount, due_at, status)
    ), changed AS (
        INSERT INTO incentive_installments (participant_id, kind, sequence, amount, due_at,
                                            status, due_event_pending)
        SELECT plan.participant_id, plan.kind, plan.sequence, plan.amount, plan.due_at,
               plan.status, plan.due_at IS NOT NULL
          FROM plan
         -- Any provider's certificate counts, which row security hides from this one:
         -- a fact function of migration 0018 answers.
         WHERE NOT prakerja_certified_otherwise(plan.participant_id, :numbers)
        ON CONFLICT ON CONSTRAINT uq_installments_participant_kind_seq DO NOTHING
        RETURNING participant_id, amount
    ), per_participant AS (
        SELECT participant_id AS id, count(*) AS installments, sum(amount) AS total
          FROM changed GROUP BY participant_id
    ), audit AS (
        INSERT INTO audit_log (action, actor_client_id, actor_partner_id, request_id,
                               source_ip, entity_type, entity_id, before, after, detail)
        SELECT :action, :actor_client_id, :actor_partner_id, :request_id,
               CAST(:source_ip AS inet), :entity_type, CAST(per_participant.id AS text),
               CAST(:before AS jsonb), CAST(:after AS jsonb),
               CAST(:detail AS jsonb) || jsonb_build_object(
                   'installments', per_participant.installments,
                   'total', CAST(per_participant.total AS text))
          FROM per_participant
    )
    SELECT id FROM per_participant
    """
).bindparams(
    bindparam("participant_ids", type_=ARRAY(BigInteger)),
    bindparam("kinds", type_=ARRAY(String)),
    bindparam("sequences", type_=ARRAY(SmallInteger)),
    bindparam("amounts", type_=ARRAY(BigInteger)),
    bindparam("due_ats", type_=ARRAY(DateTime(timezone=True))),
    bindparam("statuses", type_=ARRAY(String)),
    bindparam("numbers", type_=ARRAY(String)),
    *AUDIT_PARAMETERS,
)


async def create_first_installments(
    session: AsyncSession,
    actor: Actor,
    firsts: list[FirstCompletion],
    issued_numbers: list[str],
    *,
    now: datetime,
) -> set[int]:
    """Installments for each participant whose only certificates are ``issued_numbers``;
    returns the participants that got them. Those already due by ``now`` (the first
    training installment) are announced (``installment.due``) in this transaction; the
    later ones when their dates pass (``resolvers.disbursements.due``)."""
    columns: dict[str, list[object]] = {
        name: [] for name in ("participant_ids", "kinds", "sequences", "amounts", "due_ats")
    }
    statuses: list[str] = []
    seen: set[int] = set()
    for first in sorted(firsts, key=lambda item: item.completed_at):
        if first.participant_id in seen:
            continue  # two first completions in one request: the earlier one counts
        seen.add(first.participant_id)
        for planned in installment_plan(first.scheme, first.completed_at):
            columns["participant_ids"].append(first.participant_id)
            columns["kinds"].append(planned.kind.value)
            columns["sequences"].append(planned.sequence)
            columns["amounts"].append(planned.amount)
            columns["due_ats"].append(planned.due_at)
            statuses.append(_status(planned.kind, planned.due_at).value)
    if not statuses:
        return set()
    rows = await execute_core(
        session,
        _CREATE,
        {
            **columns,
            "statuses": statuses,
            "numbers": issued_numbers,
            **audit_values(
                actor=actor,
                action="incentive.installments_created",
                entity_type="participant",
                detail={"reason": "first certificate"},
            ),
        },
    )
    created = {row.id for row in rows}
    await announce_due_installments(session, now=now, participant_ids=created)
    return created
