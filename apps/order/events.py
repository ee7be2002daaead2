"""The order service's domain events, written to its outbox inside the changing transaction."""

from __future__ import annotations

from collections.abc import Iterable

from apps.order.models import Order, OrderLine, OutboxEvent
from ecommerce.outbox import emit

DB = "order"


def _lines(order: Order, lines: Iterable[OrderLine] | None) -> list[dict]:
    return [
        {"product_id": line.product_id, "quantity": line.quantity, "unit_price": line.unit_price}
        for line in (order.lines.all() if lines is None else lines)
    ]


def _emit(event_type: str, order: Order, **payload) -> None:
    emit(
        OutboxEvent,
        event_type,
        aggregate_type="order",
        aggregate_id=order.pk,
        payload={"order_id": order.pk, "user_id": order.user_id, **payload},
        using=DB,
    )


def order_created(order: Order, lines: Iterable[OrderLine] | None = None) -> None:
    """`lines`: the order's lines when the caller has them, else they are read."""
    _emit(
        "order.created",
        order,
        total=order.total,
        currency=order.currency,
        lines=_lines(order, lines),
    )


def order_completed(order: Order) -> None:
    _emit(
        "order.completed",
        order,
        total=order.total,
        currency=order.currency,
        lines=_lines(order, None),
    )


def order_failed(order: Order) -> None:
    _emit("order.failed", order, reason=order.failure_reason)


def saga_step_failed(order: Order, *, step: str, reason: str) -> None:
    _emit("saga.step_failed", order, step=step, reason=reason)
