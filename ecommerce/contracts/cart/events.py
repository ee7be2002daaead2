"""Events the cart service publishes (topic `cart`), keyed by user: one open cart each, so a
cart's events stay in order."""

from __future__ import annotations

from dataclasses import dataclass

from ecommerce.contracts.events import Event, event_types


@dataclass(frozen=True, kw_only=True)
class CartLineChanged(Event):
    """`quantity` units of a product added or removed; `line_quantity` is the line's new size."""

    aggregate = "cart"
    aggregate_key = "user_id"

    user_id: int
    product_id: int
    quantity: int | None = None
    line_quantity: int | None = None


@dataclass(frozen=True, kw_only=True)
class CartItemAdded(CartLineChanged):
    type = "cart.item_added"

    quantity: int
    # The price the shopper saw, in minor units, when the add came with the product's snapshot.
    unit_price: int | None = None
    currency: str | None = None


@dataclass(frozen=True, kw_only=True)
class CartItemRemoved(CartLineChanged):
    type = "cart.item_removed"


CART_EVENTS = event_types(CartItemAdded, CartItemRemoved)
