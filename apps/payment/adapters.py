"""The payment port, twice: in-process over the payment app's services and selectors, and
over gRPC."""

from __future__ import annotations

from django.conf import settings

from apps.payment import selectors, services
from apps.payment.models import Payment, Refund
from ecommerce.grpc.channels import GrpcClient
from ecommerce.grpc.messages import from_message
from ecommerce.ports.keys import key_check
from ecommerce.ports.payment import PaymentData, RefundData, WebhookReceipt
from ecommerce.proto.gen.payment.v1 import payment_pb2 as pb
from ecommerce.proto.gen.payment.v1 import payment_pb2_grpc


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


class GrpcPaymentAdapter(GrpcClient):
    """The payment port over gRPC. Charges and refunds carry their idempotency key to Stripe,
    so a retried call can never charge or refund twice; every call may be retried."""

    service = "payment"
    stub_class = payment_pb2_grpc.PaymentServiceStub

    def charge(
        self,
        *,
        order_id: int,
        amount: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
    ) -> PaymentData:
        request = pb.ChargeRequest(
            order_id=order_id,
            amount=amount,
            currency=currency,
            payment_method=payment_method,
            idempotency_key=idempotency_key,
        )
        # Stripe itself may take seconds; the deadline is the provider's budget plus ours.
        reply = self.call("Charge", request, idempotent=True, timeout=self.slow_deadline)
        return from_message(PaymentData, reply.payment)

    def refund(
        self, *, payment_id: int, idempotency_key: str, amount: int | None = None
    ) -> RefundData:
        request = pb.RefundRequest(
            payment_id=payment_id, idempotency_key=idempotency_key, amount=amount
        )
        reply = self.call("Refund", request, idempotent=True, timeout=self.slow_deadline)
        return from_message(RefundData, reply.refund)

    def get(self, *, payment_id: int) -> PaymentData:
        reply = self.call(
            "GetPayment", pb.GetPaymentRequest(payment_id=payment_id), idempotent=True
        )
        return from_message(PaymentData, reply.payment)

    def find_by_idempotency_key(self, *, idempotency_key: str) -> PaymentData | None:
        request = pb.FindPaymentByIdempotencyKeyRequest(idempotency_key=idempotency_key)
        reply = self.call("FindPaymentByIdempotencyKey", request, idempotent=True)
        return from_message(PaymentData, reply.payment) if reply.HasField("payment") else None

    def webhook_apply(self, *, payload: bytes, signature: str) -> WebhookReceipt:
        request = pb.ApplyWebhookRequest(payload=payload, signature=signature)
        reply = self.call("ApplyWebhook", request, idempotent=True)
        return from_message(WebhookReceipt, reply.receipt)

    @property
    def slow_deadline(self) -> float:
        return settings.GRPC_DEADLINE_SECONDS + settings.GRPC_PROVIDER_DEADLINE_SECONDS
