"""The payment port in-process, over the payment app's services and selectors (served over gRPC
by ecommerce.transports.grpc.contracts)."""

from __future__ import annotations

from apps.payment import selectors, services
from apps.payment.models import Payment, Refund
from ecommerce.contracts.keys import key_check
from ecommerce.contracts.payment.port import (
    PaymentData,
    RefundData,
    WebhookReceipt,
)


def payment_data(payment: Payment) -> PaymentData:
    return PaymentData(
        id=payment.pk,
        order_id=payment.order_id,
        amount=payment.amount,
        currency=payment.currency,
        status=str(payment.status),
        provider_id=payment.provider_id,
        decline_code=payment.decline_code,
        refunded_amount=payment.refunded_amount,
        created_at=payment.created_at,
        failure_message=payment.failure_message,
    )


def refund_data(refund: Refund) -> RefundData:
    return RefundData(
        id=refund.pk,
        payment_id=refund.payment_id,
        amount=refund.amount,
        currency=refund.payment.currency,
        status=str(refund.status),
        provider_id=refund.provider_id,
    )


class LocalPaymentAdapter:
    def charge(
        self,
        *,
        order_id: int,
        amount: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
    ) -> PaymentData:
        return payment_data(
            services.payment_charge(
                order_id=order_id,
                amount=amount,
                currency=currency,
                payment_method=payment_method,
                idempotency_key=idempotency_key,
            )
        )

    def refund(
        self, *, payment_id: int, idempotency_key: str, amount: int | None = None
    ) -> RefundData:
        return refund_data(
            services.payment_refund(
                payment_id=payment_id, idempotency_key=idempotency_key, amount=amount
            )
        )

    def get(self, *, payment_id: int) -> PaymentData:
        return payment_data(selectors.payment_get(payment_id=payment_id))

    def find_by_idempotency_key(self, *, idempotency_key: str) -> PaymentData | None:
        key_check(idempotency_key, name="idempotency_key")
        payment = selectors.payment_find_by_idempotency_key(idempotency_key=idempotency_key)
        if payment is None:
            return None
        # A caller deciding whether money was taken (a compensating saga) needs Stripe's answer
        # for a payment whose outcome is open, not our last guess.
        return payment_data(services.payment_refresh(payment_id=payment.pk))

    def webhook_apply(self, *, payload: bytes, signature: str) -> WebhookReceipt:
        event, is_new = services.stripe_event_apply(payload=payload, signature=signature)
        return WebhookReceipt(
            event_id=event.event_id,
            event_type=event.event_type,
            outcome=event.outcome,
            duplicate=not is_new,
        )
