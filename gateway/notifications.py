"""Participant notifications (OTPs, registration and selection notices) out of the outbox.

The delivery worker hands each pending outbox message to a ``NotificationSender``, which
renders it and passes it to the channel the message names. Channels are adapters: an SMS
gateway in production implements ``SmsChannel``; the demo's ``LoggingSmsChannel`` only logs
that a message went (never its secret fields: the demo reads OTPs with ``prakerja-gateway
outbox``). An office-addressed notice goes to an ``OfficeChannel`` the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.outbox import Message, dispatch_pending

log = logging.getLogger(__name__)

# Payload fields a log line never shows.
SECRET_FIELDS = frozenset({"otp", "phone"})


class SmsChannel(Protocol):
    async def send_sms(self, to: dict[str, Any], text: str, *, message_id: int) -> None:
        """Sends one text or raises (the message stays pending and is tried again)."""


class LoggingSmsChannel:
    """The demo's SMS gateway: logs the message's id, template and recipient kind."""

    async def send_sms(self, to: dict[str, Any], text: str, *, message_id: int) -> None:
        log.info(
            "sms sent (demo: logged only)",
            extra={"outbox_id": message_id, "recipient": sorted(to), "length": len(text)},
        )


def render(message: Message) -> str:
    """The text of a message: its template and its values (secret ones included: this is
    what reaches the participant's phone, never a log)."""
    values = ", ".join(
        f"{key}={value}" for key, value in sorted(message.payload.items()) if key != "to"
    )
    return f"Prakerja {message.template}: {values}"


@dataclass
class NotificationSender:
    """``gateway.outbox.Sender``: routes each message to the adapter of its channel."""

    sms: SmsChannel = field(default_factory=LoggingSmsChannel)
    office: SmsChannel = field(default_factory=LoggingSmsChannel)

    async def send(self, message: Message) -> None:
        to = message.payload.get("to") or {"participant": message.participant_id}
        channel = self.office if message.channel == "office" else self.sms
        await channel.send_sms(dict(to), render(message), message_id=message.id)


async def send_notifications(
    url: str, sender: NotificationSender, *, limit: int = 100, transaction_pooler: bool = False
) -> int:
    return await dispatch_pending(url, sender, limit=limit, transaction_pooler=transaction_pooler)
