"""The analytics consumer against a real broker: exact counts, dead letters, resuming."""

import json
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from django.conf import settings
from django.utils import timezone

from apps.analytics.consumer import AnalyticsConsumer
from apps.analytics.models import ProcessedEvent
from apps.order.models import OutboxEvent as OrderOutbox
from ecommerce.transports import kafka
from tests.analytics import shop
from tests.analytics.streams import consume_until, relay_all
from tests.fixtures.kafka import topic_messages

pytestmark = pytest.mark.django_db(databases="__all__")


def test_a_mixed_run_is_counted_exactly_even_when_the_relay_sends_twice(kafka_topics, local_stripe):
    # given: a mixed run, all published
    products = shop.catalogue()
    shop.mixed_run(shoppers=60, seed=1, products=products)
    total = shop.outbox_total()
    assert relay_all() == total
    # and a relay that crashed after the broker's ack but before marking sends a third again
    again = list(OrderOutbox.objects.using("order").values_list("pk", flat=True)[::3])
    OrderOutbox.objects.using("order").filter(pk__in=again).update(published_at=None)
    assert relay_all() == len(again)
    # when
    stats = consume_until(lambda s: s.messages >= total + len(again))
    # then
    assert (stats.counted, stats.duplicates) == (total, len(again))
    assert ProcessedEvent.objects.using("analytics").count() == total
    shop.assert_aggregates_match(shop.truth())


def _send(topic: str, *values: bytes) -> None:
    producer = Producer(kafka.producer_config())
    for value in values:
        producer.produce(topic, key=b"9", value=value)
    assert producer.flush(10) == 0


def _envelope(**overrides) -> bytes:
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": "order.failed",
        "aggregate_type": "order",
        "aggregate_id": "9",
        "occurred_at": timezone.now().isoformat(),
        "schema_version": 1,
        "payload": {"order_id": 9, "user_id": 1, "reason": "payment_declined"},
        "trace_context": {},
    }
    return json.dumps(envelope | overrides).encode()


def test_an_event_that_cannot_be_read_goes_to_the_dead_letter_topic(kafka_topics):
    # given: garbage, an event breaking the contract, and a good event behind them
    topic = kafka.service_topic("order")
    _send(topic, b"\x00not json", _envelope(payload={"order_id": 9}), _envelope())
    # when
    stats = consume_until(lambda s: s.messages >= 3)
    # then
    assert (stats.counted, stats.dead_lettered) == (1, 2)
    dead = topic_messages(kafka.dead_letter_topic())
    assert sorted(m.value() for m in dead)[0] == b"\x00not json"
    headers = [dict(m.headers()) for m in dead]
    assert {h["source_topic"] for h in headers} == {topic.encode()}
    assert any(b"lacks user_id, reason" in h["error"] for h in headers)
    # and the consumer went past them: its committed offsets are at the end of the topic
    reader = Consumer(kafka.consumer_config(settings.ANALYTICS_CONSUMER_GROUP))
    committed = reader.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    reader.close()
    assert sum(max(tp.offset, 0) for tp in committed) == 3


def test_the_consumer_resumes_from_its_committed_offsets(kafka_topics):
    # given: a consumer that counted what there was, then stopped
    topic = kafka.service_topic("order")
    _send(topic, *(_envelope() for _ in range(30)))
    first = consume_until(lambda s: s.messages >= 30)
    assert first.counted == 30
    # when: more arrives while it is away, and it comes back
    _send(topic, *(_envelope() for _ in range(20)))
    second = consume_until(lambda s: s.messages >= 20)
    # then: it read only what was new
    assert (second.messages, second.counted, second.duplicates) == (20, 20, 0)
    assert ProcessedEvent.objects.using("analytics").count() == 50


# Transactional: after a failed batch the consumer closes its connection and opens a new one,
# which a test transaction around it would not allow.
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_batch_that_fails_to_commit_is_read_again_and_counted_once(kafka_topics, monkeypatch):
    # given: events on the topic, and an analytics database whose commits fail for a while
    _send(kafka.service_topic("order"), *(_envelope() for _ in range(40)))
    monkeypatch.setenv("ECOMMERCE_FAILPOINTS", "analytics.before_commit=error")
    consumer = AnalyticsConsumer()
    rewinds = []
    rewind = consumer._rewind

    def counted_rewind(messages):
        rewinds.append(len(messages))
        rewind(messages)
        if len(rewinds) == 2:
            monkeypatch.delenv("ECOMMERCE_FAILPOINTS")  # the database is back

    consumer._rewind = counted_rewind
    deadline = time.monotonic() + 30
    # when
    stats = consumer.run(
        should_stop=lambda: consumer.stats.messages >= 40 or time.monotonic() > deadline
    )
    # then: nothing was lost and nothing counted twice
    assert len(rewinds) == 2
    assert (stats.messages, stats.counted, stats.duplicates) == (40, 40, 0)
    assert ProcessedEvent.objects.using("analytics").count() == 40
