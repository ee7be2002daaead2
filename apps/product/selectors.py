"""Reads of the catalogue."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Q, QuerySet

from apps.product.models import Category, Product
from ecommerce.errors import InvalidRequest, ProductNotFound
from ecommerce.ports.product import ORDERINGS, ProductQuery

_ORDER_BY = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "id": ("id",),
}


def product_get(*, product_id: int) -> Product:
    try:
        return Product.objects.select_related("category").get(pk=product_id)
    except Product.DoesNotExist:
        raise ProductNotFound(
            f"Product {product_id} does not exist.", {"product_id": product_id}
        ) from None


def product_get_many(*, product_ids: Sequence[int]) -> list[Product]:
    found = Product.objects.select_related("category").in_bulk(list(product_ids))
    return [found[pid] for pid in product_ids if pid in found]


def product_filter(query: ProductQuery) -> QuerySet[Product]:
    if query.ordering not in ORDERINGS:
        raise InvalidRequest(
            f"Unknown ordering {query.ordering!r}.",
            {"ordering": [f"Choose one of: {', '.join(ORDERINGS)}."]},
        )
    qs = Product.objects.select_related("category")
    if query.active_only:
        qs = qs.filter(is_active=True)
    if query.search:
        qs = qs.filter(
            Q(name__icontains=query.search)
            | Q(sku__iexact=query.search)
            | Q(description__icontains=query.search)
        )
    if query.category:
        key = query.category
        # str.isdigit() also accepts "²" and other non-ASCII digits, which int() refuses.
        by_id = key.isascii() and key.isdigit()
        qs = qs.filter(category__pk=int(key)) if by_id else qs.filter(category__slug=key)
    return qs.order_by(*_ORDER_BY[query.ordering])


def product_page(query: ProductQuery) -> tuple[int, list[Product]]:
    """Two queries whatever the page size: the count and the page (category joined in)."""
    qs = product_filter(query)
    count = qs.count()
    items = list(qs[query.offset : query.offset + query.limit]) if count > query.offset else []
    return count, items


def category_list() -> list[Category]:
    return list(Category.objects.order_by("name"))
