"""Charges made for real against the local Stripe-compatible server, with unique keys, and
payment rows as a crashed charge leaves them."""

from __future__ import annotations

import itertools
import uuid

import factory

from apps.payment import services
from apps.payment.models import Payment

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


class PaymentFactory(factory.django.DjangoModelFactory):
    """A payment row as the service writes it before calling Stripe."""

    class Meta:
        model = Payment

    order_id = factory.LazyFunction(new_order_id)
    amount = 1250
    currency = "USD"
    payment_method = "pm_card_visa"
    idempotency_key = factory.LazyFunction(new_key)
    status = Payment.Status.PENDING
