"""Events the payment service publishes (topic `payment`): type -> payload keys every producer
includes (more may follow; consumers ignore extras). Amounts in minor units."""

from __future__ import annotations

_PAYMENT = ("payment_id", "order_id", "amount", "currency")

PAYMENT_EVENTS: dict[str, tuple[str, ...]] = {
    "payment.succeeded": _PAYMENT,
    "payment.declined": (*_PAYMENT, "decline_code"),
    "payment.refunded": _PAYMENT,
}
