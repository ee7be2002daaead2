"""Driving the real relay and consumer in-process, until a condition holds or time runs out;
counting how far the events got (published rows, processed events)."""

from __future__ import annotations

import time
from collections.abc import Callable

from apps.analytics.consumer import AnalyticsConsumer, ConsumerStats
from apps.analytics.models import ProcessedEvent
from apps.cart.models import OutboxEvent as CartOutbox
from apps.order.models import OutboxEvent as OrderOutbox
from apps.payment.models import OutboxEvent as PaymentOutbox
from apps.product.models import OutboxEvent as ProductOutbox
from ecommerce.transports import kafka
from ecommerce.transports.relay import OutboxRelay

OUTBOXES = {
    "product": ProductOutbox,
    "cart": CartOutbox,
    "order": OrderOutbox,
    "payment": PaymentOutbox,
}


def published(service: str | None = None) -> int:
    """Outbox rows marked published: one service's, or every service's."""
    services = [service] if service else list(OUTBOXES)
    return sum(
        OUTBOXES[s].objects.using(s).filter(published_at__isnull=False).count() for s in services
    )


def processed() -> int:
    return ProcessedEvent.objects.using("analytics").count()


def relay_all() -> int:
    """Publish every service's outbox until nothing is left; answers how many rows."""
    total = 0
    for service in kafka.SERVICES:
        relay = OutboxRelay(service)
        while result := relay.run_once():
            if not result.sent:
                break
            total += result.confirmed
    return total


def consume_until(
    done: Callable[[ConsumerStats], bool], *, timeout: float = 30.0, **options
) -> ConsumerStats:
    consumer = AnalyticsConsumer(**options)
    deadline = time.monotonic() + timeout
    stats = consumer.run(should_stop=lambda: done(consumer.stats) or time.monotonic() > deadline)
    assert done(stats), f"consumer stopped at {stats.line()}"
    return stats
