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

from apps.analytics import services
from apps.analytics.events import Event, InvalidEvent, event_parse
from ecommerce import kafka, tracing
from ecommerce.failpoints import failpoint

logger = logging.getLogger(__name__)


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
        self.stats.messages += len(messages)
        self.stats.counted += outcome.counted
        self.stats.duplicates += outcome.duplicates
        self.stats.dead_lettered += len(rejected)
        self.stats.batches += 1

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
        try:
            while not should_stop():
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
