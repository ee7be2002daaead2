"""The catalogue's port: products, categories and stock holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ecommerce.contracts.remote import rpc

ORDERINGS = ("name", "price", "-price", "-name", "id", "relevance")
# Orderings a cursor can page through: each is a keyset over (sort key, id).
CURSOR_ORDERINGS = ("name", "price", "-price", "-name", "id")


@dataclass(frozen=True, slots=True)
class CategoryData:
    id: int
    name: str
    slug: str


@dataclass(frozen=True, slots=True)
class ProductData:
    id: int
    sku: str
    name: str
    description: str
    price: int
    currency: str
    category_id: int | None
    category_slug: str | None
    is_active: bool
    stock: int

    @property
    def available(self) -> bool:
        return self.is_active and self.stock > 0


@dataclass(frozen=True, slots=True)
class ProductQuery:
    search: str = ""
    category: str = ""
    ordering: str = "name"
    offset: int = 0
    limit: int = 20
    active_only: bool = True
    # An opaque token from a previous page's next_cursor or previous_cursor: the page is then
    # the rows after (or before) it in the ordering, and `offset` is not used.
    cursor: str = ""
    # No count at all (cursor pages): `count` is then 0 and `count_capped` true.
    skip_count: bool = False


@dataclass(frozen=True, slots=True)
class ProductPage:
    # The number of matches, counted up to a bound; `count_capped` says the bound was reached.
    count: int
    items: tuple[ProductData, ...]
    next_cursor: str = ""  # empty when there is no next page (or the ordering has no cursor)
    previous_cursor: str = ""
    count_capped: bool = False


@dataclass(frozen=True, slots=True)
class StockLine:
    product_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class StockHold:
    """Stock taken out of the sellable count under one key until confirmed or released."""

    hold_key: str
    status: str  # HELD, CONFIRMED or RELEASED
    lines: tuple[StockLine, ...] = field(default_factory=tuple)


# Every catalogue call is a read or idempotent per hold key: all may be retried.
@runtime_checkable
class ProductPort(Protocol):
    @rpc("GetProduct")
    def get(self, product_id: int) -> ProductData:
        """One product, active or not. Raises ProductNotFound."""

    @rpc("GetProducts")
    def get_many(self, product_ids: Sequence[int]) -> list[ProductData]:
        """The products that exist among `product_ids`, in the order asked."""

    @rpc("ListProducts")
    def list(self, query: ProductQuery) -> ProductPage:
        """A page of products. Raises InvalidRequest for an unknown ordering or a bad cursor."""

    @rpc("ListCategories")
    def categories(self) -> list[CategoryData]:
        """Every category, by name."""

    @rpc("HoldStock")
    def stock_hold(self, *, hold_key: str, lines: Sequence[StockLine]) -> StockHold:
        """Take stock for every line or for none. Idempotent per `hold_key`.

        Raises OutOfStock (details: product_id, requested, available) or ProductUnavailable.
        """

    @rpc("ReleaseStock")
    def stock_release(self, *, hold_key: str) -> StockHold:
        """Give a held stock back. Idempotent. An unknown key leaves a RELEASED tombstone, so a
        hold that arrives late under that key takes nothing. Raises Conflict if CONFIRMED."""

    @rpc("ConfirmStock")
    def stock_confirm(self, *, hold_key: str) -> StockHold:
        """Make a hold final (the goods are sold). Idempotent. Raises NotFound."""
