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
    SagaStepFailed,
)
from ecommerce.transports.outbox import emit


def _lines(order: Order, lines: Iterable[OrderLine] | None) -> tuple[OrderLineData, ...]:
    source = order.lines.all() if lines is None else lines
    return tuple(OrderLineData(**line_values(line)) for line in source)


def _emit(event: OrderEvent) -> None:
    emit(OutboxEvent, event, using=DB)


def order_created(order: Order, lines: Iterable[OrderLine] | None = None) -> None:
    """`lines`: the order's lines when the caller has them, else they are read."""
    _emit(
        OrderCreated(
            order_id=order.pk,
            user_id=order.user_id,
            total=order.total,
            currency=order.currency,
            lines=_lines(order, lines),
        )
    )


def order_completed(order: Order) -> None:
    _emit(
        OrderCompleted(
            order_id=order.pk,
            user_id=order.user_id,
            total=order.total,
            currency=order.currency,
            lines=_lines(order, None),
        )
    )


def order_failed(order: Order) -> None:
    _emit(OrderFailed(order_id=order.pk, user_id=order.user_id, reason=order.failure_reason))


def saga_step_failed(order: Order, *, step: str, reason: str) -> None:
    _emit(SagaStepFailed(order_id=order.pk, user_id=order.user_id, step=step, reason=reason))
