"""What one token request reads and writes: one statement each way in the common case.

A client credentials token used to cost seven round trips through the ORM session (BEGIN,
the client, the throttle counters, the active key, the counter's clean-up, the audit record,
COMMIT), which with authlib's own work held the endpoint to a few hundred tokens per second
of CPU once the secret check was cheap. Now the endpoint takes a pooled connection outside
any transaction (``Database.driver_connection``) and sends:

1. ``READ_SQL``: the claimed client and its partner, both throttle counters (client id and
   address), the active signing key's kid, and whether a client assertion's jti was used;
2. after authlib decided, ``WRITE_SQL``: the audit record, with the client id's failure
   counter cleared in the same statement when it had one (one statement is one transaction).

The rare cases write more, in one transaction (``record_outcome``): a refusal counts the
failure for both keys, a client assertion's jti enters the replay cache, and a secret still
stored as an scrypt hash is stored in its keyed form (auth/secrets.py). That last update is
never folded into the common statement: ``oauth_clients`` has a statement-level trigger that
makes every process drop its cached principals, which must not happen on every token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auth import throttle
from auth.clients import ClientRecord
from core.enums import ClientStatus, PartnerStatus, PartnerType, SigningKeyStatus

READ_SQL = f"""
SELECT c.client_id, c.name, c.status AS client_status, c.secret_hash, c.jwks, c.scopes,
       p.id AS partner_id, p.code AS partner_code, p.type AS partner_type,
       p.status AS partner_status, p.regency_id,
       (SELECT kid FROM signing_keys WHERE status = $4) AS active_kid,
       EXISTS (SELECT 1 FROM used_client_assertions u WHERE u.client_id = $6 AND u.jti = $7)
           AS assertion_seen,
       cf.failures AS client_failures, cf.wait AS client_wait, cf.recent AS client_recent,
       af.failures AS address_failures, af.wait AS address_wait, af.recent AS address_recent
  FROM (VALUES (1)) AS one
  LEFT JOIN (oauth_clients c JOIN partners p ON p.id = c.partner_id) ON c.client_id = $1
  LEFT JOIN LATERAL ({throttle.COUNTER_SQL.format(key="$2", forget="$5")}) AS cf ON true
  LEFT JOIN LATERAL ({throttle.COUNTER_SQL.format(key="$3", forget="$5")}) AS af ON true
"""  # noqa: S608 (constant fragments only)

_AUDIT_COLUMNS = (
    "action, actor_client_id, actor_partner_id, request_id, source_ip,"
    " entity_type, entity_id, before, after, detail"
)
WRITE_SQL = f"""
WITH cleared AS (DELETE FROM auth_failures WHERE key = $1)
INSERT INTO audit_log ({_AUDIT_COLUMNS})
VALUES ($2, $3, $4, $5, $6::inet, $7, $8, $9, $10, $11)
"""  # noqa: S608 (constant fragments only)

REHASH_SQL = "UPDATE oauth_clients SET secret_hash = $3 WHERE client_id = $1 AND secret_hash = $2"

FORGET_EXPIRED_ASSERTIONS_SQL = (
    "DELETE FROM used_client_assertions WHERE client_id = $1 AND expires_at < now()"
)
REMEMBER_ASSERTION_SQL = """
INSERT INTO used_client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING RETURNING jti
"""


@dataclass(frozen=True)
class RequestState:
    client: ClientRecord | None
    client_key: str | None
    address_key: str | None
    client_counter: throttle.Counter | None
    address_counter: throttle.Counter | None
    active_kid: str | None
    assertion_seen: bool

    @property
    def wait_seconds(self) -> int:
        return throttle.wait_seconds(self.client_counter, self.address_counter)


async def read_state(
    connection: Any,
    client_id: str | None,
    address: str | None,
    assertion: tuple[str, str] | None,
) -> RequestState:
    """Everything the token request needs before authlib runs, in one statement."""
    claimed = client_id if client_id and len(client_id) <= 64 else None
    client_key, address_key = throttle.keys(client_id, address)
    sub, jti = assertion if assertion is not None else (None, None)
    row = await connection.fetchrow(
        READ_SQL,
        claimed,
        client_key,
        address_key,
        SigningKeyStatus.ACTIVE.value,
        throttle.FORGET_AFTER,
        sub,
        jti[:256] if jti is not None else None,
    )
    return RequestState(
        client=_client(row) if row["client_id"] is not None else None,
        client_key=client_key,
        address_key=address_key,
        client_counter=throttle.Counter.of(
            row["client_failures"], row["client_wait"], row["client_recent"]
        ),
        address_counter=throttle.Counter.of(
            row["address_failures"], row["address_wait"], row["address_recent"]
        ),
        active_kid=row["active_kid"],
        assertion_seen=bool(row["assertion_seen"]),
    )


def _client(row: Any) -> ClientRecord:
    return ClientRecord(
        client_id=row["client_id"],
        name=row["name"],
        status=ClientStatus(row["client_status"]),
        secret_hash=row["secret_hash"],
        jwks=row["jwks"],
        scopes=frozenset(row["scopes"]),
        partner_id=row["partner_id"],
        partner_code=row["partner_code"],
        partner_type=PartnerType(row["partner_type"]),
        partner_status=PartnerStatus(row["partner_status"]),
        regency_id=row["regency_id"],
    )


@dataclass(frozen=True)
class Outcome:
    """What the token request writes once authlib decided."""

    audit: dict[str, Any]  # core.audit.audit_values of the one audit record
    succeeded: bool
    failed_authentication: bool = False
    rehashed: str | None = None  # the client's secret in the keyed form, if it was scrypt
    assertion: tuple[str, str, int] | None = None  # client id, jti, exp of a used assertion


async def record_assertion(connection: Any, assertion: tuple[str, str, int]) -> bool:
    """Records a client assertion's jti; False if another request used it first."""
    client_id, jti, exp = assertion
    await connection.execute(FORGET_EXPIRED_ASSERTIONS_SQL, client_id)
    inserted = await connection.fetchval(
        REMEMBER_ASSERTION_SQL, client_id, jti, datetime.fromtimestamp(exp, UTC)
    )
    return inserted is not None


async def record_outcome(connection: Any, state: RequestState, outcome: Outcome) -> None:
    """The audit record and, on success, the cleared counter: one statement; refusals and
    rehashes add theirs (the caller holds a transaction when there is more than one)."""
    if outcome.failed_authentication:
        for key in (state.client_key, state.address_key):
            if key is not None:
                await connection.execute(throttle.FAIL_SQL, *throttle.failure_arguments(key))
    if outcome.rehashed is not None and state.client is not None:
        await connection.execute(
            REHASH_SQL, state.client.client_id, state.client.secret_hash, outcome.rehashed
        )
    # A success clears the client id's counter, if it had one (of any age).
    clear = state.client_key if outcome.succeeded and state.client_counter is not None else None
    values = outcome.audit
    await connection.execute(
        WRITE_SQL,
        clear,
        values["action"],
        values["actor_client_id"],
        values["actor_partner_id"],
        values["request_id"],
        values["source_ip"],
        values["entity_type"],
        values["entity_id"],
        _json(values["before"]),
        _json(values["after"]),
        _json(values["detail"]),
    )


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value)
