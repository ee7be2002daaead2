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
from ecommerce.transports.outbox import emit


def _emit(event: OrderEvent) -> None:
    emit(OutboxEvent, event, using=DB)


def _placed(event: type[OrderPlaced], order: Order, lines: Iterable[OrderLine] | None) -> None:
    """An event that carries the whole order: its total, currency and lines."""
    source = order.lines.all() if lines is None else lines
    _emit(
        event(
            order_id=order.pk,
            user_id=order.user_id,
            total=order.total,
            currency=order.currency,
            lines=tuple(OrderLineData(**line_values(line)) for line in source),
        )
    )


def order_created(order: Order, lines: Iterable[OrderLine] | None = None) -> None:
    """`lines`: the order's lines when the caller has them, else they are read."""
    _placed(OrderCreated, order, lines)


def order_completed(order: Order) -> None:
    _placed(OrderCompleted, order, None)


def order_failed(order: Order) -> None:
    _emit(OrderFailed(order_id=order.pk, user_id=order.user_id, reason=order.failure_reason))


def saga_step_failed(order: Order, *, step: str, reason: str) -> None:
    _emit(SagaStepFailed(order_id=order.pk, user_id=order.user_id, step=step, reason=reason))
