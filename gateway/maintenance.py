"""Pruning what has outlived its purpose: expired idempotency keys, revocations, assertions,
events past the feed's retention.

Each of these tables only needs its rows until they expire: an idempotency key is kept for
its retention (7 days), a revoked token's jti until the token would have expired anyway, a
client assertion's jti until the assertion expired. Run ``prakerja-gateway prune`` from a
scheduler (hourly is plenty); it deletes in small batches so it never holds long locks.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from resolvers.webhooks import EVENT_RETENTION

BATCH = 5_000

_EXPIRED = {
    "idempotency_records": "expires_at < now()",
    "revoked_tokens": "expires_at < now()",
    "used_client_assertions": "expires_at < now()",
    # The feed's retention; deliveries and their attempts go with their event.
    "events": f"occurred_at < now() - interval '{EVENT_RETENTION.days} days'",
}


@dataclass(frozen=True)
class Pruned:
    counts: dict[str, int]


async def prune_expired(url: str) -> Pruned:
    connection = await asyncpg.connect(url)
    counts: dict[str, int] = {}
    try:
        for table, condition in _EXPIRED.items():
            total = 0
            while True:
                # Table and condition are our own constants, never input.
                status = await connection.execute(
                    f"DELETE FROM {table} WHERE ctid IN"  # noqa: S608
                    f" (SELECT ctid FROM {table} WHERE {condition} LIMIT {BATCH})"
                )
                deleted = int(status.split()[-1])
                total += deleted
                if deleted < BATCH:
                    break
            counts[table] = total
    finally:
        await connection.close()
    return Pruned(counts)
