"""The checkout saga end to end: real worker, real RabbitMQ, real PostgreSQL."""

import pytest

from apps.cart.models import Cart, CartReservation
from apps.order.models import Order
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
