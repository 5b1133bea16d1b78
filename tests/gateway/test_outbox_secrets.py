"""A delivered one-time password is erased from the outbox."""

from __future__ import annotations

import json
import uuid

import asyncpg

from gateway.outbox import Message, dispatch_pending


class Phone:
    def __init__(self) -> None:
        self.received: list[Message] = []

    async def send(self, message: Message) -> None:
        self.received.append(message)


async def test_delivered_otp_is_erased_from_the_outbox(seeded_url: str) -> None:
    template = f"otp-test-{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(seeded_url)
    try:
        message_id = await connection.fetchval(
            "INSERT INTO notification_outbox (channel, template, payload, status, attempts)"
            " VALUES ('sms', $1, $2::jsonb, 'PENDING', 0) RETURNING id",
            template,
            json.dumps({"otp": "123456", "amount": "600000"}),
        )
        phone = Phone()
        await dispatch_pending(seeded_url, phone)
        assert [m.payload["otp"] for m in phone.received if m.id == message_id] == ["123456"]
        stored = await connection.fetchval(
            "SELECT payload::text FROM notification_outbox WHERE id = $1", message_id
        )
        assert "123456" not in stored
        assert json.loads(stored) == {"amount": "600000"}
    finally:
        await connection.execute("DELETE FROM notification_outbox WHERE template = $1", template)
        await connection.close()
