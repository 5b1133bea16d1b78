"""Audit records of identity events: who, what, when, from where, and how it ended.

Only identifiers are recorded (client id, partner id, kid, jti); never a secret, an
assertion or a token.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from core.audit import audit_values
from core.models import AuditRecord


class AuditAction(StrEnum):
    TOKEN_ISSUED = "oauth.token.issued"  # noqa: S105 - an action name
    TOKEN_REFUSED = "oauth.token.refused"  # noqa: S105
    TOKEN_REVOKED = "oauth.token.revoked"  # noqa: S105
    TOKEN_INTROSPECTED = "oauth.token.introspected"  # noqa: S105
    PARTNER_CREATED = "admin.partner.created"
    PARTNER_STATUS_CHANGED = "admin.partner.status_changed"
    CLIENT_CREATED = "admin.client.created"
    CLIENT_KEY_REGISTERED = "admin.client.key_registered"
    CLIENT_SECRET_ROTATED = "admin.client.secret_rotated"  # noqa: S105
    CLIENT_DISABLED = "admin.client.disabled"
    SIGNING_KEYS_ROTATED = "admin.signing_keys.rotated"


@dataclass(frozen=True)
class Origin:
    """Where an action came from: an HTTP request, or an operator at the command line."""

    request_id: str | None = None
    source_ip: str | None = None
    operator: str | None = None

    @classmethod
    def of(cls, request: Request) -> Origin:
        host = request.client.host if request.client is not None else None
        return cls(request_id=getattr(request.state, "request_id", None), source_ip=_ip(host))


def _ip(host: str | None) -> str | None:
    # The column is INET; test transports report names such as "testclient".
    if host is None:
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


async def audit(
    session: AsyncSession,
    action: AuditAction,
    origin: Origin,
    *,
    client_id: str | None = None,
    partner_id: int | None = None,
    entity: tuple[str, str] | None = None,
    outcome: str = "success",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    **detail: Any,
) -> None:
    """One record through the shared audit helper, written with the action's transaction."""
    values = audit_row(
        action,
        origin,
        client_id=client_id,
        partner_id=partner_id,
        entity=entity,
        outcome=outcome,
        before=before,
        after=after,
        **detail,
    )
    session.add(AuditRecord(**values))


def audit_row(
    action: AuditAction,
    origin: Origin,
    *,
    client_id: str | None = None,
    partner_id: int | None = None,
    entity: tuple[str, str] | None = None,
    outcome: str = "success",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """The record's column values, for ``audit`` or a statement that inserts it itself
    (the token endpoint, auth/token_requests.py)."""
    extra: dict[str, Any] = {"outcome": outcome, **detail}
    if origin.operator is not None:
        extra["operator"] = origin.operator
    return audit_values(
        action=action.value,
        client_id=client_id,
        partner_id=partner_id,
        request_id=origin.request_id,
        source_ip=origin.source_ip,
        entity_type=entity[0] if entity else None,
        entity_id=entity[1] if entity else None,
        before=before,
        after=after,
        detail=extra,
    )
