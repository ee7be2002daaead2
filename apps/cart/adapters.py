"""The cart's port in-process, over its selectors and services (served over gRPC by
ecommerce.transports.grpc.contracts)."""

from __future__ import annotations

from django.conf import settings

from apps.cart import selectors, services
from apps.cart.models import Cart, CartItem, CartReservation
from ecommerce.contracts.cart.port import CartData, CartLine
from ecommerce.contracts.cart.port import CartReservation as ReservationData


def _line(item) -> CartLine:
    get = item.get if isinstance(item, dict) else lambda k: getattr(item, k)
    return CartLine(
        product_id=get("product_id"),
        sku=get("sku"),
        name=get("name"),
        quantity=get("quantity"),
        unit_price=get("unit_price"),
        currency=get("currency"),
    )


def reservation_data(reservation: CartReservation) -> ReservationData:
    return ReservationData(
        reservation_key=reservation.reservation_key,
        user_id=reservation.user_id,
        status=reservation.status,
        items=tuple(_line(i) for i in reservation.items),
        currency=reservation.currency or settings.DEFAULT_CURRENCY,
    )


def cart_data(user_id: int, cart: Cart | None, items: list[CartItem]) -> CartData:
    return CartData(
        user_id=user_id,
        items=tuple(_line(i) for i in items),
        currency=(cart.currency if cart and cart.currency else settings.DEFAULT_CURRENCY),
        reserved=bool(cart and cart.reservation_key),
    )


class LocalCartAdapter:
    def get(self, *, user_id: int) -> CartData:
        return cart_data(user_id, *selectors.cart_items(user_id=user_id))

    def add_item(self, *, user_id: int, product_id: int, quantity: int) -> CartData:
        return cart_data(
            user_id,
            *services.cart_add_item(user_id=user_id, product_id=product_id, quantity=quantity),
        )

    def set_quantity(self, *, user_id: int, product_id: int, quantity: int) -> CartData:
        return cart_data(
            user_id,
            *services.cart_set_quantity(user_id=user_id, product_id=product_id, quantity=quantity),
        )

    def remove_item(self, *, user_id: int, product_id: int) -> CartData:
        return cart_data(
            user_id, *services.cart_remove_item(user_id=user_id, product_id=product_id)
        )

    def reserve(self, *, user_id: int, reservation_key: str) -> ReservationData:
        return reservation_data(
            services.cart_reserve(user_id=user_id, reservation_key=reservation_key)
        )

    def release(self, *, reservation_key: str, user_id: int) -> ReservationData:
        return reservation_data(
            services.cart_release(reservation_key=reservation_key, user_id=user_id)
        )

    def commit(self, *, reservation_key: str) -> ReservationData:
        return reservation_data(services.cart_commit(reservation_key=reservation_key))
