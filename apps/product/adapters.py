"""The catalogue's port, twice: in-process over its selectors and services, and over gRPC."""

from __future__ import annotations

from collections.abc import Sequence

from apps.product import selectors, services
from apps.product.models import Category, Product, StockHold
from ecommerce.grpc.channels import GrpcClient
from ecommerce.grpc.messages import fill, from_message
from ecommerce.ports.product import (
    CategoryData,
    ProductData,
    ProductPage,
    ProductQuery,
    StockLine,
)
from ecommerce.ports.product import (
    StockHold as StockHoldData,
)
from ecommerce.proto.gen.product.v1 import product_pb2 as pb
from ecommerce.proto.gen.product.v1 import product_pb2_grpc


def product_data(product: Product) -> ProductData:
    category = product.category
    return ProductData(
        id=product.pk,
        sku=product.sku,
        name=product.name,
        description=product.description,
        price=product.price,
        currency=product.currency,
        category_id=category.pk if category else None,
        category_slug=category.slug if category else None,
        is_active=product.is_active,
        stock=product.stock,
    )


def category_data(category: Category) -> CategoryData:
    return CategoryData(id=category.pk, name=category.name, slug=category.slug)


def hold_data(hold: StockHold) -> StockHoldData:
    lines = tuple(
        StockLine(product_id=pid, quantity=q)
        for pid, q in hold.lines.order_by("product_id").values_list("product_id", "quantity")
    )
    return StockHoldData(hold_key=hold.hold_key, status=hold.status, lines=lines)


class LocalProductAdapter:
    def get(self, product_id: int) -> ProductData:
        return product_data(selectors.product_get(product_id=product_id))

    def get_many(self, product_ids: Sequence[int]) -> list[ProductData]:
        return [product_data(p) for p in selectors.product_get_many(product_ids=product_ids)]

    def list(self, query: ProductQuery) -> ProductPage:
        count, items, next_cursor, previous_cursor, capped = selectors.product_page(query)
        return ProductPage(
            count=count,
            items=tuple(product_data(p) for p in items),
            next_cursor=next_cursor,
            previous_cursor=previous_cursor,
            count_capped=capped,
        )

    def categories(self) -> list[CategoryData]:
        return [category_data(c) for c in selectors.category_list()]

    def stock_hold(self, *, hold_key: str, lines: Sequence[StockLine]) -> StockHoldData:
        return hold_data(services.stock_hold(hold_key=hold_key, lines=lines))

    def stock_release(self, *, hold_key: str) -> StockHoldData:
        return hold_data(services.stock_release(hold_key=hold_key))

    def stock_confirm(self, *, hold_key: str) -> StockHoldData:
        return hold_data(services.stock_confirm(hold_key=hold_key))


class GrpcProductAdapter(GrpcClient):
    """The catalogue's port over gRPC: every call is a read or idempotent per key, so every
    call may be retried when the service is briefly unavailable."""

    service = "product"
    stub_class = product_pb2_grpc.ProductServiceStub

    def get(self, product_id: int) -> ProductData:
        reply = self.call(
            "GetProduct", pb.GetProductRequest(product_id=product_id), idempotent=True
        )
        return from_message(ProductData, reply.product)

    def get_many(self, product_ids: Sequence[int]) -> list[ProductData]:
        request = pb.GetProductsRequest(product_ids=list(product_ids))
        reply = self.call("GetProducts", request, idempotent=True)
        return [from_message(ProductData, p) for p in reply.products]

    def list(self, query: ProductQuery) -> ProductPage:
        request = pb.ListProductsRequest()
        fill(request.query, query)
        return from_message(ProductPage, self.call("ListProducts", request, idempotent=True))

    def categories(self) -> list[CategoryData]:
        reply = self.call("ListCategories", pb.ListCategoriesRequest(), idempotent=True)
        return [from_message(CategoryData, c) for c in reply.categories]

    def stock_hold(self, *, hold_key: str, lines: Sequence[StockLine]) -> StockHoldData:
        request = pb.HoldStockRequest(
            hold_key=hold_key,
            lines=[pb.StockLine(product_id=x.product_id, quantity=x.quantity) for x in lines],
        )
        return from_message(StockHoldData, self.call("HoldStock", request, idempotent=True).hold)

    def stock_release(self, *, hold_key: str) -> StockHoldData:
        request = pb.ReleaseStockRequest(hold_key=hold_key)
        return from_message(StockHoldData, self.call("ReleaseStock", request, idempotent=True).hold)

    def stock_confirm(self, *, hold_key: str) -> StockHoldData:
        request = pb.ConfirmStockRequest(hold_key=hold_key)
        return from_message(StockHoldData, self.call("ConfirmStock", request, idempotent=True).hold)
