"""The order service's gRPC servicer: each RPC of its `.proto` answered by the in-process adapter,
bound by ecommerce.grpc.binding from the port and ecommerce.ports.order.ORDER_RPCS."""

from __future__ import annotations

from apps.order.adapters import LocalOrderAdapter
from ecommerce.grpc.binding import PortServicer
from ecommerce.ports.order import ORDER_RPCS, OrderPort
from ecommerce.proto.gen.order.v1 import order_pb2

servicer = PortServicer(OrderPort, ORDER_RPCS, order_pb2, LocalOrderAdapter)
SERVICE_NAME = servicer.service_name
register = servicer.register
