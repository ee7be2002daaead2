"""The outbox relay: publishes in id order, keyed by aggregate, and marks only what was acked."""

import json

import pytest
from confluent_kafka import Producer
from django.db import transaction

from apps.order.models import OutboxEvent as OrderOutbox
from ecommerce.contracts.order.events import OrderFailed
from ecommerce.devservers import kafka_broker
from ecommerce.transports import kafka
from ecommerce.transports.outbox import emit
from ecommerce.transports.relay import OutboxRelay
from tests.fixtures.kafka import topic_messages

pytestmark = pytest.mark.django_db(databases="__all__")


def order_failed(order_id: int, reason: str = "payment_declined") -> OrderOutbox:
    with transaction.atomic(using="order"):
        return emit(
            OrderOutbox, OrderFailed(order_id=order_id, user_id=7, reason=reason), using="order"
        )


def test_relay_publishes_in_id_order_keyed_by_aggregate_and_marks_rows(kafka_topics):
    # given
    rows = [order_failed(order_id, reason=f"r{n}") for n in range(4) for order_id in (1, 2, 3)]
    # when
    result = OutboxRelay("order").run_once()
    # then
    assert result.confirmed == len(rows)
    messages = topic_messages(kafka.service_topic("order"))
    assert len(messages) == len(rows)
    for order_id in (1, 2, 3):
        mine = [m for m in messages if m.key() == str(order_id).encode()]
        assert len({m.partition() for m in mine}) == 1
        sent = [json.loads(m.value())["event_id"] for m in sorted(mine, key=lambda m: m.offset())]
        assert sent == [str(r.event_id) for r in rows if r.aggregate_id == str(order_id)]
    envelope = json.loads(messages[0].value())
    assert set(envelope) == {
        "event_id",
        "event_type",
        "aggregate_type",
        "aggregate_id",
        "occurred_at",
        "schema_version",
        "payload",
        "trace_context",
    }
    assert not OrderOutbox.objects.using("order").filter(published_at__isnull=True).exists()


def test_rows_stay_unpublished_when_the_broker_never_acknowledges(kafka_topics):
    # given: a producer whose broker is not there
    order_failed(1)
    nowhere = kafka.producer_config(
        **{"bootstrap.servers": f"127.0.0.1:{kafka_broker.free_port()}", "message.timeout.ms": 500}
    )
    relay = OutboxRelay("order", producer=Producer(nowhere))
    # when
    result = relay.run_once()
    # then
    assert result.confirmed == 0
    assert len(result.failed) == 1
    assert OrderOutbox.objects.using("order").filter(published_at__isnull=True).count() == 1
    # and a relay that reaches the broker sends it
    assert OutboxRelay("order").run_once().confirmed == 1


def test_topics_are_created_by_the_command_not_by_the_relay(kafka_bootstrap, settings):
    # given: a prefix whose topics nobody created
    settings.KAFKA_BOOTSTRAP_SERVERS = kafka_bootstrap
    settings.KAFKA_TOPIC_PREFIX = "never-created."
    # when / then
    with pytest.raises(kafka.TopicsMissing):
        kafka.topics_wait([kafka.service_topic("order")], timeout=0.5, poll=0.2)
    assert kafka.service_topic("order") not in kafka.admin().list_topics(timeout=5).topics
    # when the command runs, they exist with the configured partitions
    settings.KAFKA_TOPIC_PREFIX = "by-command."
    from django.core.management import call_command

    call_command("kafka_topics", "--partitions", "2")
    topics = kafka.admin().list_topics(timeout=5).topics
    assert all(len(topics[name].partitions) == 2 for name in kafka.all_topics())
