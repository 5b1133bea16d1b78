"""Purchases (start, authorize by OTP, void) and attendance, with every programme rule.

Concurrency is settled by PostgreSQL, not by reading and then writing:

* a seat is taken by ``UPDATE schedules ... WHERE remaining > 0``, a balance debited by
  ``UPDATE participants ... WHERE training_balance >= amount``: two racing purchases can
  never both get the last seat or spend the same Rupiah;
* a purchase row is locked (``FOR UPDATE``) before it changes status, so an authorization,
  a void and a redemption of the same purchase happen one after the other, and the loser
  sees the winner's result;
* locks are always taken in the same order (purchase, participant, schedule) so these
  transactions cannot deadlock one another.
"""

from resolvers.enrollment.attendance import (
    LAST_SESSION_SEQUENCE,
    POST_TEST_SEQUENCE,
    REDEMPTION_SEQUENCE,
    record_attendance,
)
from resolvers.enrollment.authorize import MAX_OTP_ATTEMPTS, authorize_purchase
from resolvers.enrollment.queries import enrollments_page, purchase_by_id, purchase_by_invoice
from resolvers.enrollment.start import (
    OTP_CHANNEL,
    OTP_TEMPLATE,
    PAYMENT_TOKEN_TTL,
    PurchaseRequest,
    PurchaseStarted,
    start_purchase,
)
from resolvers.enrollment.void import void_purchase

__all__ = [
    "LAST_SESSION_SEQUENCE",
    "MAX_OTP_ATTEMPTS",
    "OTP_CHANNEL",
    "OTP_TEMPLATE",
    "PAYMENT_TOKEN_TTL",
    "POST_TEST_SEQUENCE",
    "REDEMPTION_SEQUENCE",
    "PurchaseRequest",
    "PurchaseStarted",
    "authorize_purchase",
    "enrollments_page",
    "purchase_by_id",
    "purchase_by_invoice",
    "record_attendance",
    "start_purchase",
    "void_purchase",
]
