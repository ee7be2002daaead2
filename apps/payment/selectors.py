"""Reads of payments and refunds."""

from __future__ import annotations

from apps.payment.models import DB, Payment, Refund
from ecommerce.contracts.payment.errors import PaymentNotFound

_CHARGED = (Payment.Status.SUCCEEDED, Payment.Status.PARTIALLY_REFUNDED, Payment.Status.REFUNDED)


def payment_get(*, payment_id: int) -> Payment:
    payment = Payment.objects.using(DB).filter(pk=payment_id).first()
    if payment is None:
        raise PaymentNotFound(f"No payment {payment_id}.", {"payment_id": payment_id})
    return payment


def payment_find_by_idempotency_key(*, idempotency_key: str) -> Payment | None:
    return Payment.objects.using(DB).filter(idempotency_key=idempotency_key).first()


def payments_for_order(*, order_id: int) -> list[Payment]:
    return list(Payment.objects.using(DB).filter(order_id=order_id))


def refundable_amount(*, payment: Payment) -> int:
    """What may still be refunded: refunds whose outcome is open count as taken."""
    committed = sum(
        payment.refunds.exclude(status=Refund.Status.FAILED).values_list("amount", flat=True)
    )
    return max(payment.amount - committed, 0) if payment.status in _CHARGED else 0
