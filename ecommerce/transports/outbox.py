"""The transactional outbox: domain events written in the same transaction as the change.

Each service app has its own concrete `OutboxEvent` (in its own database); a relay publishes
the rows to Kafka. Each event is a typed record of its service's contract, gathered in
`EVENT_TYPES`: what the analytics consumer reads back.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils import timezone

from ecommerce.contracts.cart.events import CART_EVENTS
from ecommerce.contracts.events import SCHEMA_VERSION, Event
from ecommerce.contracts.order.events import ORDER_EVENTS
from ecommerce.contracts.payment.events import PAYMENT_EVENTS
from ecommerce.contracts.product.events import PRODUCT_EVENTS
from ecommerce.observability import tracing

# Every service's events, by type, as its contract (ecommerce/contracts/<service>/events.py)
# declares them.
EVENT_TYPES: dict[str, type[Event]] = {
    **PRODUCT_EVENTS,
    **CART_EVENTS,
    **ORDER_EVENTS,
    **PAYMENT_EVENTS,
}


class OutboxEventBase(models.Model):
    """The envelope. Subclassed once per service app, so each lives in its app's database."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(max_length=64)
    aggregate_type = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    occurred_at = models.DateTimeField(default=timezone.now)
    schema_version = models.PositiveSmallIntegerField(default=SCHEMA_VERSION)
    payload = models.JSONField()
    trace_context = models.JSONField(default=dict, blank=True)
    # Set by the relay once the broker acknowledged the message; NULL means still to send.
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_type}:{self.aggregate_id}"

    def envelope(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "occurred_at": self.occurred_at.isoformat(),
            "schema_version": self.schema_version,
            "payload": self.payload,
            "trace_context": self.trace_context,
        }


def current_trace_context() -> dict[str, str]:
    """W3C trace context of the current span ({} outside one): the relay continues from it."""
    return tracing.inject()


def outbox_row(model: type[OutboxEventBase], event: Event) -> OutboxEventBase:
    """The unsaved row that records `event`."""
    if EVENT_TYPES.get(event.type) is not type(event):
        raise ValueError(f"{type(event).__name__} is not a registered event type")
    return model(
        event_type=event.type,
        aggregate_type=event.aggregate,
        aggregate_id=event.aggregate_id,
        payload=event.to_payload(),
        trace_context=current_trace_context(),
    )


def emit(model: type[OutboxEventBase], event: Event, *, using: str) -> OutboxEventBase:
    """Record `event`; call inside the transaction (on `using`) that makes the change."""
    row = outbox_row(model, event)
    row.save(using=using, force_insert=True)
    return row
