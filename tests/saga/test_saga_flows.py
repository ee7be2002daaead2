"""The checkout saga end to end: real worker, real RabbitMQ, real PostgreSQL."""

import pytest

from apps.cart.models import Cart, CartReservation
from apps.order.models import Order
from apps.order.models import OutboxEvent as OrderOutbox
from apps.payment.models import Payment
from apps.product.models import Product, StockHold
from tests.factories import ProductFactory
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_out_of_stock_fails_the_order_releases_the_cart_and_leaves_stock_alone(start_worker):
    # given
    worker = start_worker()
    product = ProductFactory(stock=1)
    user, client = shopper((product.pk, 1))
    Product.objects.filter(pk=product.pk).update(stock=0)  # sold elsewhere after it was added
    # when
    order_id = checkout(client, "oos")
    [order] = wait_for_orders([order_id], workers=[worker])
    # then
    assert order.status == Order.Status.FAILED
    assert order.failure_reason == "out_of_stock"
    assert Product.objects.get(pk=product.pk).stock == 0
    assert CartReservation.objects.get(reservation_key=f"order-{order_id}").status == "RELEASED"
    cart = Cart.objects.get(user_id=user.pk)
    assert cart.reservation_key == ""
    assert cart.items.count() == 1  # the shopper keeps their cart
    history = client.get(f"/api/orders/{order_id}").json()["saga"]["history"]
    assert [(s["step"], s["status"]) for s in history] == [
        ("reserve_cart", "SUCCEEDED"),
        ("hold_stock", "FAILED"),
        ("refund_payment", "SUCCEEDED"),
        ("release_stock", "SUCCEEDED"),
        ("release_cart", "SUCCEEDED"),
    ]
    assert StockHold.objects.get(hold_key=f"order-{order_id}").status == "RELEASED"


def _charges(stripe, order_id: int) -> int:
    return stripe.stats()["charges_by_order"].get(str(order_id), 0)


def test_the_happy_path_completes_the_order(start_worker, local_stripe):
    # given
    worker = start_worker()
    product = ProductFactory(stock=5, price=1250)
    user, client = shopper((product.pk, 2))
    # when
    order_id = checkout(client, "happy")
    [order] = wait_for_orders([order_id], workers=[worker])
    # then
    assert (order.status, order.failure_reason, order.total) == ("COMPLETED", "", 2500)
    assert Product.objects.get(pk=product.pk).stock == 3
    assert StockHold.objects.get(hold_key=f"order-{order_id}").status == "CONFIRMED"
    cart = Cart.objects.get(user_id=user.pk)
    assert (cart.reservation_key, cart.items.count()) == ("", 0)
    payment = Payment.objects.get(order_id=order_id)
    assert (payment.status, payment.amount) == ("SUCCEEDED", 2500)
    assert _charges(local_stripe, order_id) == 1
    body = client.get(f"/api/orders/{order_id}").json()
    assert body["saga"]["step"] == "done"
    assert [s["step"] for s in body["saga"]["history"]] == [
        "reserve_cart",
        "hold_stock",
        "charge_payment",
        "commit",
    ]
    assert list(
        OrderOutbox.objects.filter(aggregate_id=str(order_id)).values_list("event_type", flat=True)
    ) == ["order.created", "order.completed"]


def test_a_declined_payment_fails_the_order_and_gives_the_stock_back(start_worker, local_stripe):
    # given
    worker = start_worker()
    product = ProductFactory(stock=5)
    user, client = shopper((product.pk, 2))
    # when
    order_id = checkout(client, "declined", "pm_card_chargeDeclined")
    [order] = wait_for_orders([order_id], workers=[worker])
    # then
    assert (order.status, order.failure_reason) == ("FAILED", "payment_declined")
    assert Product.objects.get(pk=product.pk).stock == 5
    assert StockHold.objects.get(hold_key=f"order-{order_id}").status == "RELEASED"
    assert Cart.objects.get(user_id=user.pk).reservation_key == ""
    assert Payment.objects.get(order_id=order_id).status == "DECLINED"
    assert _charges(local_stripe, order_id) == 0
    assert "saga.step_failed" in OrderOutbox.objects.filter(aggregate_id=str(order_id)).values_list(
        "event_type", flat=True
    )


