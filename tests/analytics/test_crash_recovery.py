"""Relay and consumer processes killed mid-stream (SIGKILL) and restarted: no loss, no double count."""

import signal
import time

import pytest
from confluent_kafka import Consumer, TopicPartition
from django.conf import settings

from ecommerce.transports import kafka
from tests.analytics import shop
from tests.analytics.streams import processed, published
from tests.fixtures.kafka import manage, topic_messages
from tests.fixtures.processes import stop

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, databases="__all__")]


def wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def committed_offsets(topic: str) -> int:
    reader = Consumer(kafka.consumer_config(settings.ANALYTICS_CONSUMER_GROUP))
    try:
        partitions = [TopicPartition(topic, p) for p in range(settings.KAFKA_TOPIC_PARTITIONS)]
        return sum(max(tp.offset, 0) for tp in reader.committed(partitions, timeout=10))
    finally:
        reader.close()


def test_killed_relay_and_consumer_lose_nothing_and_count_nothing_twice(
    kafka_topics, tmp_path, local_stripe
):
    # given: every relay and the consumer as their own processes; the order relay dies (SIGKILL)
    # after the broker acknowledged its first batch and before marking it, the consumer after
    # counting its first batch and before committing the offsets
    products = shop.catalogue()
    log = tmp_path / "processes.log"
    batch = ("--batch-size", "20")
    relays = {s: manage("relay_outbox", s, *batch, log=log) for s in kafka.SERVICES if s != "order"}
    relays["order"] = manage(
        "relay_outbox", "order", *batch, log=log, ECOMMERCE_FAILPOINTS="relay.acknowledged=kill"
    )
    consumer = manage(
        "consume_analytics",
        "--batch-size",
        "50",
        log=log,
        ECOMMERCE_FAILPOINTS="analytics.counted=kill",
    )
    restarted = None
    try:
        # when: shopping starts and both die mid-batch
        shop.mixed_run(shoppers=60, seed=7, products=products, first_user=1)
        assert relays["order"].wait(30) == -signal.SIGKILL
        assert consumer.wait(30) == -signal.SIGKILL
        # the relay's batch is on the broker but not marked; the consumer's counted, not committed
        assert published("order") == 0
        assert 0 < len(topic_messages(kafka.service_topic("order"))) <= 20  # one batch
        counted_before_crash = processed()
        assert counted_before_crash > 0
        assert sum(committed_offsets(kafka.service_topic(s)) for s in kafka.SERVICES) == 0
        # more shopping while both are down
        shop.mixed_run(shoppers=60, seed=8, products=products, first_user=5000)
        total = shop.outbox_total()
        # and both come back
        relays["order"] = manage("relay_outbox", "order", *batch, log=log)
        restarted = manage("consume_analytics", "--batch-size", "50", log=log)
        wait_for(
            lambda: sum(published(s) for s in kafka.SERVICES) == total,
            timeout=60,
            what="every outbox row to be published",
        )
        wait_for(lambda: processed() == total, timeout=60, what="every event to be counted")
    finally:
        for process in [*relays.values(), consumer, restarted]:
            if process is not None:
                stop(process)
    # then: the re-sent and re-read events were recognised, and the aggregates are exact
    final = [line for line in log.read_text().splitlines() if line.startswith("stopped ")][-1]
    duplicates = int(final.split("duplicates=")[1].split()[0])
    assert duplicates >= counted_before_crash
    assert processed() == total
    shop.assert_aggregates_match(shop.truth())
