"""Moved to ``tests.support.enrollment``; this re-export keeps branches in flight importing.

New code imports ``tests.support.enrollment`` directly.
"""

from tests.support.enrollment import (
    ATTEND,
    AUTHORIZE,
    BALANCE,
    ENROLLMENTS,
    PLATFORM,
    PURCHASE,
    START,
    VOID,
    Sale,
    buy,
    codes,
    open_sale,
    otp_of,
    scalar,
    start,
    start_input,
)

__all__ = [
    "ATTEND",
    "AUTHORIZE",
    "BALANCE",
    "ENROLLMENTS",
    "PLATFORM",
    "PURCHASE",
    "START",
    "VOID",
    "Sale",
    "buy",
    "codes",
    "open_sale",
    "otp_of",
    "scalar",
    "start",
    "start_input",
]
