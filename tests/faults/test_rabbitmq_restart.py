"""RabbitMQ restarted with checkouts in flight: every saga ends, nothing is charged twice.

The broker is a private node (tests/fixtures/private_services.py), never the shared one. The
work queues are durable and every command persistent, and a worker acknowledges a command only
once it is handled, so what was queued or being handled at the restart is delivered again; a
checkout placed while the broker is down keeps its order, and the sweep starts its saga.
"""

from __future__ import annotations

import os
import time

import pytest

from apps.order.models import Order
from apps.payment.models import Payment
from apps.product.models import Product
from ecommerce.celery import app
from tests.factories import ProductFactory
from tests.fixtures.private_services import PrivateRabbitMQ, celery_broker
from tests.fixtures.remote_phase import remote_phase
from tests.saga.conftest import clean_broker, start_worker, wait_for_orders  # noqa: F401
from tests.saga.flows import checkout, shopper

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(databases="__all__", transaction=True),
    pytest.mark.skipif(
        not PrivateRabbitMQ.available()
        or not str(app.conf.broker_url).startswith(("amqp", "pyamqp"))
        or remote_phase() is not None,
        reason="needs rabbitmq-server installed and services mode in phase 0",
    ),
]

PORT = int(os.environ.get("FAULTS_RABBITMQ_PORT", "25572"))
STOCK = 40
SHOPPERS = 24


@pytest.fixture
def rabbitmq(tmp_path):
    node = PrivateRabbitMQ(tmp_path / "rabbitmq", port=PORT, name=f"faults{PORT}")
    node.start()
    yield node
    node.stop()


def _checkouts(clients, prefix):
    return [checkout(client, f"{prefix}-{n}") for n, client in enumerate(clients)]


def test_sagas_survive_a_broker_restart(rabbitmq, start_worker, local_stripe):  # noqa: F811
    # given: two workers (one running the sweep) on the private broker; charges slowed so
    # sagas are mid-way when the broker goes
    product = ProductFactory(stock=STOCK, price=900)
    clients = [shopper((product.pk, 1))[1] for _ in range(SHOPPERS)]
    env = {
        "CELERY_BROKER_URL": rabbitmq.url,
        "SAGA_SWEEP_SECONDS": "1",
        "SAGA_STUCK_SECONDS": "3",
        "SAGA_RETRY_BACKOFF_MAX": "2",
        "COMMAND_RETRY_BACKOFF_MAX": "2",
        # The sweep runs every second here, not every 15 s: each re-drive of a saga waiting on
        # the cart counts an attempt, so the default 8 would give up on the cart after ~25 s of
        # the workers reconnecting, where production's cadence allows minutes.
        "SAGA_STEP_MAX_ATTEMPTS": "40",
    }
    local_stripe.slow_next(0.3, count=SHOPPERS, match="payment_intents")
    with celery_broker(rabbitmq.url):
        workers = [start_worker(env=env, beat=True), start_worker(env=env)]
        before = _checkouts(clients[: SHOPPERS // 2], "before")
        deadline = time.monotonic() + 30
        while not Order.objects.filter(pk__in=before, status="COMPLETED").exists():
            assert time.monotonic() < deadline, "no saga completed before the restart"
            time.sleep(0.05)
        # when: the broker restarts while sagas run; more checkouts arrive while it is down
        in_flight = Order.objects.filter(pk__in=before, status="PENDING").count()
        rabbitmq.stop()
        during = _checkouts(clients[SHOPPERS // 2 : SHOPPERS * 3 // 4], "during")
        rabbitmq.start()
        after = _checkouts(clients[SHOPPERS * 3 // 4 :], "after")
        orders = wait_for_orders(before + during + after, timeout=90, workers=workers)
    # then: every saga ended, each completed order charged once, stock and payments agree
    stats = local_stripe.stats()
    completed = [o for o in orders if o.status == "COMPLETED"]
    failed = [(o.pk, o.failure_reason) for o in orders if o.status == "FAILED"]
    assert in_flight > 0, "every saga had ended before the restart: nothing was in flight"
    assert len(completed) == SHOPPERS, failed
    for order in orders:
        assert stats["charges_by_order"].get(str(order.pk), 0) == 1, order.pk
    assert Product.objects.get(pk=product.pk).stock == STOCK - len(completed)
    succeeded = Payment.objects.filter(order_id__in=[o.pk for o in orders], status="SUCCEEDED")
    assert succeeded.count() == len(completed)
