"""The audit log: every state change and administrative action is recorded through here.

Records are written in the same transaction as the change they describe, so a rolled-back
change leaves no record and a committed one always has its record. Never pass a secret, a
token or a national ID number in ``before``/``after``/``detail``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AuditRecord
from core.principal import Principal


class AuditFields(TypedDict, total=False):
    """What an audit record says; ``action`` is a dotted name such as ``purchase.authorized``
    or ``client.disabled``. The actor is the principal when there is one, else the given
    client/partner ids (the token endpoint audits clients before they hold a token)."""

    action: Required[str]
    actor: Actor | None
    principal: Principal | None
    client_id: str | None
    partner_id: int | None
    request_id: str | None
    source_ip: str | None
    entity_type: str | None
    entity_id: str | int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: dict[str, Any] | None


async def record_audit(session: AsyncSession, **fields: Unpack[AuditFields]) -> None:
    """Adds one audit record to the session (flushed with the rest of the transaction)."""
    session.add(AuditRecord(**audit_values(**fields)))


def audit_values(**fields: Unpack[AuditFields]) -> dict[str, Any]:
    """One audit record's column values, for ``record_audit`` or a statement that inserts it."""
    actor = fields.get("actor")
    principal = fields.get("principal")
    request_id = fields.get("request_id")
    source_ip = fields.get("source_ip")
    entity_id = fields.get("entity_id")
    if actor is not None:
        principal = actor.principal
        request_id = request_id or actor.request_id
        source_ip = source_ip or actor.source_ip
    return {
        "action": fields["action"],
        "actor_client_id": principal.client_id if principal else fields.get("client_id"),
        "actor_partner_id": principal.partner_id if principal else fields.get("partner_id"),
        "request_id": request_id,
        "source_ip": source_ip,
        "entity_type": fields.get("entity_type"),
        "entity_id": None if entity_id is None else str(entity_id),
        "before": fields.get("before"),
        "after": fields.get("after"),
        "detail": fields.get("detail"),
    }


# One audit record per row of a CTE ``changed`` (of a ``purchases`` or any table with an id)
# in the same statement: the record's entity id is known only inside it. Its parameters are
# ``audit_values``'s keys but ``entity_id``; bind them with ``AUDIT_PARAMETERS`` so they get
# the columns' types (JSONB, INET).
AUDIT_INSERT = """
    INSERT INTO audit_log (action, actor_client_id, actor_partner_id, request_id, source_ip,
                           entity_type, entity_id, before, after, detail)
    SELECT :action, :actor_client_id, :actor_partner_id, :request_id, CAST(:source_ip AS inet),
           :entity_type, CAST(changed.id AS text),
           CAST(:before AS jsonb), CAST(:after AS jsonb), CAST(:detail AS jsonb)
      FROM changed
"""

AUDIT_PARAMETERS = tuple(
    bindparam(name, type_=AuditRecord.__table__.c[name].type)
    for name in (
        *("action", "actor_client_id", "actor_partner_id", "request_id", "source_ip"),
        *("entity_type", "before", "after", "detail"),
    )
)


@dataclass(frozen=True)
class Actor:
    """Who acts in a request, and from where: what every audited change records."""

    principal: Principal
    request_id: str | None = None
    source_ip: str | None = None

    @property
    def partner_id(self) -> int:
        return self.principal.partner_id

    @property
    def client_id(self) -> str:
        return self.principal.client_id
