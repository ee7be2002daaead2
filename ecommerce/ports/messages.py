"""The asynchronous contract between services: queue names and command names, nothing else.

Commands carry ids only. A service that runs a command replies to the orchestrator's queue.
"""

from __future__ import annotations

ORDER_QUEUE = "order"
CART_QUEUE = "cart"
QUEUES = (ORDER_QUEUE, CART_QUEUE)

DEAD_LETTER_EXCHANGE = "ecommerce.dlx"


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dlq"


# Commands the order's checkout saga sends to the cart service (on CART_QUEUE).
CART_RESERVE_ITEMS = "cart.reserve_items"  # kwargs: order_id, user_id, reservation_key
CART_RELEASE_ITEMS = "cart.release_items"  # kwargs: order_id, user_id, reservation_key

# Replies and internal work of the orchestrator (on ORDER_QUEUE).
SAGA_ADVANCE = "order.saga_advance"  # kwargs: order_id
SAGA_REPLY = "order.saga_reply"  # kwargs: order_id, step, ok, result, error
SAGA_SWEEP = "order.saga_sweep"
