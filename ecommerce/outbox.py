"""The transactional outbox: domain events written in the same transaction as the change.

Each service app has its own concrete `OutboxEvent` (in its own database); a relay publishes
the rows to Kafka. Event types and payload keys come from each service's contract, gathered
in `EVENT_TYPES`: what the analytics consumer reads.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils import timezone

from ecommerce import tracing
from ecommerce.contracts.cart.events import CART_EVENTS
from ecommerce.contracts.order.events import ORDER_EVENTS, ORDER_LINE_KEYS
from ecommerce.contracts.payment.events import PAYMENT_EVENTS
from ecommerce.contracts.product.events import PRODUCT_EVENTS

SCHEMA_VERSION = 1

# Every service's events, as its contract (ecommerce/contracts/<service>/events.py) lists them.
EVENT_TYPES: dict[str, tuple[str, ...]] = {
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


def emit(
    model: type[OutboxEventBase],
    event_type: str,
    *,
    aggregate_type: str,
    aggregate_id: Any,
    payload: dict[str, Any],
    using: str,
) -> OutboxEventBase:
    """Record an event; call inside the transaction (on `using`) that makes the change."""
    required = EVENT_TYPES.get(event_type)
    if required is None:
        raise ValueError(f"unknown event type {event_type!r}")
    missing = [key for key in required if key not in payload]
    if missing:
        raise ValueError(f"{event_type} payload lacks {', '.join(missing)}")
    for line in payload.get("lines", []) if "lines" in required else []:
        lacking = [key for key in ORDER_LINE_KEYS if key not in line]
        if lacking:
            raise ValueError(f"{event_type} line lacks {', '.join(lacking)}")
    return model.objects.using(using).create(
        event_type=event_type,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=payload,
        trace_context=current_trace_context(),
    )
