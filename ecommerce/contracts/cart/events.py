"""Events the cart service publishes (topic `cart`): type -> payload keys every producer includes
(more may follow; consumers ignore extras)."""

from __future__ import annotations

CART_EVENTS: dict[str, tuple[str, ...]] = {
    "cart.item_added": ("user_id", "product_id", "quantity"),
    "cart.item_removed": ("user_id", "product_id"),
}
