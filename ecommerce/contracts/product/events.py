"""Events the product service publishes (topic `product`): type -> payload keys every producer
includes (more may follow; consumers ignore extras). Prices in minor units."""

from __future__ import annotations

_PRODUCT = ("product_id", "sku", "name", "price", "currency", "stock", "is_active")

PRODUCT_EVENTS: dict[str, tuple[str, ...]] = {
    "product.created": _PRODUCT,
    "product.updated": _PRODUCT,
    "product.stock_changed": ("product_id", "delta", "reason", "hold_key"),
}
