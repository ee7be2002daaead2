"""The payment service's gRPC servicer: proto in, the in-process adapter, proto out."""

from __future__ import annotations

import grpc

from apps.payment.adapters import LocalPaymentAdapter
from ecommerce.grpc.messages import fill
from ecommerce.proto.gen.payment.v1 import payment_pb2 as pb
from ecommerce.proto.gen.payment.v1 import payment_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PaymentService"].full_name


class PaymentServicer(pb_grpc.PaymentServiceServicer):
    def __init__(self) -> None:
        self._port = LocalPaymentAdapter()

    def Charge(self, request, context):
        payment = self._port.charge(
            order_id=request.order_id,
            amount=request.amount,
            currency=request.currency,
            payment_method=request.payment_method,
            idempotency_key=request.idempotency_key,
        )
        response = pb.ChargeResponse()
        fill(response.payment, payment)
        return response

    def Refund(self, request, context):
        refund = self._port.refund(
            payment_id=request.payment_id,
            idempotency_key=request.idempotency_key,
            amount=request.amount if request.HasField("amount") else None,
        )
        response = pb.RefundResponse()
        fill(response.refund, refund)
        return response

    def GetPayment(self, request, context):
        response = pb.GetPaymentResponse()
        fill(response.payment, self._port.get(payment_id=request.payment_id))
        return response

    def FindPaymentByIdempotencyKey(self, request, context):
        response = pb.FindPaymentByIdempotencyKeyResponse()
        payment = self._port.find_by_idempotency_key(idempotency_key=request.idempotency_key)
        if payment is not None:
            fill(response.payment, payment)
        return response

    def ApplyWebhook(self, request, context):
        receipt = self._port.webhook_apply(payload=request.payload, signature=request.signature)
        response = pb.ApplyWebhookResponse()
        fill(response.receipt, receipt)
        return response


def register(server: grpc.Server) -> None:
    pb_grpc.add_PaymentServiceServicer_to_server(PaymentServicer(), server)
