"""The cart's gRPC servicer: proto in, the in-process adapter, proto out."""

from __future__ import annotations

import grpc

from apps.cart.adapters import LocalCartAdapter
from ecommerce.grpc.messages import fill
from ecommerce.proto.gen.cart.v1 import cart_pb2 as pb
from ecommerce.proto.gen.cart.v1 import cart_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CartService"].full_name


class CartServicer(pb_grpc.CartServiceServicer):
    def __init__(self) -> None:
        self._port = LocalCartAdapter()

    def GetCart(self, request, context):
        response = pb.GetCartResponse()
        fill(response.cart, self._port.get(user_id=request.user_id))
        return response

    def AddItem(self, request, context):
        cart = self._port.add_item(
            user_id=request.user_id, product_id=request.product_id, quantity=request.quantity
        )
        response = pb.AddItemResponse()
        fill(response.cart, cart)
        return response

    def SetQuantity(self, request, context):
        cart = self._port.set_quantity(
            user_id=request.user_id, product_id=request.product_id, quantity=request.quantity
        )
        response = pb.SetQuantityResponse()
        fill(response.cart, cart)
        return response

    def RemoveItem(self, request, context):
        cart = self._port.remove_item(user_id=request.user_id, product_id=request.product_id)
        response = pb.RemoveItemResponse()
        fill(response.cart, cart)
        return response

    def ReserveCart(self, request, context):
        reservation = self._port.reserve(
            user_id=request.user_id, reservation_key=request.reservation_key
        )
        response = pb.ReserveCartResponse()
        fill(response.reservation, reservation)
        return response

    def ReleaseReservation(self, request, context):
        reservation = self._port.release(
            reservation_key=request.reservation_key, user_id=request.user_id
        )
        response = pb.ReleaseReservationResponse()
        fill(response.reservation, reservation)
        return response

    def CommitReservation(self, request, context):
        reservation = self._port.commit(reservation_key=request.reservation_key)
        response = pb.CommitReservationResponse()
        fill(response.reservation, reservation)
        return response


def register(server: grpc.Server) -> None:
    pb_grpc.add_CartServiceServicer_to_server(CartServicer(), server)
