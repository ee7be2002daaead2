"""The orchestrator's queue: the checkout saga's own work and the replies it waits for."""

from __future__ import annotations

ORDER_QUEUE = "order"

SAGA_ADVANCE = "order.saga_advance"  # kwargs: order_id
SAGA_REPLY = "order.saga_reply"  # kwargs: order_id, step, ok, result, error
SAGA_SWEEP = "order.saga_sweep"
