"""The cart service's gRPC servicer: each RPC of its `.proto` answered by the in-process adapter,
bound by ecommerce.grpc.binding from the port and ecommerce.ports.cart.CART_RPCS."""

from __future__ import annotations

from apps.cart.adapters import LocalCartAdapter
from ecommerce.grpc.binding import PortServicer
from ecommerce.ports.cart import CART_RPCS, CartPort
from ecommerce.proto.gen.cart.v1 import cart_pb2

servicer = PortServicer(CartPort, CART_RPCS, cart_pb2, LocalCartAdapter)
SERVICE_NAME = servicer.service_name
register = servicer.register
