"""Reads of carts."""

from __future__ import annotations

from apps.cart.models import Cart, CartItem


def cart_items(*, user_id: int) -> tuple[Cart | None, list[CartItem]]:
    """The cart and its lines: one statement for a cart with lines (its lines with the cart
    joined), a second one only for an empty cart."""
    items = list(
        CartItem.objects.filter(cart__user_id=user_id)
        .select_related("cart")
        .order_by("added_at", "id")
    )
    if items:
        return items[0].cart, items
    return Cart.objects.filter(user_id=user_id).first(), []
