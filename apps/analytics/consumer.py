"""The analytics consumer: events off Kafka into the aggregates, at least once, counted once.

Per batch: parse; send what cannot be parsed to the dead-letter topic (and wait for its ack);
count the rest in one analytics-database transaction; only then commit the batch's offsets.
A crash anywhere before the commit redelivers the batch, and the processed-events table keeps
a redelivered event from being counted again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from django.conf import settings
from django.db import close_old_connections
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Gauge

from apps.analytics import services
from apps.analytics.events import Event, InvalidEvent, event_parse
from ecommerce.observability import tracing
from ecommerce.transports import kafka
from ecommerce.wiring.failpoints import failpoint

logger = logging.getLogger(__name__)

EVENTS = Counter(
    "analytics_events_processed_total",
    "Events the analytics consumer committed, by outcome: counted, or a duplicate of one "
    "counted before (a redelivery).",
    ["outcome"],
)
DEAD_LETTERED = Counter(
    "analytics_events_dead_lettered_total",
    "Messages the analytics consumer could not read and sent to the dead-letter topic.",
    ["topic"],
)
LAG = Gauge(
    "analytics_consumer_lag",
    "Messages in each assigned partition after the consumer's position (high watermark minus "
    "position).",
    ["topic", "partition"],
)
LAG_EVERY = 1.0  # seconds between lag readings


def _trace_headers(message: Message) -> dict[str, str]:
    return {
        key: value.decode(errors="replace")
        for key, value in message.headers() or ()
        if key in ("traceparent", "tracestate") and value is not None
    }


class DeadLetterFailed(RuntimeError):
    pass


@dataclass
class ConsumerStats:
    messages: int = 0
    counted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0

    def line(self) -> str:
        return (
            f"messages={self.messages} counted={self.counted} duplicates={self.duplicates} "
            f"dead_lettered={self.dead_lettered} batches={self.batches}"
        )


def source_topics() -> list[str]:
    return [kafka.service_topic(service) for service in kafka.SERVICES]


class AnalyticsConsumer:
    def __init__(
        self,
        *,
        consumer: Consumer | None = None,
        dead_letters: Producer | None = None,
        batch_size: int = 2000,
        poll_timeout: float = 0.1,
    ) -> None:
        self.consumer = consumer or Consumer(
            kafka.consumer_config(settings.ANALYTICS_CONSUMER_GROUP)
        )
        self.dead_letters = dead_letters or Producer(kafka.producer_config())
        self.dead_letter_topic = kafka.dead_letter_topic()
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.stats = ConsumerStats()
        self._lagging: set[tuple[str, str]] = set()

    def _dead_letter(self, rejected: list[tuple[Message, str]]) -> None:
        errors: list[str] = []

        def on_delivery(err, _msg) -> None:
            if err is not None:
                errors.append(str(err))

        for message, why in rejected:
            self.dead_letters.produce(
                self.dead_letter_topic,
                key=message.key(),
                value=message.value(),
                headers=[
                    ("error", why.encode()),
                    ("source_topic", message.topic().encode()),
                    ("source_partition", str(message.partition()).encode()),
                    ("source_offset", str(message.offset()).encode()),
                ],
                on_delivery=on_delivery,
            )
        while len(self.dead_letters) > 0:
            self.dead_letters.flush(1.0)
        if errors:
            raise DeadLetterFailed(f"dead-letter topic refused {len(errors)}: {errors[0]}")

    def _rewind(self, messages: list[Message]) -> None:
        """Seek back to the batch's first offsets, so the same messages come again."""
        first: dict[tuple[str, int], int] = {}
        for message in messages:
            key = (message.topic(), message.partition())
            first[key] = min(first.get(key, message.offset()), message.offset())
        for (topic, partition), offset in first.items():
            try:
                self.consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException:
                # No longer ours after a rebalance: its next owner starts from the commit.
                pass

    def process(self, messages: list[Message]) -> None:
        """Count one batch and commit its offsets; raises (committing nothing) on failure.

        When tracing, the batch is one CONSUMER span linked to the span that published each
        message: a batch mixes many checkouts, so it belongs to none of their traces."""
        if not tracing.enabled():
            self._process(messages)
            return
        with tracing.span(
            "analytics process",
            kind=SpanKind.CONSUMER,
            links=tracing.link_to(_trace_headers(message) for message in messages),
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.consumer.group.name": settings.ANALYTICS_CONSUMER_GROUP,
                "messaging.batch.message_count": len(messages),
            },
        ):
            self._process(messages)

    def _process(self, messages: list[Message]) -> None:
        events: list[Event] = []
        rejected: list[tuple[Message, str]] = []
        for message in messages:
            try:
                events.append(event_parse(message.value()))
            except InvalidEvent as exc:
                rejected.append((message, str(exc)))
        if rejected:
            self._dead_letter(rejected)
        outcome = services.events_record(events=events)
        failpoint("analytics.counted")  # counted and committed, offsets not yet: a redelivery
        offsets: dict[tuple[str, int], int] = {}
        for message in messages:
            key = (message.topic(), message.partition())
            offsets[key] = max(offsets.get(key, -1), message.offset() + 1)
        try:
            self.consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                asynchronous=False,
            )
        except KafkaException as exc:
            # Counted but not committed (a rebalance took the partition): the batch comes
            # again and is recognised as already counted.
            logger.warning("analytics: offset commit failed: %s", exc)
        EVENTS.labels("counted").inc(outcome.counted)
        EVENTS.labels("duplicate").inc(outcome.duplicates)
        for message, _why in rejected:
            DEAD_LETTERED.labels(message.topic()).inc()
        self.stats.messages += len(messages)
        self.stats.counted += outcome.counted
        self.stats.duplicates += outcome.duplicates
        self.stats.dead_lettered += len(rejected)
        self.stats.batches += 1

    def record_lag(self) -> None:
        """Each assigned partition's lag: the broker's high watermark (as of the last fetch, or
        asked for when none came yet) minus the position the consumer will read next."""
        assigned = self.consumer.assignment()
        seen = set()
        for part in self.consumer.position(assigned) if assigned else []:
            low, high = self.consumer.get_watermark_offsets(part, cached=True)
            if high < 0:
                low, high = self.consumer.get_watermark_offsets(part, timeout=1.0)
            position = part.offset
            if position < 0:  # nothing fetched yet: it starts from the committed offset
                (committed,) = self.consumer.committed([part], timeout=1.0)
                position = committed.offset if committed.offset >= 0 else low
            key = (part.topic, str(part.partition))
            LAG.labels(*key).set(max(high - position, 0))
            seen.add(key)
        for key in self._lagging - seen:  # no longer ours after a rebalance
            LAG.remove(*key)
        self._lagging = seen

    def poll(self) -> list[Message]:
        messages = []
        for message in self.consumer.consume(self.batch_size, timeout=self.poll_timeout):
            error = message.error()
            if error is None:
                messages.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                logger.warning("analytics: consumer error: %s", error)
        return messages

    def run(
        self,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        on_batch: Callable[[ConsumerStats], None] | None = None,
        error_sleep: float = 0.5,
    ) -> ConsumerStats:
        self.consumer.subscribe(source_topics())
        lag_read = 0.0
        try:
            while not should_stop():
                if time.monotonic() - lag_read >= LAG_EVERY:
                    lag_read = time.monotonic()
                    try:
                        self.record_lag()
                    except KafkaException as exc:
                        logger.warning("analytics: lag not read: %s", exc)
                messages = self.poll()
                if not messages:
                    continue
                try:
                    self.process(messages)
                except Exception:
                    logger.exception("analytics: batch failed; it will be read again")
                    close_old_connections()
                    self._rewind(messages)
                    time.sleep(error_sleep)
                    continue
                if on_batch:
                    on_batch(self.stats)
        finally:
            self.consumer.close()
            self.dead_letters.flush(10)
        return self.stats
