"""The order service's domain events, written to its outbox inside the changing transaction."""

from __future__ import annotations

from collections.abc import Iterable

from apps.order.models import Order, OrderLine, OutboxEvent
from ecommerce.contracts.order.events import (
    OrderCompleted,
    OrderCreated,
    OrderEvent,
    OrderFailed,
    OrderLineData,
    SagaStepFailed,
)
from ecommerce.outbox import emit, outbox_row

DB = "order"


def _lines(order: Order, lines: Iterable[OrderLine] | None) -> tuple[OrderLineData, ...]:
    return tuple(
        OrderLineData(
            product_id=line.product_id,
            quantity=line.quantity,
            unit_price=line.unit_price,
            sku=line.sku,
            name=line.name,
        )
        for line in (order.lines.all() if lines is None else lines)
    )


def _emit(event: OrderEvent) -> None:
    emit(OutboxEvent, event, using=DB)


def _order_created(order: Order, lines: Iterable[OrderLine] | None) -> OrderCreated:
    return OrderCreated(
        order_id=order.pk or 0,
        user_id=order.user_id,
        total=order.total,
        currency=order.currency,
        lines=_lines(order, lines),
    )


def order_created(order: Order, lines: Iterable[OrderLine] | None = None) -> None:
    """`lines`: the order's lines when the caller has them, else they are read."""
    _emit(_order_created(order, lines))


def order_created_row(order: Order, lines: Iterable[OrderLine]) -> OutboxEvent:
    """The unsaved outbox row of `order_created` for an order not yet written: the statement
    that writes both sets its order id (0 here)."""
    return outbox_row(OutboxEvent, _order_created(order, lines))


def _order_completed(order: Order, lines: Iterable[OrderLine] | None = None) -> OrderCompleted:
    return OrderCompleted(
        order_id=order.pk,
        user_id=order.user_id,
        total=order.total,
        currency=order.currency,
        lines=_lines(order, lines),
    )


def order_completed(order: Order) -> None:
    _emit(_order_completed(order))


def order_completed_row(order: Order, lines: Iterable[OrderLine]) -> OutboxEvent:
    """The unsaved outbox row of `order_completed`, for a caller that writes it in a statement
    of its own."""
    return outbox_row(OutboxEvent, _order_completed(order, lines))


def order_failed(order: Order) -> None:
    _emit(OrderFailed(order_id=order.pk, user_id=order.user_id, reason=order.failure_reason))


def saga_step_failed(order: Order, *, step: str, reason: str) -> None:
    _emit(SagaStepFailed(order_id=order.pk, user_id=order.user_id, step=step, reason=reason))
