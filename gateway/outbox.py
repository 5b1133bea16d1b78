"""The notification outbox: messages written with their transaction, delivered afterwards.

A purchase writes its OTP message in the same transaction as the purchase; a dispatcher
hands pending messages to a ``Sender`` (an SMS gateway in production; the demo's sender
prints them) and marks them sent. ``FOR UPDATE SKIP LOCKED`` lets several dispatchers run
without sending a message twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from core.enums import OutboxStatus


@dataclass(frozen=True)
class Message:
    id: int
    channel: str
    participant_id: int | None
    template: str
    payload: dict[str, Any]
    created_at: datetime


class Sender(Protocol):
    async def send(self, message: Message) -> None:
        """Delivers one message or raises; a raised message stays pending for a retry."""


async def dispatch_pending(
    url: str, sender: Sender, *, limit: int = 100, transaction_pooler: bool = False
) -> int:
    """Sends up to ``limit`` pending messages; returns how many were sent.

    Behind a transaction pooler each round's connection may meet a server connection that an
    earlier round prepared statements on, under the same names: no statement cache there
    (``core/db/engine.py`` says the same for the pool)."""
    cache = {"statement_cache_size": 0} if transaction_pooler else {}
    connection = await asyncpg.connect(url, **cache)
    sent = 0
    try:
        async with connection.transaction():
            rows = await connection.fetch(
                "SELECT id, channel, participant_id, template, payload, created_at"
                " FROM notification_outbox WHERE status = $2"
                " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                limit,
                OutboxStatus.PENDING.value,
            )
            for row in rows:
                message = _message(row)
                try:
                    await sender.send(message)
                except Exception:
                    await connection.execute(
                        "UPDATE notification_outbox SET attempts = attempts + 1 WHERE id = $1",
                        message.id,
                    )
                    continue
                # Delivered, the one-time password has no business staying at rest: the
                # participant has it, the purchase keeps only its hash.
                await connection.execute(
                    "UPDATE notification_outbox SET status = $2, sent_at = now(),"
                    " attempts = attempts + 1, payload = payload - 'otp' WHERE id = $1",
                    message.id,
                    OutboxStatus.SENT.value,
                )
                sent += 1
    finally:
        await connection.close()
    return sent


async def latest_messages(url: str, *, limit: int = 10) -> Sequence[Message]:
    """The newest messages, whatever their status (for the demo's ``outbox`` command)."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT id, channel, participant_id, template, payload, created_at"
            " FROM notification_outbox ORDER BY id DESC LIMIT $1",
            limit,
        )
    finally:
        await connection.close()
    return [_message(row) for row in rows]


class NoOtp(LookupError):
    """The outbox holds no one-time password yet."""


async def latest_otp(url: str) -> str:
    """The newest message's one-time password (``outbox --otp``, the demo walkthrough)."""
    connection = await asyncpg.connect(url)
    try:
        otp = await connection.fetchval(
            "SELECT payload->>'otp' FROM notification_outbox"
            " WHERE payload ? 'otp' ORDER BY id DESC LIMIT 1"
        )
    finally:
        await connection.close()
    if otp is None:
        raise NoOtp
    return str(otp)


def _message(row: asyncpg.Record) -> Message:
    import json

    payload = row["payload"]
    return Message(
        id=row["id"],
        channel=row["channel"],
        participant_id=row["participant_id"],
        template=row["template"],
        payload=json.loads(payload) if isinstance(payload, str) else dict(payload),
        created_at=row["created_at"],
    )
