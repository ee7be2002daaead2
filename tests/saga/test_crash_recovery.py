"""Kill the worker (SIGKILL) right after each step is recorded; a new worker finishes every saga.

No order is lost, nothing is charged twice (counted at the Stripe-compatible server), and stock
equals the initial stock minus what completed orders bought.
"""

import pytest

from apps.cart.models import Cart
from apps.order.models import Order
from apps.payment.models import Payment
from apps.product.models import Product
from tests.factories import ProductFactory
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

AFTER_CHARGE_FAILS = "saga.commit=error"

CRASHES = [
    # (failpoint that kills the first worker, other failpoints of that worker, payment method)
    ("saga.recorded.reserve_cart", "", "pm_card_visa"),
    ("saga.recorded.hold_stock", "", "pm_card_visa"),
    ("saga.started.charge_payment", "", "pm_card_visa"),
    ("saga.recorded.charge_payment", "", "pm_card_visa"),
    ("saga.recorded.commit", "", "pm_card_visa"),
    ("saga.recorded.charge_payment", "", "pm_card_chargeDeclined"),
    ("saga.recorded.refund_payment", AFTER_CHARGE_FAILS, "pm_card_visa"),
    ("saga.recorded.release_stock", "", "pm_card_chargeDeclined"),
    ("saga.recorded.release_cart", "", "pm_card_chargeDeclined"),
]


@pytest.mark.parametrize(("crash", "also", "payment_method"), CRASHES)
def test_every_saga_ends_after_a_crash(start_worker, local_stripe, crash, also, payment_method):
    # given: three shoppers after the same product, and a worker that dies at `crash`
    product = ProductFactory(stock=10, price=700)
    quantities = [1, 2, 3]
    orders = []
    for number, quantity in enumerate(quantities):
        _, client = shopper((product.pk, quantity))
        orders.append(checkout(client, f"crash-{number}", payment_method))
    failpoints = ",".join(filter(None, [f"{crash}=killgroup", also]))
    doomed = start_worker(concurrency=1, env={"ECOMMERCE_FAILPOINTS": failpoints})
    # when
    assert doomed.wait_exit(timeout=60) == -9, doomed.log()
    survivor = start_worker(env={"ECOMMERCE_FAILPOINTS": also} if also else None)
    finished = wait_for_orders(orders, timeout=90, workers=[doomed, survivor])
    # then
    stats = local_stripe.stats()
    bought = sum(q for q, o in zip(quantities, finished, strict=True) if o.status == "COMPLETED")
    assert Product.objects.get(pk=product.pk).stock == 10 - bought
    for order in finished:
        charges = stats["charges_by_order"].get(str(order.pk), 0)
        payments = list(Payment.objects.filter(order_id=order.pk))
        assert len(payments) <= 1
        if payment_method == "pm_card_visa" and not also:
            assert order.status == "COMPLETED", order.failure_reason
            assert charges == 1
        elif also == AFTER_CHARGE_FAILS:
            assert (order.status, order.failure_reason) == ("FAILED", "commit_failed")
            assert charges == 1
            assert payments[0].status == "REFUNDED"
        else:
            assert (order.status, order.failure_reason) == ("FAILED", "payment_declined")
            assert charges == 0
    assert not Cart.objects.exclude(reservation_key="").exists()
    assert Order.objects.filter(status="PENDING").count() == 0
