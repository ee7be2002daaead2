"""The order service's gRPC servicer: proto in, the in-process adapter, proto out."""

from __future__ import annotations

import grpc

from apps.order.adapters import LocalOrderAdapter
from ecommerce.grpc.messages import fill
from ecommerce.proto.gen.order.v1 import order_pb2 as pb
from ecommerce.proto.gen.order.v1 import order_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["OrderService"].full_name


class OrderServicer(pb_grpc.OrderServiceServicer):
    def __init__(self) -> None:
        self._port = LocalOrderAdapter()

    def Checkout(self, request, context):
        result = self._port.checkout(
            user_id=request.user_id,
            idempotency_key=request.idempotency_key,
            payment_method=request.payment_method,
        )
        return fill(pb.CheckoutResponse(), result)

    def GetOrder(self, request, context):
        order = self._port.get(
            order_id=request.order_id,
            user_id=request.user_id if request.HasField("user_id") else None,
        )
        response = pb.GetOrderResponse()
        fill(response.order, order)
        return response

    def ListOrders(self, request, context):
        response = pb.ListOrdersResponse()
        for order in self._port.list(user_id=request.user_id):
            fill(response.orders.add(), order)
        return response


def register(server: grpc.Server) -> None:
    pb_grpc.add_OrderServiceServicer_to_server(OrderServicer(), server)
