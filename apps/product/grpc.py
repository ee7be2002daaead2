"""The catalogue's gRPC servicer: proto in, the in-process adapter, proto out."""

from __future__ import annotations

import grpc

from apps.product.adapters import LocalProductAdapter
from ecommerce.grpc.messages import fill, from_message
from ecommerce.ports.product import ProductQuery, StockLine
from ecommerce.proto.gen.product.v1 import product_pb2 as pb
from ecommerce.proto.gen.product.v1 import product_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ProductService"].full_name


def _lines(request) -> list[StockLine]:
    return [StockLine(product_id=line.product_id, quantity=line.quantity) for line in request.lines]


class ProductServicer(pb_grpc.ProductServiceServicer):
    def __init__(self) -> None:
        self._port = LocalProductAdapter()

    def GetProduct(self, request, context):
        response = pb.GetProductResponse()
        fill(response.product, self._port.get(request.product_id))
        return response

    def GetProducts(self, request, context):
        response = pb.GetProductsResponse()
        for product in self._port.get_many(list(request.product_ids)):
            fill(response.products.add(), product)
        return response

    def ListProducts(self, request, context):
        page = self._port.list(from_message(ProductQuery, request.query))
        return fill(pb.ListProductsResponse(), page)

    def ListCategories(self, request, context):
        response = pb.ListCategoriesResponse()
        for category in self._port.categories():
            fill(response.categories.add(), category)
        return response

    def HoldStock(self, request, context):
        hold = self._port.stock_hold(hold_key=request.hold_key, lines=_lines(request))
        response = pb.HoldStockResponse()
        fill(response.hold, hold)
        return response

    def ReleaseStock(self, request, context):
        response = pb.ReleaseStockResponse()
        fill(response.hold, self._port.stock_release(hold_key=request.hold_key))
        return response

    def ConfirmStock(self, request, context):
        response = pb.ConfirmStockResponse()
        fill(response.hold, self._port.stock_confirm(hold_key=request.hold_key))
        return response


def register(server: grpc.Server) -> None:
    pb_grpc.add_ProductServiceServicer_to_server(ProductServicer(), server)
