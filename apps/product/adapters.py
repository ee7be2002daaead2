"""The catalogue's port in-process, over its selectors and services (served over gRPC by
ecommerce.transports.grpc.contracts)."""

from __future__ import annotations

from collections.abc import Sequence

from apps.product import selectors, services
from apps.product.models import Category, Product, StockHold
from ecommerce.contracts.product.port import (
    CategoryData,
    ProductData,
    ProductPage,
    ProductQuery,
    StockLine,
)
from ecommerce.contracts.product.port import (
    StockHold as StockHoldData,
)


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
    """The hold as the port shows it; lines a service just wrote or read are not read again."""
    taken = services.hold_lines(hold)
    lines = tuple(StockLine(product_id=pid, quantity=q) for pid, q in taken)
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
