"""Who a transaction acts for, told to PostgreSQL's row-level security (migration 0017).

The gateway connects as ``prakerja_app``, a role that owns nothing and is subject to the
row-level security policies on the partner-owned tables. Those policies read three
transaction-local settings, which ``bind_actor`` makes the first statement of every
transaction a session begins (``set_config(..., true)``: local to the transaction, so safe
behind PgBouncer in transaction mode, and gone at commit or rollback):

- ``prakerja.actor``: the caller's partner type (``core.enums.PartnerType``), ``SYSTEM``
  for the worker and maintenance commands, which act for no partner, or ``PUBLIC`` for the
  token-less certificate routes;
- ``prakerja.partner_id`` and ``prakerja.regency_id``: the caller's partner and, for a
  regional office, its regency.

A transaction that sets nothing sees no partner-owned row at all. The policies repeat the
rules of ``resolvers/tenancy.py`` (whose WHERE clauses stay the first line); see there.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from core.enums import PartnerType
from core.principal import Principal

# The role the gateway's serving processes are: made by migration 0017, which grants it
# exactly what the application needs (no DDL, no TRUNCATE, no BYPASSRLS, owns no table).
APP_ROLE = "prakerja_app"

ACTOR_SETTING = "prakerja.actor"
PARTNER_SETTING = "prakerja.partner_id"
REGENCY_SETTING = "prakerja.regency_id"

# Keys of ``Session.info``.
_ACTOR_KEY = "prakerja_actor"
# Tests only: a role every transaction of the sessionmaker switches to (``SET LOCAL ROLE``),
# so one connection of the owner can play both the application and the test's own set-up.
ASSUME_ROLE_KEY = "prakerja_assume_role"


class ActorKind(StrEnum):
    """What ``prakerja.actor`` may hold: a partner type, or the gateway's own work."""

    PLATFORM = PartnerType.PLATFORM.value
    TRAINING_PROVIDER = PartnerType.TRAINING_PROVIDER.value
    PAYMENT_PARTNER = PartnerType.PAYMENT_PARTNER.value
    REGIONAL_OFFICE = PartnerType.REGIONAL_OFFICE.value
    PROGRAM_MANAGEMENT = PartnerType.PROGRAM_MANAGEMENT.value
    # The webhook worker, prune, batch making, identity administration: no partner's request.
    SYSTEM = "SYSTEM"
    # The token-less certificate routes: a certificate found by its number, which is public.
    PUBLIC = "PUBLIC"


@dataclass(frozen=True, slots=True)
class ActingFor:
    kind: ActorKind
    partner_id: int | None = None
    regency_id: int | None = None

    @classmethod
    def of(cls, principal: Principal | None) -> ActingFor | None:
        if principal is None:
            return None
        return cls(
            ActorKind(principal.partner_type.value), principal.partner_id, principal.regency_id
        )

    def values(self) -> dict[str, str]:
        return {
            "actor": self.kind.value,
            "partner": "" if self.partner_id is None else str(self.partner_id),
            "regency": "" if self.regency_id is None else str(self.regency_id),
        }


SYSTEM = ActingFor(ActorKind.SYSTEM)
PUBLIC = ActingFor(ActorKind.PUBLIC)
_NOBODY = {"actor": "", "partner": "", "regency": ""}

_SETTINGS = (
    f"set_config('{ACTOR_SETTING}', :actor, true), "
    f"set_config('{PARTNER_SETTING}', :partner, true), "
    f"set_config('{REGENCY_SETTING}', :regency, true)"
)
_SET = text(f"SELECT {_SETTINGS}")


def actor_info(actor: ActingFor | None) -> dict[str, Any]:
    """``Session.info`` (or a sessionmaker's) that binds ``actor`` to every transaction."""
    return {} if actor is None else {_ACTOR_KEY: actor}


def bind_actor(session: AsyncSession, actor: ActingFor | None) -> None:
    """Every transaction ``session`` begins from now on acts for ``actor`` (None: nobody).

    Call it before the session's first statement; a transaction already open keeps what it
    had (``set_actor`` changes that one)."""
    if actor is None:
        session.info.pop(_ACTOR_KEY, None)
    else:
        session.info[_ACTOR_KEY] = actor


async def set_actor(session: AsyncSession, actor: ActingFor | None) -> None:
    """Binds ``actor`` and applies it to the transaction already open, at once."""
    bind_actor(session, actor)
    values = _NOBODY if actor is None else actor.values()
    await session.execute(_SET, values)


@contextlib.asynccontextmanager
async def acting_as_system(session: AsyncSession) -> AsyncIterator[None]:
    """Within the open transaction, reads every partner's rows for a rule that must see them
    all (a family card's registrants in every regency, a NIK registered elsewhere, another
    payment partner's primary account), then acts for the caller again.

    Only facts the rule needs leave such a block, never another partner's rows."""
    previous: ActingFor | None = session.info.get(_ACTOR_KEY)
    await set_actor(session, SYSTEM)
    try:
        yield
    except BaseException:
        # A failed statement leaves the transaction unusable until it (or its savepoint) is
        # rolled back, which undoes the setting too; the original error is what matters.
        with contextlib.suppress(Exception):
            await set_actor(session, previous)
        raise
    await set_actor(session, previous)


@functools.lru_cache(maxsize=4096)
def opening_sql(actor: ActingFor | None, role: str | None) -> str | None:
    """What a transaction acting for ``actor`` begins with, as one statement with its values
    written in (no bind step and no statement compilation on every transaction): the
    settings, after the role when a sessionmaker plays one (``ASSUME_ROLE_KEY``, a role name
    of the tests). None: nothing to set. The values are an enum member's value, integers and
    our own role names, never text from a caller."""
    if role is None and actor is None:
        return None
    values = _NOBODY if actor is None else actor.values()
    assert values["actor"] in {""} | {kind.value for kind in ActorKind}
    assert values["partner"].isdigit() or not values["partner"]
    assert values["regency"].isdigit() or not values["regency"]
    settings = (
        f"set_config('{ACTOR_SETTING}', '{values['actor']}', true), "
        f"set_config('{PARTNER_SETTING}', '{values['partner']}', true), "
        f"set_config('{REGENCY_SETTING}', '{values['regency']}', true)"
    )
    if role is None:
        return f"SELECT {settings}"
    assert role.isidentifier()
    return f"SELECT set_config('role', '{role}', true), {settings}"


def transaction_opening_sql(actor: ActingFor | None, role: str | None) -> str:
    """``BEGIN`` and what ``_apply_actor`` makes a session's transaction begin with, as one
    simple-query message (``core/db/driver_transaction.py``)."""
    opening = opening_sql(actor, role)
    return "BEGIN" if opening is None else f"BEGIN; {opening}"


@event.listens_for(Session, "after_begin")
def _apply_actor(session: Session, transaction: SessionTransaction, connection: Connection) -> Any:
    """The first statement of every transaction a bound session begins."""
    opening = opening_sql(session.info.get(_ACTOR_KEY), session.info.get(ASSUME_ROLE_KEY))
    if opening is not None:
        connection.exec_driver_sql(opening)
