"""Events the product service publishes (topic `product`). Prices in minor units."""

from __future__ import annotations

from dataclasses import dataclass

from ecommerce.contracts.events import Event, event_types
from ecommerce.contracts.records import currency, non_negative


@dataclass(frozen=True, kw_only=True)
class ProductSnapshot(Event):
    """The product as it is after the change."""

    aggregate = "product"
    aggregate_key = "product_id"

    product_id: int
    sku: str
    name: str
    price: int = non_negative()
    currency: str = currency()
    stock: int
    is_active: bool


@dataclass(frozen=True, kw_only=True)
class ProductCreated(ProductSnapshot):
    type = "product.created"


@dataclass(frozen=True, kw_only=True)
class ProductUpdated(ProductSnapshot):
    type = "product.updated"


@dataclass(frozen=True, kw_only=True)
class StockChanged(Event):
    """Stock moved by `delta`: `reason` is held, released or adjusted; a hold names its key."""

    type = "product.stock_changed"
    aggregate = "product"
    aggregate_key = "product_id"

    product_id: int
    delta: int
    reason: str
    hold_key: str = ""


PRODUCT_EVENTS = event_types(ProductCreated, ProductUpdated, StockChanged)
