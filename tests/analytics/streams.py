"""Driving the real relay and consumer in-process, until a condition holds or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable

from apps.analytics.consumer import AnalyticsConsumer, ConsumerStats
from ecommerce.transports import kafka
from ecommerce.transports.relay import OutboxRelay


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
