"""Events the order service publishes (topic `order`): type -> payload keys every producer
includes (more may follow; consumers ignore extras). Totals in minor units."""

from __future__ import annotations

ORDER_EVENTS: dict[str, tuple[str, ...]] = {
    "order.created": ("order_id", "user_id", "total", "currency", "lines"),
    "order.completed": ("order_id", "user_id", "total", "currency", "lines"),
    "order.failed": ("order_id", "user_id", "reason"),
    "saga.step_failed": ("order_id", "step", "reason"),
}
# Each entry of an order event's `lines`: integers, unit_price in minor units (sku, name may follow).
ORDER_LINE_KEYS: tuple[str, ...] = ("product_id", "quantity", "unit_price")
