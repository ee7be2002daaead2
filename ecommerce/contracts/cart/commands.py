"""Commands the cart service takes on its queue, sent by the order's checkout saga.

Commands carry ids only; the cart replies to the orchestrator's queue with
`ecommerce.contracts.order.commands.SAGA_REPLY`.
"""

from __future__ import annotations

CART_QUEUE = "cart"

CART_RESERVE_ITEMS = "cart.reserve_items"  # kwargs: order_id, user_id, reservation_key
CART_RELEASE_ITEMS = "cart.release_items"  # kwargs: order_id, user_id, reservation_key
