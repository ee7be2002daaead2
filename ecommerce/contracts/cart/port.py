"""The cart's port: one open cart per user, and reservations that lock it for a checkout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ecommerce.contracts.remote import rpc

MAX_LINE_QUANTITY = 99


@dataclass(frozen=True, slots=True)
class CartLine:
    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price: int
    currency: str

    @property
    def line_total(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class CartData:
    user_id: int
    items: tuple[CartLine, ...]
    currency: str
    reserved: bool = False

    @property
    def total(self) -> int:
        return sum(line.line_total for line in self.items)


@dataclass(frozen=True, slots=True)
class CartReservation:
    """A snapshot of a cart's lines, locked for one checkout until committed or released."""

    reservation_key: str
    user_id: int
    status: str  # RESERVED, COMMITTED or RELEASED
    items: tuple[CartLine, ...]
    currency: str

    @property
    def total(self) -> int:
        return sum(line.line_total for line in self.items)


# Adding a line increments it and removing one twice fails, so those two are never retried; the
# rest are reads, absolute updates or idempotent per reservation key.
@runtime_checkable
class CartPort(Protocol):
    @rpc("GetCart")
    def get(self, *, user_id: int) -> CartData:
        """The user's open cart (empty if none)."""

    @rpc("AddItem", idempotent=False)
    def add_item(self, *, user_id: int, product_id: int, quantity: int) -> CartData:
        """Add or increment. Raises ProductNotFound, ProductUnavailable, InvalidRequest, CartLocked."""

    @rpc("SetQuantity")
    def set_quantity(self, *, user_id: int, product_id: int, quantity: int) -> CartData:
        """Set a line's quantity. Raises CartItemNotFound, InvalidRequest, CartLocked."""

    @rpc("RemoveItem", idempotent=False)
    def remove_item(self, *, user_id: int, product_id: int) -> CartData:
        """Remove a line. Raises CartItemNotFound, CartLocked."""

    @rpc("ReserveCart")
    def reserve(self, *, user_id: int, reservation_key: str) -> CartReservation:
        """Lock the cart's lines for a checkout. Idempotent per key. Raises CartEmpty, CartLocked."""

    @rpc("ReleaseReservation")
    def release(self, *, reservation_key: str, user_id: int) -> CartReservation:
        """Unlock the cart, lines intact. Idempotent. An unknown key leaves a RELEASED
        tombstone, so a reservation that arrives late under that key locks nothing."""

    @rpc("CommitReservation")
    def commit(self, *, reservation_key: str) -> CartReservation:
        """The checkout succeeded: remove the reserved lines. Idempotent. Raises NotFound."""
