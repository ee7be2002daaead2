"""Each service's contract bound to gRPC: its Protocol (whose methods name their RPCs) and its
generated messages, and from them the one generic client and servicer
(ecommerce/transports/grpc/binding.py).

A caller that reaches a service remotely needs only this and the service's contract package;
no app is imported, so a phase-3 edge holds none of the payment service's code to call it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType

from ecommerce.contracts.cart.port import CartPort
from ecommerce.contracts.order.port import OrderPort
from ecommerce.contracts.payment.port import PaymentPort
from ecommerce.contracts.product.port import ProductPort
from ecommerce.contracts.remote import Rpc, rpcs
from ecommerce.transports.grpc.binding import GrpcClient, PortServicer, grpc_client
from ecommerce.transports.grpc.gen.cart.v1 import cart_pb2
from ecommerce.transports.grpc.gen.order.v1 import order_pb2
from ecommerce.transports.grpc.gen.payment.v1 import payment_pb2
from ecommerce.transports.grpc.gen.product.v1 import product_pb2


@dataclass(frozen=True)
class Contract:
    service: str
    protocol: type
    messages: ModuleType

    @cached_property
    def rpcs(self) -> Mapping[str, Rpc]:
        """Each Protocol method's RPC, as its `@rpc` mark names it."""
        return rpcs(self.protocol)

    @cached_property
    def client(self) -> type[GrpcClient]:
        """The port's gRPC adapter class: each method sends its RPC (binding checked here)."""
        return grpc_client(self.protocol, self.rpcs, self.messages, service=self.service)

    def servicer(self, implementation: Callable[[], object]) -> PortServicer:
        """The port's RPCs served from `implementation()`, the app's in-process adapter."""
        return PortServicer(self.protocol, self.rpcs, self.messages, implementation)


CONTRACTS: dict[str, Contract] = {
    c.service: c
    for c in (
        Contract("product", ProductPort, product_pb2),
        Contract("cart", CartPort, cart_pb2),
        Contract("order", OrderPort, order_pb2),
        Contract("payment", PaymentPort, payment_pb2),
    )
}
