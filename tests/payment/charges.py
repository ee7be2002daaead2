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


def charge_params(**overrides) -> dict:
    """A charge's arguments: a new order and key, 12.50 USD by a card that succeeds."""
    params = {
        "order_id": new_order_id(),
        "amount": 1250,
        "currency": "USD",
        "payment_method": "pm_card_visa",
        "idempotency_key": new_key(),
    }
    return params | overrides


def charge(**overrides):
    """A charge through the payment service itself."""
    return services.payment_charge(**charge_params(**overrides))


def port_charge(port, **overrides):
    """A charge through a PaymentPort, in-process or remote."""
    return port.charge(**charge_params(**overrides))


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