def test_a_failure_after_the_charge_refunds_it(start_worker, local_stripe):
    # given: the commit step fails in this worker
    worker = start_worker(env={"ECOMMERCE_FAILPOINTS": "saga.commit=error"})
    product = ProductFactory(stock=5, price=999)
    _, client = shopper((product.pk, 1))
    refunds_before = local_stripe.stats()["refunds_created"]
    # when
    order_id = checkout(client, "refund-me")
    [order] = wait_for_orders([order_id], workers=[worker])
    # then
    assert (order.status, order.failure_reason) == ("FAILED", "commit_failed")
    payment = Payment.objects.get(order_id=order_id)
    assert (payment.status, payment.refunded_amount) == ("REFUNDED", 999)
    assert local_stripe.stats()["refunds_created"] == refunds_before + 1
    assert Product.objects.get(pk=product.pk).stock == 5


def test_the_same_idempotency_key_twice_is_one_order_and_one_charge(start_worker, local_stripe):
    # given
    worker = start_worker()
    product = ProductFactory(stock=5)
    _, client = shopper((product.pk, 1))
    # when
    first = checkout(client, "twice")
    second = checkout(client, "twice")
    [order] = wait_for_orders([first], workers=[worker])
    # then
    assert first == second
    assert order.status == "COMPLETED"
    assert Order.objects.count() == 1
    assert Payment.objects.filter(order_id=first).count() == 1
    assert _charges(local_stripe, first) == 1
    assert Product.objects.get(pk=product.pk).stock == 4


def test_a_charge_whose_answer_was_lost_is_settled_and_refunded(start_worker, local_stripe):
    # given: Stripe takes the charge but the answer never arrives, and the saga gives up at once
    worker = start_worker(env={"SAGA_STEP_MAX_ATTEMPTS": "1", "STRIPE_MAX_NETWORK_RETRIES": "0"})
    local_stripe.drop_next(1, after_executing=True, match="confirm")
    product = ProductFactory(stock=5, price=4200)
    _, client = shopper((product.pk, 1))
    refunds_before = local_stripe.stats()["refunds_created"]
    # when
    order_id = checkout(client, "lost-answer")
    [order] = wait_for_orders([order_id], workers=[worker])
    # then: the order failed, and the money Stripe did take went back
    assert (order.status, order.failure_reason) == ("FAILED", "payment_unavailable")
    assert _charges(local_stripe, order_id) == 1
    assert local_stripe.stats()["refunds_created"] == refunds_before + 1
    payment = Payment.objects.get(order_id=order_id)
    assert (payment.status, payment.refunded_amount) == ("REFUNDED", 4200)
    assert Product.objects.get(pk=product.pk).stock == 5


def test_a_charge_stripe_never_received_is_not_refunded_nor_charged(start_worker, local_stripe):
    # given: the confirmation never reaches Stripe, and the saga gives up at once
    worker = start_worker(env={"SAGA_STEP_MAX_ATTEMPTS": "1", "STRIPE_MAX_NETWORK_RETRIES": "0"})
    local_stripe.drop_next(1, after_executing=False, match="confirm")
    product = ProductFactory(stock=5)
    _, client = shopper((product.pk, 1))
    refunds_before = local_stripe.stats()["refunds_created"]
    # when
    order_id = checkout(client, "never-received")
    [order] = wait_for_orders([order_id], workers=[worker])
    # then
    assert (order.status, order.failure_reason) == ("FAILED", "payment_unavailable")
    assert _charges(local_stripe, order_id) == 0
    assert local_stripe.stats()["refunds_created"] == refunds_before
    assert Payment.objects.get(order_id=order_id).status != "SUCCEEDED"
    assert Product.objects.get(pk=product.pk).stock == 5
