"""The Stripe server stopped while checkouts are being charged, then started again.

The sagas that reach the charge while it is down wait (each retry recorded on the step) and
finish once it is back; nothing is charged twice (counted at the server, whose state survives
its restart as Stripe's would), and stock and payments agree with the orders that completed.
"""

import pytest

from apps.order.models import Order, SagaStep
from tests.factories import ProductFactory
from tests.faults.invariants import assert_consistent, wait_for
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]

SHOPPERS = 12
# Short backoffs and room for retries: the outage lasts seconds, not the production minutes.
PATIENT_WORKER = {"SAGA_RETRY_BACKOFF_MAX": "1", "SAGA_STEP_MAX_ATTEMPTS": "100"}


def charges(stripe) -> int:
    return sum(stripe.stats()["charges_by_order"].values())


def test_sagas_wait_for_a_stopped_stripe_and_finish_once_it_is_back(start_worker, local_stripe):
    # given: shoppers checking out (one in four with a declined card), each charge held for a
    # moment at the server so that some are in flight when it stops
    products = [ProductFactory(stock=40, price=900), ProductFactory(stock=40, price=1300)]
    stock = {p.pk: p.stock for p in products}
    before = local_stripe.stats()["charges_by_order"]
    charged_before = charges(local_stripe)
    local_stripe.slow_next(0.4, count=1000, match="POST /v1/payment_intents")
    orders = []
    for number in range(SHOPPERS):
        _, client = shopper((products[number % 2].pk, 1 + number % 3))
        card = "pm_card_chargeDeclined" if number % 4 == 3 else "pm_card_visa"
        orders.append(checkout(client, f"stripe-restart-{number}", card))
    worker = start_worker(env=PATIENT_WORKER)
    # when: the server stops after the first charges, with the rest of the sagas under way
    wait_for(lambda: charges(local_stripe) >= charged_before + 2, timeout=30, what="two charges")
    local_stripe.stop()
    waiting = SagaStep.objects.filter(
        saga__order_id__in=orders, name="charge_payment", attempts__gte=2
    )
    wait_for(lambda: waiting.count() >= 3, timeout=30, what="charges retried against no server")
    assert Order.objects.filter(pk__in=orders, status="PENDING").count() >= 3
    local_stripe.start()
    # then: every saga ends, and the outage shows nowhere but in the attempts
    finished = wait_for_orders(orders, timeout=60, workers=[worker])
    assert_consistent(finished, charges_before=before, stripe=local_stripe, stock=stock)
    outcomes = {o.pk: (o.status, o.failure_reason) for o in finished}
    for number, order in enumerate(finished):
        if number % 4 == 3:
            assert outcomes[order.pk] == ("FAILED", "payment_declined")
        else:
            assert outcomes[order.pk] == ("COMPLETED", ""), outcomes[order.pk]
