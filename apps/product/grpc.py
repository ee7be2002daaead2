"""The product service's gRPC servicer: each RPC of its `.proto` answered by the in-process adapter,
bound by ecommerce.grpc.binding from the port and ecommerce.ports.product.PRODUCT_RPCS."""

from __future__ import annotations

from apps.product.adapters import LocalProductAdapter
from ecommerce.grpc.binding import PortServicer
from ecommerce.ports.product import PRODUCT_RPCS, ProductPort
from ecommerce.proto.gen.product.v1 import product_pb2

servicer = PortServicer(ProductPort, PRODUCT_RPCS, product_pb2, LocalProductAdapter)
SERVICE_NAME = servicer.service_name
register = servicer.register
