"""Events the payment service publishes (topic `payment`). Amounts in minor units."""

from __future__ import annotations

from dataclasses import dataclass

from ecommerce.contracts.events import Event, event_types
from ecommerce.contracts.records import currency, non_negative


@dataclass(frozen=True, kw_only=True)
class PaymentEvent(Event):
    aggregate = "payment"
    aggregate_key = "payment_id"

    payment_id: int
    order_id: int
    amount: int = non_negative()
    currency: str = currency()


@dataclass(frozen=True, kw_only=True)
class ChargeSucceeded(PaymentEvent):
    type = "payment.succeeded"


@dataclass(frozen=True, kw_only=True)
class ChargeDeclined(PaymentEvent):
    type = "payment.declined"

    decline_code: str


@dataclass(frozen=True, kw_only=True)
class PaymentRefunded(PaymentEvent):
    """`amount` is this refund's; the payment's own amount and refunded total follow."""

    type = "payment.refunded"

    refund_id: int | None = None
    refunded_total: int | None = None
    payment_amount: int | None = None


PAYMENT_EVENTS = event_types(ChargeSucceeded, ChargeDeclined, PaymentRefunded)
