"""Commands the cart service takes on its queue, sent by the order's checkout saga.

Commands carry ids only; the cart answers each with
`ecommerce.contracts.order.commands.SagaReply` on the orchestrator's queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecommerce.contracts.commands import Command
from ecommerce.contracts.records import key, positive

CART_QUEUE = "cart"


@dataclass(frozen=True, kw_only=True)
class ReservationCommand(Command):
    queue = CART_QUEUE

    order_id: int = positive()
    user_id: int = positive()
    reservation_key: str = key()


@dataclass(frozen=True, kw_only=True)
class ReserveItems(ReservationCommand):
    """Lock the user's cart lines for this checkout (idempotent per reservation key)."""

    name = "cart.reserve_items"


@dataclass(frozen=True, kw_only=True)
class ReleaseItems(ReservationCommand):
    """Give the reserved lines back to the cart (a compensation; idempotent)."""

    name = "cart.release_items"
