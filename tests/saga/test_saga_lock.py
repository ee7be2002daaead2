"""One orchestrator at a time per saga, in either mode: PostgreSQL's advisory lock in services
mode, a file lock per order in embedded mode (apps/order/saga_lock.py). The admin's actions in
the web process take the same lock as the workers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from apps.order import checkout_saga
from apps.order.admin import CheckoutSagaAdmin
from apps.order.models import CheckoutSaga, SagaStep
from apps.product.models import Product
from ecommerce.contracts.order.commands import SagaReply
from tests.factories import ProductFactory, UserFactory
from tests.fixtures.broker import purge_queues
from tests.fixtures.worker import ROOT, process_env
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

HOLD = """
import sys, time, django
django.setup()
from apps.order.saga_lock import saga_lock
with saga_lock(int(sys.argv[1])) as acquired:
    print(acquired, flush=True)
    time.sleep(120)
"""


class _Messages:
    def __init__(self):
        self.texts: list[str] = []

    def add(self, level, message, extra_tags=""):
        self.texts.append(str(message))


def _admin_request():
    request = RequestFactory().post("/admin/order/checkoutsaga/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    request._messages = _Messages()
    return request


def _force_compensation(order_id: int) -> str:
    request = _admin_request()
    CheckoutSagaAdmin(CheckoutSaga, site).force_compensation(
        request, CheckoutSaga.objects.filter(order_id=order_id)
    )
    [text] = request._messages.texts
    return text


def test_a_saga_another_process_holds_is_busy_until_that_process_dies():
    # given: a running saga, and another process (a worker, say) holding its lock
    product = ProductFactory(stock=3)
    _, client = shopper((product.pk, 1))
    order_id = checkout(client, "held")
    purge_queues()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(order_id)],
        cwd=ROOT,
        env=process_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "True"
        # when: the saga is driven, replied to or force-compensated from here
        advanced = checkout_saga.saga_advance(order_id=order_id)
        replied = checkout_saga.saga_reply(
            SagaReply(order_id=order_id, step="reserve_cart", ok=True)
        )
        message = _force_compensation(order_id)
        # then: each one leaves it to the holder, and nothing changed
        assert isinstance(advanced, checkout_saga.Busy)
        assert isinstance(replied, checkout_saga.Busy)
        assert message == "0 saga(s) are being compensated."
        saga = CheckoutSaga.objects.get(order_id=order_id)
        assert (saga.state, saga.step) == ("RUNNING", "reserve_cart")
        assert not SagaStep.objects.filter(saga=saga).exists()
    finally:
        # when: the holder is killed, as the OOM killer would
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # then: its lock died with it
    assert _force_compensation(order_id) == "1 saga(s) are being compensated."
    assert CheckoutSaga.objects.get(order_id=order_id).state == "COMPENSATING"


def test_the_admin_cannot_compensate_a_saga_a_worker_is_driving(start_worker, local_stripe):
    # given: a worker inside the charge step, which Stripe answers slowly
    worker = start_worker()
    local_stripe.slow_next(4, match="confirm")
    product = ProductFactory(stock=5, price=1500)
    _, client = shopper((product.pk, 1))
    order_id = checkout(client, "driven")
    deadline = time.monotonic() + 30
    while not SagaStep.objects.filter(
        saga__order_id=order_id, name="charge_payment", status="STARTED"
    ).exists():
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.05)
    # when: an operator force-compensates it meanwhile
    message = _force_compensation(order_id)
    # then: refused while the worker drives it, and the saga ends as the worker leads it
    assert message == "0 saga(s) are being compensated."
    [order] = wait_for_orders([order_id], workers=[worker])
    assert (order.status, order.failure_reason) == ("COMPLETED", "")
    assert local_stripe.stats()["charges_by_order"].get(str(order_id), 0) == 1
    assert Product.objects.get(pk=product.pk).stock == 4
