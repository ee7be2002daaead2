"""The payment service's gRPC servicer: each RPC of its `.proto` answered by the in-process adapter,
bound by ecommerce.grpc.binding from the port and ecommerce.ports.payment.PAYMENT_RPCS."""

from __future__ import annotations

from apps.payment.adapters import LocalPaymentAdapter
from ecommerce.grpc.binding import PortServicer
from ecommerce.ports.payment import PAYMENT_RPCS, PaymentPort
from ecommerce.proto.gen.payment.v1 import payment_pb2

servicer = PortServicer(PaymentPort, PAYMENT_RPCS, payment_pb2, LocalPaymentAdapter)
SERVICE_NAME = servicer.service_name
register = servicer.register
