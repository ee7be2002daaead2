"""Charges made for real against the local Stripe-compatible server, with unique keys."""

from __future__ import annotations

import itertools
import uuid

from apps.payment import services

_orders = itertools.count(1)


def new_order_id() -> int:
    # Unique across the session: the server is shared and counts charges by order.
    return int(uuid.uuid4().int % 10**12) * 100 + next(_orders) % 100


def new_key(prefix: str = "charge") -> str:
    return f"{prefix}-{uuid.uuid4()}"


def charge(**overrides):
    params = {
        "order_id": new_order_id(),
        "amount": 1250,
        "currency": "USD",
        "payment_method": "pm_card_visa",
        "idempotency_key": new_key(),
    }
    params.update(overrides)
    return services.payment_charge(**params)
