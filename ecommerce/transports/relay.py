"""The outbox relay: publishes a service's unpublished outbox rows to Kafka, oldest first.

A row is marked published only after the broker's delivery report confirmed it, so a crash at
any point leaves it unpublished and it is sent again: duplicates are possible, loss is not (the
consumer de-duplicates by event id). Rows are marked in id order up to the first one whose
delivery failed; everything after it is sent again, so the events of one aggregate never
overtake each other.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import Producer
from django.apps import apps
from django.db import close_old_connections
from django.db.models import Count, Min
from django.utils import timezone
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from ecommerce.observability import tracing
from ecommerce.transports import kafka
from ecommerce.transports.outbox import OutboxEventBase
from ecommerce.wiring.failpoints import failpoint

logger = logging.getLogger(__name__)

PUBLISHED = Counter(
    "outbox_relay_published_total",
    "Outbox rows the broker acknowledged and the relay marked published, by service.",
    ["service"],
)
ERRORS = Counter(
    "outbox_relay_errors_total",
    "Relay failures, by service and kind: a row without a delivery report (`delivery`), or a "
    "whole pass lost to the database or the broker (`pass`).",
    ["service", "kind"],
)
PASS_SECONDS = Histogram(
    "outbox_relay_pass_seconds",
    "One relay pass that had rows: read, publish, wait for every report, mark.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def outbox_model(service: str) -> type[OutboxEventBase]:
    """The service's own `OutboxEvent`, found through the app registry (apps never import apps)."""
    kafka.service_topic(service)  # rejects an unknown service
    return apps.get_model(service, "OutboxEvent")


def message_value(row: OutboxEventBase) -> bytes:
    return json.dumps(row.envelope(), separators=(",", ":")).encode()


def message_headers(
    row: OutboxEventBase, trace_context: dict[str, str] | None = None
) -> list[tuple[str, bytes]]:
    """The event's type and id, and W3C trace context (`traceparent`, ...) for the consumer:
    the relay's publish span when it traces, else the context the row was written in."""
    headers = [("event_type", row.event_type.encode()), ("event_id", str(row.event_id).encode())]
    context = trace_context if trace_context is not None else row.trace_context
    headers += [(k, str(v).encode()) for k, v in (context or {}).items()]
    return headers


def backlog_families(service: str) -> list[GaugeMetricFamily]:
    """Read at scrape time: unpublished rows and the age of the oldest, for the service."""
    pending = outbox_model(service).objects.using(service).filter(published_at__isnull=True)
    found = pending.aggregate(rows=Count("id"), oldest=Min("occurred_at"))
    backlog = GaugeMetricFamily(
        "outbox_backlog", "Outbox rows not yet published, by service.", labels=["service"]
    )
    backlog.add_metric([service], found["rows"])
    age = GaugeMetricFamily(
        "outbox_oldest_unpublished_age_seconds",
        "Age of the oldest outbox row not yet published (0 when none), by service.",
        labels=["service"],
    )
    oldest = found["oldest"]
    age.add_metric([service], (timezone.now() - oldest).total_seconds() if oldest else 0)
    return [backlog, age]


@dataclass
class PassResult:
    sent: int = 0
    confirmed: int = 0
    failed: list[str] = field(default_factory=list)


class OutboxRelay:
    def __init__(
        self,
        service: str,
        *,
        producer: Producer | None = None,
        batch_size: int = 1000,
    ) -> None:
        self.service = service
        self.model = outbox_model(service)
        self.using = service
        self.topic = kafka.service_topic(service)
        self.producer = producer or Producer(kafka.producer_config())
        self.batch_size = batch_size

    def pending(self) -> list[OutboxEventBase]:
        # Polled every few milliseconds: its queries are no one's trace.
        with tracing.untraced():
            return list(
                self.model.objects.using(self.using)
                .filter(published_at__isnull=True)
                .order_by("id")[: self.batch_size]
            )

    def publish(self, rows: list[OutboxEventBase]) -> dict[int, str | None]:
        """Send the rows and wait for every delivery report: row id -> None (ok) or the error."""
        reports: dict[int, str | None] = {}

        def report(row_id: int) -> Callable:
            def on_delivery(err, _msg) -> None:
                reports[row_id] = None if err is None else str(err)

            return on_delivery

        traced = tracing.enabled()
        for row in rows:
            if traced:
                # The event's own trace goes on: a publish span under the span that wrote it.
                with tracing.span(
                    f"{self.topic} publish",
                    parent=row.trace_context or {},
                    kind=SpanKind.PRODUCER,
                    attributes={
                        "messaging.system": "kafka",
                        "messaging.operation.type": "send",
                        "messaging.destination.name": self.topic,
                        "messaging.message.id": str(row.event_id),
                        "messaging.kafka.message.key": row.aggregate_id,
                        "ecommerce.event_type": row.event_type,
                    },
                ):
                    self._produce(row, report(row.pk), tracing.inject())
            else:
                self._produce(row, report(row.pk), None)
            self.producer.poll(0)
        # Every report must be in before anything is marked; message.timeout.ms bounds the wait.
        while len(self.producer) > 0:
            self.producer.flush(1.0)
        return reports

    def _produce(self, row: OutboxEventBase, on_delivery: Callable, context) -> None:
        while True:
            try:
                self.producer.produce(
                    self.topic,
                    key=row.aggregate_id.encode(),
                    value=message_value(row),
                    headers=message_headers(row, context),
                    on_delivery=on_delivery,
                )
                return
            except BufferError:
                self.producer.poll(0.1)  # the local queue is full: let deliveries drain

    def mark_published(self, ids: list[int]) -> None:
        if ids:
            with tracing.untraced():
                self.model.objects.using(self.using).filter(pk__in=ids).update(
                    published_at=timezone.now()
                )

    def backlog_families(self) -> list[GaugeMetricFamily]:
        return backlog_families(self.service)

    def run_once(self) -> PassResult:
        rows = self.pending()
        if not rows:
            return PassResult()
        started = time.perf_counter()
        reports = self.publish(rows)
        failpoint("relay.acknowledged")  # the worst moment to die: sent, not yet marked
        confirmed: list[int] = []
        for row in rows:
            if reports.get(row.pk, "no delivery report") is not None:
                break
            confirmed.append(row.pk)
        self.mark_published(confirmed)
        PUBLISHED.labels(self.service).inc(len(confirmed))
        PASS_SECONDS.labels(self.service).observe(time.perf_counter() - started)
        failed = [f"{row.pk}: {reports.get(row.pk)}" for row in rows if reports.get(row.pk)]
        if failed:
            ERRORS.labels(self.service, "delivery").inc(len(failed))
            logger.warning(
                "relay %s: %d of %d rows not acknowledged, sent again next pass: %s",
                self.service,
                len(failed),
                len(rows),
                failed[:3],
            )
        return PassResult(sent=len(rows), confirmed=len(confirmed), failed=failed)

    def run(
        self,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        idle_sleep: float = 0.05,
        error_sleep: float = 1.0,
    ) -> int:
        """Publish until told to stop; answers how many rows it confirmed."""
        total = 0
        while not should_stop():
            try:
                result = self.run_once()
            except Exception:
                # A lost database connection or broker: nothing was marked; try again shortly.
                logger.exception("relay %s: pass failed", self.service)
                ERRORS.labels(self.service, "pass").inc()
                close_old_connections()
                time.sleep(error_sleep)
                continue
            total += result.confirmed
            if result.failed:
                time.sleep(error_sleep)
            elif result.sent < self.batch_size:
                time.sleep(idle_sleep)
        self.producer.flush(10)
        return total
