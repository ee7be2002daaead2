"""Events the order service publishes (topic `order`): the order's life and its saga's failed
steps. Totals and prices in minor units."""

from __future__ import annotations

from dataclasses import dataclass

from ecommerce.contracts.events import Event, event_types
from ecommerce.contracts.records import (
    MAX_INTEGER,
    InvalidRecord,
    Record,
    currency,
    non_negative,
    required_fields,
)


@dataclass(frozen=True, kw_only=True)
class OrderLineData(Record):
    """One line of an order event (sku and name when the producer had them)."""

    product_id: int = non_negative()
    quantity: int = non_negative()
    unit_price: int = non_negative()
    sku: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.quantity * self.unit_price > MAX_INTEGER:
            raise InvalidRecord("a line's total is out of range")


@dataclass(frozen=True, kw_only=True)
class OrderEvent(Event):
    aggregate = "order"
    aggregate_key = "order_id"

    order_id: int
    user_id: int


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(OrderEvent):
    total: int = non_negative()
    currency: str = currency()
    lines: tuple[OrderLineData, ...]


@dataclass(frozen=True, kw_only=True)
class OrderCreated(OrderPlaced):
    type = "order.created"


@dataclass(frozen=True, kw_only=True)
class OrderCompleted(OrderPlaced):
    type = "order.completed"


@dataclass(frozen=True, kw_only=True)
class OrderFailed(OrderEvent):
    type = "order.failed"

    reason: str


@dataclass(frozen=True, kw_only=True)
class SagaStepFailed(OrderEvent):
    type = "saga.step_failed"

    step: str
    reason: str


ORDER_LINE_KEYS = required_fields(OrderLineData)
ORDER_EVENTS = event_types(OrderCreated, OrderCompleted, OrderFailed, SagaStepFailed)
