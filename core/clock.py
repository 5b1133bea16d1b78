"""The one clock of the gateway: timezone-aware UTC, so every stored and compared time has an
offset (a naive time cannot be compared with an aware one)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
