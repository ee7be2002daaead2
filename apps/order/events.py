"""The order service's domain events, written to its outbox inside the changing transaction."""

from __future__ import annotations

from collections.abc import Iterable

from apps.order.models import DB, Order, OrderLine, OutboxEvent, line_values
from ecommerce.contracts.order.events import (
    OrderCompleted,
    OrderCreated,
    OrderEvent,
    OrderFailed,
    OrderLineData,
    OrderPlaced,
    SagaStepFailed,
)
from ecommerce.transports.outbox import emit, outbox_row


def _emit(event: OrderEvent) -> None:
    emit(OutboxEvent, event, using=DB)


def _placed(
    event: type[OrderPlaced], order: Order, lines: Iterable[OrderLine] | None
) -> OrderPlaced:
    """An event that carries the whole order: its total, currency and lines (read when the
    caller does not have them). An order not yet written has id 0 here: the statement that
    writes both sets it."""
    source = order.lines.all() if lines is None else lines
    return event(
        order_id=order.pk or 0,
        user_id=order.user_id,
        total=order.total,
        currency=order.currency,
        lines=tuple(OrderLineData(**line_values(line)) for line in source),
    )


def order_created(order: Order, lines: Iterable[OrderLine] | None = None) -> None:
    """`lines`: the order's lines when the caller has them, else they are read."""
    _emit(_placed(OrderCreated, order, lines))


def order_created_row(order: Order, lines: Iterable[OrderLine]) -> OutboxEvent:
    """The unsaved outbox row of `order_created` for an order not yet written."""
    return outbox_row(OutboxEvent, _placed(OrderCreated, order, lines))


def order_completed(order: Order) -> None:
    _emit(_placed(OrderCompleted, order, None))


def order_completed_row(order: Order, lines: Iterable[OrderLine]) -> OutboxEvent:
    """The unsaved outbox row of `order_completed`, for a caller that writes it in a statement
    of its own."""
    return outbox_row(OutboxEvent, _placed(OrderCompleted, order, lines))


def order_failed(order: Order) -> None:
    _emit(OrderFailed(order_id=order.pk, user_id=order.user_id, reason=order.failure_reason))


def saga_step_failed(order: Order, *, step: str, reason: str) -> None:
    _emit(SagaStepFailed(order_id=order.pk, user_id=order.user_id, step=step, reason=reason))
