"""Writes to payments, one module per job: `charges`, `refunds`, `webhooks` (Stripe's events) and
`reconciliation`, over `state` (how a payment's status may move, and its events).

A charge or refund row is committed before Stripe is called, and Stripe's idempotency key is
derived from the row's key, so a retried, resumed or concurrent call reaches the same Stripe
object and money moves at most once. State only moves forward, whichever of the API answer and
the webhook events arrives first.
"""

from __future__ import annotations

from apps.payment.services.charges import payment_charge, payment_refresh
from apps.payment.services.reconciliation import payments_reconcile
from apps.payment.services.refunds import payment_refund
from apps.payment.services.webhooks import stripe_event_apply

__all__ = [
    "payment_charge",
    "payment_refresh",
    "payment_refund",
    "payments_reconcile",
    "stripe_event_apply",
]
