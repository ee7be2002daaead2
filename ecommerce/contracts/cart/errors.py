"""The cart service's domain errors: what its port may raise, in-process or over gRPC."""

from __future__ import annotations

from ecommerce.contracts.errors import Conflict, NotFound


class CartEmpty(Conflict):
    """The cart has no items."""

    # the request is well formed; the cart's state is what refuses it
    code = "cart_empty"


class CartLocked(Conflict):
    """The cart is reserved by a checkout in progress."""

    code = "cart_locked"


class CartItemNotFound(NotFound):
    """The product is not in the cart."""

    code = "cart_item_not_found"
