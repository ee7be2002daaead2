"""Reads of carts."""

from __future__ import annotations

from apps.cart.models import Cart, CartItem


def cart_items(*, user_id: int) -> tuple[Cart | None, list[CartItem]]:
    cart = Cart.objects.filter(user_id=user_id).first()
    if cart is None:
        return None, []
    return cart, list(cart.items.order_by("added_at", "id"))
